"""「似たお客様がいます」: the look-up while a new karte is typed."""

from __future__ import annotations

import datetime

import pytest

from enishi.core.testing import make_company, make_customer
from enishi.customers.models import Customer
from enishi.quality.match import REASONS, SIMILAR_THRESHOLD
from enishi.quality.similar import HINT_THRESHOLD, similar_customers

pytestmark = pytest.mark.django_db


@pytest.fixture
def taro(alice):
    return make_customer(
        alice,
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        mobile="090-1234-5678",
        email="taro.yamada@example.jp",
        postal_code="156-0053",
        prefecture="東京都",
        city="世田谷区",
        town="桜",
        street="1-2-3",
        birthday=datetime.date(1980, 1, 2),
    )


def ids(found) -> list[int]:
    return [customer.pk for customer, _match in found]


def test_it_finds_a_karte_by_a_phone_typed_another_way(alice, taro):
    found = similar_customers(alice, {"name": "山田太郎", "mobile": "+81 90-1234-5678"})
    assert ids(found) == [taro.pk]
    customer, result = found[0]
    assert result.score >= SIMILAR_THRESHOLD
    assert "same_mobile" in result.reasons
    assert result.candidate == taro.pk
    assert all(str(REASONS[r]) for r in result.reasons)


def test_it_finds_a_karte_by_e_mail_whatever_the_case(alice, taro):
    found = similar_customers(alice, {"name": "山田 太郎", "email": "Taro.Yamada@Example.JP"})
    assert ids(found) == [taro.pk]
    assert "same_email" in found[0][1].reasons


def test_it_finds_a_karte_by_name_and_reading(alice, taro):
    found = similar_customers(alice, {"name": "髙田 一郎"})
    assert found == []
    found = similar_customers(
        alice, {"name": "山田　太郎", "name_kana": "やまだ たろう", "birthday": "昭和55年1月2日"}
    )
    assert ids(found) == [taro.pk]
    assert {"same_name", "same_kana", "same_birth_date"} <= set(found[0][1].reasons)


def test_a_household_member_is_not_offered(alice, taro):
    found = similar_customers(
        alice,
        {
            "name": "山田 花子",
            "name_kana": "ヤマダ ハナコ",
            "postal_code": "1560053",
            "prefecture": "東京都",
            "city": "世田谷区",
            "town": "桜",
            "street": "1丁目2番3号",
        },
    )
    assert found == []


def test_it_matches_company_kartes_in_any_legal_form(alice):
    company = make_company(
        alice, name="株式会社山田商事", name_kana="ヤマダショウジ", phone="03-1234-5678"
    )
    found = similar_customers(
        alice, {"kind": "company", "name": "(株)山田商事", "phone": "０３－１２３４－５６７８"}
    )
    assert ids(found) == [company.pk]
    assert "company_variant" in found[0][1].reasons
    # A person with the same phone is not a company.
    assert similar_customers(alice, {"name": "山田商事", "phone": "03-1234-5678"}) == []


def test_a_name_alone_is_enough_unless_something_speaks_against_it(alice, taro):
    assert ids(similar_customers(alice, {"name": "山田 太郎"})) == [taro.pk]
    born_elsewhen = {"name": "山田 太郎", "birthday": datetime.date(1990, 5, 5)}
    assert similar_customers(alice, born_elsewhen) == []
    assert similar_customers(alice, {"name": "山田 次郎"}) == []


def test_it_reads_the_persons_company_by_pk_or_instance(alice):
    company = make_company(alice, name="株式会社山田商事")
    sato = make_customer(alice, name="佐藤 一郎", company=company, email="sato@yamada.jp")
    for value in (company, company.pk, str(company.pk)):
        found = similar_customers(
            alice, {"name": "佐藤一郎", "company": value, "email": "SATO@yamada.jp"}
        )
        assert ids(found) == [sato.pk]
        assert "same_company" in found[0][1].reasons


def test_it_shows_only_what_the_user_may_see(alice, bob, taro):
    assert similar_customers(bob, {"name": "山田太郎", "mobile": "090-1234-5678"}) == []
    mine = make_customer(bob, name="山田 太郎", mobile="090-1234-5678")
    assert ids(similar_customers(bob, {"name": "山田太郎", "mobile": "09012345678"})) == [mine.pk]


def test_the_karte_being_edited_and_the_trash_are_left_out(alice, taro):
    data = {"name": "山田太郎", "mobile": "090-1234-5678"}
    assert similar_customers(alice, data, exclude_id=taro.pk) == []
    Customer.objects.filter(pk=taro.pk).update(deleted_at=datetime.datetime.now(tz=datetime.UTC))
    assert similar_customers(alice, data) == []


def test_it_returns_the_best_first_up_to_the_limit(alice, taro):
    twins = [
        make_customer(alice, name="山田 太郎", name_kana="ヤマダ タロウ", email=f"t{i}@example.jp")
        for i in range(4)
    ]
    found = similar_customers(
        alice, {"name": "山田太郎", "name_kana": "ヤマダタロウ", "mobile": "090-1234-5678"}, limit=3
    )
    assert len(found) == 3
    assert found[0][0].pk == taro.pk
    scores = [result.score for _c, result in found]
    assert scores == sorted(scores, reverse=True)
    assert {c.pk for c, _r in found[1:]} <= {t.pk for t in twins}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"name": ""},
        {"phone": "not a phone", "email": "not an e-mail"},
        {"corporate_number": "123", "kind": "company"},
        {"name": "山田太郎", "birthday": "いつか", "postal_code": "郵便"},
        {"name": "山田太郎", "company": "999999"},
        {"name": "山田太郎", "company": "9" * 30},
        {"name": "山田\x00太郎", "email": "taro\x00@example.jp", "kind": "robot"},
    ],
)
def test_bad_or_empty_input_never_fails(alice, taro, data):
    found = similar_customers(alice, data)
    # Only the name can still be compared: it finds 山田 太郎, nothing else.
    named = "山田太郎" in str(data.get("name")).replace("\x00", "")  # NUL is dropped
    assert ids(found) == ([taro.pk] if named else [])
    assert all(result.score >= HINT_THRESHOLD for _c, result in found)


def test_it_takes_a_handful_of_queries_however_many_candidates(
    alice, taro, django_assert_max_num_queries
):
    company = make_company(alice, name="株式会社山田商事")
    for i in range(30):
        make_customer(alice, name="山田 太郎", company=company, email=f"t{i}@example.jp")
    data = {
        "name": "山田太郎",
        "name_kana": "ヤマダタロウ",
        "mobile": "090-1234-5678",
        "email": "taro.yamada@example.jp",
        "company": company.pk,
    }
    with django_assert_max_num_queries(4):
        found = similar_customers(alice, data)
    assert found[0][0].pk == taro.pk


def test_it_finds_a_karte_by_its_second_e_mail(alice, taro):
    from enishi.customers.services import customer_update

    taro = customer_update(
        actor=alice, customer=taro, data={"email_alt": "taro@home.example.jp"}, version=1
    )
    assert taro.email_alt_key == "taro@home.example.jp"
    # The name typed in kana (no name key in common with 山田 太郎): only the address links.
    found = similar_customers(alice, {"name": "やまだ たろう", "email": "Taro@Home.Example.JP"})
    assert ids(found) == [taro.pk]
    assert "same_email" in found[0][1].reasons


def test_kartes_without_a_second_e_mail_keep_no_key(alice, taro):
    assert Customer.objects.get(pk=taro.pk).email_alt_key is None
    assert not Customer.objects.filter(email_alt_key="").exists()


def test_the_migration_fills_the_key_of_second_e_mails_already_stored(alice, taro):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("enishi.customers.migrations.0006_email_alt_key")
    Customer.objects.filter(pk=taro.pk).update(email_alt="ＴＡＲＯ@home.example.jp")
    migration.fill_email_alt_keys(apps, None)
    assert Customer.objects.get(pk=taro.pk).email_alt_key == "taro@home.example.jp"


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("サトー タロー", "さとう たろう"),
        ("サトウ タロウ", "ｻﾄｰ ﾀﾛｰ"),
        ("オーノ ユーコ", "おおの ゆうこ"),
        ("オオノ ユウコ", "オーノ ユーコ"),
    ],
)
def test_a_reading_with_its_long_vowels_written_another_way_finds_the_karte(alice, stored, typed):
    karte = make_customer(alice, name="佐藤 太郎", name_kana=stored)
    # The reading alone, typed before the name: the look-up goes through the reading key.
    found = similar_customers(alice, {"name_kana": typed})
    assert ids(found) == [karte.pk]
    assert "same_kana" in found[0][1].reasons
    # With another writing of the name, the reading says it is one name.
    found = similar_customers(alice, {"name": "佐藤 太朗", "name_kana": typed})
    assert ids(found) == [karte.pk]
    assert {"same_kana", "name_variant"} <= set(found[0][1].reasons)


def test_a_different_reading_is_not_found_by_its_long_vowels(alice):
    make_customer(alice, name="佐藤 太郎", name_kana="サトウ タロウ")
    assert similar_customers(alice, {"name_kana": "サイトウ タロウ"}) == []


def test_the_migration_fills_the_reading_key_of_kartes_already_stored(alice, taro):
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("enishi.customers.migrations.0007_reading_key")
    nameless = make_customer(alice, name="名無 権兵衛")
    Customer.objects.filter(pk=taro.pk).update(name_kana="ヤマダ タロー", reading_key=None)
    migration.fill_reading_keys(apps, connection.schema_editor())
    assert Customer.objects.get(pk=taro.pk).reading_key == "ヤマダタロ"
    assert Customer.objects.get(pk=nameless.pk).reading_key is None
    assert ids(similar_customers(alice, {"name_kana": "やまだ たろう"})) == [taro.pk]


class TestWhileTyping:
    """The hint works on a form half filled in: a name still being typed is not held against
    a karte, a reading or the customer's own contact is enough to show it."""

    @pytest.fixture
    def souma(self, alice):
        return make_customer(
            alice, name="髙橋 蒼真", name_kana="タカハシ ソウマ", mobile="090-4321-8765",
            email="souma.t@example.jp",
        )  # fmt: skip

    @pytest.mark.parametrize(
        "data",
        [
            {"mobile": "090-4321-8765"},
            {"family_name": "高橋", "mobile": "090-4321-8765"},
            {"family_name": "髙橋", "mobile": "09043218765"},
            {"family_name": "高橋", "email": "Souma.T@example.jp"},
            {"name_kana": "タカハシ ソウマ"},
            {"name_kana": "ﾀｶﾊｼ ｿｳﾏ"},
        ],
    )
    def test_a_person_half_typed(self, alice, souma, data):
        assert ids(similar_customers(alice, data)) == [souma.pk]

    def test_someone_else_with_the_same_mobile_is_shown_with_both_reasons(self, alice, souma):
        [(_customer, found)] = similar_customers(
            alice, {"name": "新規 太郎", "mobile": "090-4321-8765"}
        )
        assert {"different_name", "same_mobile"} <= set(found.reasons)
        assert found.score >= HINT_THRESHOLD

    def test_a_family_name_alone_shows_nobody(self, alice, souma):
        assert similar_customers(alice, {"family_name": "高橋"}) == []

    @pytest.mark.parametrize(
        "data",
        [
            {"kind": "company", "phone": "03-3271-4501"},
            {"kind": "company", "name": "山田", "phone": "03-3271-4501"},
            {"kind": "company", "name": "ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ"},
            {"kind": "company", "name": "ｶﾌﾞｼｷｶﾞｲｼｬ ﾔﾏﾀﾞｼｮｳｼﾞ"},
            {"kind": "company", "name": "ﾔﾏﾀﾞｼｮｳｼﾞ"},
        ],
    )
    def test_a_company_half_typed_or_in_bank_kana(self, alice, data):
        company = make_company(
            alice, name="株式会社山田商事", name_kana="ヤマダショウジ", phone="03-3271-4501"
        )
        assert ids(similar_customers(alice, data)) == [company.pk]

    def test_colleagues_sharing_the_office_line_are_not_offered(self, alice):
        make_customer(alice, name="佐藤 一郎", phone="03-3271-4501")
        assert similar_customers(alice, {"name": "鈴木 花子", "phone": "03-3271-4501"}) == []
