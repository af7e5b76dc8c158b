import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from enishi.core import testing
from enishi.customers import services
from enishi.customers.models import Customer, FieldDefinition
from enishi.history.models import HistoryEntry

pytestmark = pytest.mark.django_db


def test_it_creates_a_company_with_normalised_keys_beside_what_was_typed(alice):
    company = testing.make_company(
        alice, name="（株）山田商事", name_kana="やまだしょうじ", phone="０３－３５８１－０１０１"
    )
    assert company.name == "（株）山田商事"
    assert company.legal_form == "株式会社"
    assert company.legal_form_position == "before"
    assert company.name_key == "山田商事"
    assert company.name_kana == "ヤマダショウジ"
    assert company.phone == "０３－３５８１－０１０１"
    assert company.phone_e164 == "+81335810101"
    assert company.owner == alice and company.created_by == alice


def test_it_stores_half_width_kana_as_full_width_katakana(alice):
    person = testing.make_customer(alice, name="山田 太郎", name_kana="ﾔﾏﾀﾞ ﾀﾛｳ")
    assert person.name_kana == "ヤマダ タロウ"
    assert person.kana_key == "ヤマダタロウ"
    assert person.reading_key == "ヤマダタロ"


def test_it_keeps_a_reading_key_only_for_kartes_with_a_reading(alice):
    person = testing.make_customer(alice, name="佐藤 花子")
    assert person.kana_key == "" and person.reading_key is None
    person = services.customer_update(
        actor=alice, customer=person, data={"name_kana": "さとう はなこ"}, version=1
    )
    assert Customer.objects.get(pk=person.pk).reading_key == "サトハナコ"
    person = services.customer_update(
        actor=alice, customer=person, data={"name_kana": ""}, version=2
    )
    assert Customer.objects.get(pk=person.pk).reading_key is None


def test_the_list_sorted_by_reading_keeps_the_dictionary_order(alice):
    from enishi.customers.selectors import CustomerFilters, customer_list

    # Long vowels written with a kana count as letters: 清子 before 関, 河野 before 小中.
    for name, kana in [
        ("関 一郎", "セキ イチロウ"), ("清子", "セイコ"), ("小中 一", "コナカ ハジメ"),
        ("河野 一", "コウノ ハジメ"), ("佐藤 聡", "サトウ サトシ"), ("里見 涼", "サトミ リョウ"),
    ]:  # fmt: skip
        testing.make_customer(alice, name=name, name_kana=kana)
    names = [c.name for c in customer_list(alice, CustomerFilters(sort="kana"))]
    assert names == ["河野 一", "小中 一", "佐藤 聡", "里見 涼", "清子", "関 一郎"]
    reverse = [c.name for c in customer_list(alice, CustomerFilters(sort="-kana"))]
    assert reverse == names[::-1]


def test_it_builds_a_persons_name_family_name_first(alice):
    person = testing.make_customer(alice, name="", family_name="佐藤", given_name="花子")
    assert person.name == "佐藤 花子"


def test_family_and_given_names_too_long_together_are_refused_not_stored(alice):
    with pytest.raises(ValidationError) as caught:
        testing.make_customer(alice, name="", family_name="長" * 100, given_name="名" * 100)
    assert "201" in caught.value.message_dict["given_name"][0]
    assert not Customer.objects.exists()
    person = testing.make_customer(alice, name="", family_name="長" * 100, given_name="名" * 99)
    assert len(person.name) == 200


def test_it_fills_the_address_from_the_postal_code(alice):
    person = testing.make_customer(alice, postal_code="〒1000001")
    assert person.postal_code == "100-0001"
    assert (person.prefecture, person.city, person.town) == ("東京都", "千代田区", "千代田")


def test_it_keeps_an_address_the_user_typed_over_the_postal_lookup(alice):
    person = testing.make_customer(
        alice, postal_code="100-0001", prefecture="東京都", city="千代田区", town="丸の内"
    )
    assert person.town == "丸の内"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "1234-5678"),
        ("phone", "電話なし"),
        ("mobile", "090-1234"),
        ("email", "taro@@example"),
        ("postal_code", "123-456"),
        ("corporate_number", "1234567890123"),
        ("name_kana", "山田"),
    ],
)
def test_it_refuses_bad_input_with_a_message_on_the_field_and_saves_nothing(alice, field, value):
    with pytest.raises(ValidationError) as exc:
        testing.make_customer(alice, **{field: value})
    assert field in exc.value.message_dict
    assert all(message.strip() for message in exc.value.message_dict[field])
    assert Customer.objects.count() == 0
    assert HistoryEntry.objects.count() == 0


def test_it_refuses_text_beyond_the_field_length(alice):
    with pytest.raises(ValidationError) as exc:
        testing.make_customer(alice, name="あ" * 201)
    assert "name" in exc.value.message_dict


def test_it_refuses_nul_bytes(alice):
    with pytest.raises(ValidationError) as exc:
        testing.make_customer(alice, notes="a\x00b")
    assert "notes" in exc.value.message_dict


def test_it_requires_a_name(alice):
    with pytest.raises(ValidationError) as exc:
        testing.make_customer(alice, name="   ")
    assert "name" in exc.value.message_dict


def test_it_refuses_a_duplicate_customer_code(alice):
    testing.make_customer(alice, code="C-1")
    with pytest.raises(ValidationError) as exc:
        testing.make_customer(alice, code="C-1")
    assert "code" in exc.value.message_dict


def test_it_records_who_changed_what_from_what_to_what(alice, bob):
    person = testing.make_customer(alice, name="山田 太郎", phone="03-1234-5678")
    services.customer_update(
        actor=bob,
        customer=person,
        data={"phone": "03-9999-0000", "status": "customer"},
        version=person.version,
    )
    entry = HistoryEntry.objects.filter(action=HistoryEntry.Action.UPDATE).get()
    assert entry.actor == bob
    assert entry.customer_id == person.pk
    assert entry.changes["phone"] == ["03-1234-5678", "03-9999-0000"]
    assert entry.changes["status"] == ["lead", "customer"]
    assert "name" not in entry.changes
    created = HistoryEntry.objects.get(action=HistoryEntry.Action.CREATE)
    assert created.actor == alice and created.changes["name"] == [None, "山田 太郎"]


def test_it_refuses_a_stale_version_and_keeps_the_newer_save(alice, bob):
    person = testing.make_customer(alice, name="山田 太郎")
    read_by_alice = Customer.objects.get(pk=person.pk)
    read_by_bob = Customer.objects.get(pk=person.pk)
    services.customer_update(
        actor=bob, customer=read_by_bob, data={"notes": "Bob"}, version=read_by_bob.version
    )
    with pytest.raises(services.StaleVersionError) as exc:
        services.customer_update(
            actor=alice,
            customer=read_by_alice,
            data={"notes": "Alice"},
            version=read_by_alice.version,
        )
    assert exc.value.current.notes == "Bob"
    assert Customer.objects.get(pk=person.pk).notes == "Bob"


def test_it_changes_nothing_and_records_nothing_when_nothing_changed(alice):
    person = testing.make_customer(alice, name="山田 太郎")
    services.customer_update(
        actor=alice, customer=person, data={"name": "山田 太郎"}, version=person.version
    )
    person.refresh_from_db()
    assert person.version == 1
    assert HistoryEntry.objects.filter(action="update").count() == 0


def test_it_refuses_a_company_as_its_own_ancestor(alice):
    parent = testing.make_company(alice, name="親会社株式会社")
    child = testing.make_company(alice, name="子会社株式会社", parent=parent)
    with pytest.raises(ValidationError) as exc:
        services.customer_update(
            actor=alice, customer=parent, data={"parent": child}, version=parent.version
        )
    assert "parent" in exc.value.message_dict


def test_it_lets_only_persons_belong_to_a_company(alice):
    company = testing.make_company(alice, name="株式会社A")
    with pytest.raises(ValidationError) as exc:
        testing.make_company(alice, name="株式会社B", company=company)
    assert "company" in exc.value.message_dict


class TestCustomFields:
    @pytest.fixture
    def definitions(self, db):
        FieldDefinition.objects.create(
            key="budget", label_ja="予算", type="money", applies_to="company"
        )
        FieldDefinition.objects.create(
            key="since", label_ja="取引開始日", type="date", required=True, applies_to="company"
        )
        FieldDefinition.objects.create(
            key="plan", label_ja="プラン", type="choice", choices=["松", "竹", "梅"]
        )
        FieldDefinition.objects.create(
            key="equip", label_ja="機器", type="multi_choice", choices=["A", "B", "C"]
        )

    def test_it_stores_values_in_their_canonical_form(self, alice, definitions):
        company = testing.make_company(
            alice,
            name="株式会社C",
            custom_fields={
                "budget": "¥1,200,000",
                "since": "令和5年4月1日",
                "plan": "竹",
                "equip": ["C", "A"],
            },
        )
        assert company.custom_fields == {
            "budget": 1200000,
            "since": "2023-04-01",
            "plan": "竹",
            "equip": ["A", "C"],
        }

    @pytest.mark.parametrize("typed", ["4〜6月", "4～6月", "4~6月", "４～６月", " 4 〜 6月 "])
    def test_a_choice_written_with_another_wave_dash_is_that_choice(self, alice, typed):
        from enishi.customers.fields import clean_value

        period = FieldDefinition.objects.create(
            key="period", label_ja="予算時期", type="choice", choices=["1〜3月", "4〜6月"]
        )
        periods = FieldDefinition.objects.create(
            key="periods", label_ja="時期", type="multi_choice", choices=["1〜3月", "4〜6月"]
        )
        assert clean_value(period, typed) == "4〜6月"
        assert clean_value(periods, [typed, "1~3月"]) == ["1〜3月", "4〜6月"]
        with pytest.raises(ValidationError):
            clean_value(period, "7〜9月")

    def test_it_requires_required_fields_only_for_their_kind(self, alice, definitions):
        with pytest.raises(ValidationError) as exc:
            testing.make_company(alice, name="株式会社D", custom_fields={})
        assert "cf_since" in exc.value.message_dict
        person = testing.make_customer(alice, custom_fields={})
        assert person.custom_fields == {}

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("budget", "たくさん"),
            ("budget", "12.5"),
            ("since", "2023-02-30"),
            ("plan", "桜"),
            ("equip", ["Z"]),
        ],
    )
    def test_it_refuses_invalid_values(self, alice, definitions, key, value):
        with pytest.raises(ValidationError) as exc:
            testing.make_company(
                alice, name="株式会社E", custom_fields={"since": "2024-01-01", key: value}
            )
        assert f"cf_{key}" in exc.value.message_dict

    def test_it_refuses_unknown_keys(self, alice, definitions):
        with pytest.raises(ValidationError) as exc:
            testing.make_customer(alice, custom_fields={"nope": "x"})
        assert "cf_nope" in exc.value.message_dict

    def test_it_installs_a_preset_once(self, db):
        from enishi.customers.fields import field_definitions_install_preset

        first = field_definitions_install_preset(preset_key="b2b_sales")
        again = field_definitions_install_preset(preset_key="b2b_sales")
        assert len(first) >= 5 and again == []
        assert FieldDefinition.objects.filter(key="decision_process", applies_to="company").exists()


def test_e_mail_keys_fit_their_column_even_when_nfkc_lengthens_the_address():
    # Values loaded in bulk or from old data are not validated: "ﬀ" (one character) folds to
    # "ff", so a stored address of 254 characters can give a longer key.
    customer = Customer(kind="person", name="長い 住所", email="ﬀ" * 254, email_alt="ﬀ" * 254)
    services.apply_derived_fields(customer)
    assert customer.email_key == customer.email_alt_key == "f" * 254


@pytest.mark.parametrize("control", ["\u202e", "\u202b", "\u2067", "\u2069"])
def test_a_name_disguised_by_direction_controls_is_refused_with_a_reason(alice, control):
    with pytest.raises(ValidationError) as caught:
        services.customer_clean({"name": f"{control}evil{chr(0x202C)} Name"}, kind="person")
    assert "Remove them" in str(caught.value.message_dict["name"]) or "取り除いて" in str(
        caught.value.message_dict["name"]
    )
    assert not Customer.objects.exists()


@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"])
def test_a_line_break_in_a_one_line_field_is_refused_with_a_reason(alice, brk):
    street = f"1-2-3{brk}END:VCARD{brk}BEGIN:VCARD{brk}FN:injected"
    with pytest.raises(ValidationError) as caught:
        services.customer_clean(
            {"name": "山田 太郎", "street": street, "title": f"課長{brk}END:VCARD"}, kind="person"
        )
    errors = caught.value.message_dict
    assert set(errors) == {"street", "title"}
    assert "改行は入れられません" in errors["street"][0]
    with translation.override("en"):
        assert "Line breaks cannot be entered" in caught.value.message_dict["title"][0]
    # Long texts keep their lines; a break at either end of a one-line value is only trimmed.
    cleaned = services.customer_clean(
        {"name": "山田 太郎\n", "title": "課長\r\n", "notes": f"一行目{brk}二行目"},
        kind="person",
    )
    assert (cleaned["name"], cleaned["title"]) == ("山田 太郎", "課長")
    assert cleaned["notes"] == f"一行目{brk}二行目"


def test_an_imports_line_breaks_in_one_line_fields_are_joined_with_a_space():
    data = {"street": "丸の内1-1\r\n  2F", "title": "課長", "notes": "一行目\n二行目"}
    assert services.fold_line_breaks(data) == ["street"]
    assert data == {"street": "丸の内1-1 2F", "title": "課長", "notes": "一行目\n二行目"}


def test_right_to_left_names_and_notes_are_kept_as_typed(alice):
    person = testing.make_customer(
        alice, name="דוד כהן", notes="a note quoting \u202eRTL text\u202c, as pasted"
    )
    assert person.name == "דוד כהן"
    assert "\u202e" in person.notes  # long text is shown as text, never in a title or file name
