import pytest
from django.db import connection, transaction
from django.utils import timezone

from enishi.core import testing
from enishi.customers import services
from enishi.customers.models import Customer
from enishi.customers.selectors import search_customers

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice):
    company = testing.make_company(
        alice, name="株式会社山田商事", name_kana="ヤマダショウジ", phone="03-3581-0101"
    )
    taro = testing.make_customer(
        alice,
        name="山田 太郎",
        name_kana="やまだ たろう",
        mobile="090-1234-5678",
        email="Taro.Yamada@Example.co.jp",
        company=company,
        postal_code="100-0001",
        street="1-2-3",
        code="C-000123",
    )
    hanako = testing.make_customer(
        alice, name="髙橋 花子", name_kana="タカハシ ハナコ", phone="06-6123-4567"
    )
    other = testing.make_customer(alice, name="佐藤 一郎", name_kana="サトウ イチロウ")
    return {"company": company, "taro": taro, "hanako": hanako, "other": other}


def names(user, query):
    return [c.name for c in search_customers(user, query).customers]


@pytest.mark.parametrize("query", ["やまだ", "ヤマダ", "ﾔﾏﾀﾞ", "やまだたろう", "ヤマダ　タロウ"])
def test_it_finds_by_reading_in_any_kana(alice, people, query):
    assert "山田 太郎" in names(alice, query)


@pytest.mark.parametrize(
    "query",
    [
        "090-1234-5678",
        "09012345678",
        "+81 90-1234-5678",
        "０９０１２３４５６７８",
        "1234-5678",
        "5678",
    ],
)
def test_it_finds_by_phone_in_any_format(alice, people, query):
    assert "山田 太郎" in names(alice, query)


def test_it_finds_two_character_queries(alice, people):
    assert set(names(alice, "山田")) >= {"山田 太郎", "株式会社山田商事"}
    assert "佐藤 一郎" in names(alice, "佐藤")


def test_it_finds_single_characters_through_the_index(alice, people):
    assert "佐藤 一郎" in names(alice, "佐")
    assert search_customers(alice, "佐").method == "bigram"
    assert search_customers(alice, "-").method == "none"  # marks alone: see below


def test_it_finds_variant_kanji_by_the_common_form(alice, people):
    assert "髙橋 花子" in names(alice, "高橋")
    assert "髙橋 花子" in names(alice, "髙橋")


def test_it_finds_people_by_their_company_and_companies_without_legal_form(alice, people):
    assert "山田 太郎" in names(alice, "山田商事")
    assert "株式会社山田商事" in names(alice, "(株)山田商事"[3:])


def test_it_finds_by_email_address_code_and_postal_code(alice, people):
    assert "山田 太郎" in names(alice, "taro.yamada@")
    assert "山田 太郎" in names(alice, "千代田区千代田")
    assert "山田 太郎" in names(alice, "C-000123")
    assert "山田 太郎" in names(alice, "100-0001")


def test_it_ranks_name_prefix_matches_first(alice, people):
    testing.make_customer(alice, name="小山田 次郎", name_kana="オヤマダ ジロウ")
    found = names(alice, "山田")
    assert found.index("山田 太郎") < found.index("小山田 次郎")


def test_it_keeps_the_index_in_sync_on_update_and_company_rename(alice, people):
    taro = people["taro"]
    services.customer_update(
        actor=alice,
        customer=taro,
        data={"name": "鈴木 太郎", "name_kana": "スズキ タロウ"},
        version=taro.version,
    )
    assert "鈴木 太郎" in names(alice, "すずき")
    assert "鈴木 太郎" not in names(alice, "やまだたろう")
    company = people["company"]
    services.customer_update(
        actor=alice, customer=company, data={"name": "株式会社縁テック"}, version=company.version
    )
    assert "鈴木 太郎" in names(alice, "縁テック")


def test_it_hides_customers_in_the_trash(alice, people):
    Customer.objects.filter(pk=people["other"].pk).update(deleted_at=timezone.now())
    assert "佐藤 一郎" not in names(alice, "佐藤")


@pytest.mark.parametrize(
    "query", ['"', "%", "_", "\\", "' OR 1=1 --", "*", "NEAR(", 'a"b', "   ", "ー", "-"]
)
def test_it_survives_queries_with_special_characters(alice, people, query):
    search_customers(alice, query)


def test_it_caps_the_count(alice, settings):
    settings.ENISHI_COUNT_CAP = 3
    for i in range(5):
        testing.make_customer(alice, name=f"田中 {i}号")
    result = search_customers(alice, "田中")
    assert result.capped and result.count == 3


def test_it_shows_nothing_to_an_anonymous_user(people):
    from django.contrib.auth.models import AnonymousUser

    assert search_customers(AnonymousUser(), "山田").customers == []


def test_reindex_rebuilds_stale_documents_and_the_index(alice, people):
    import io

    from django.core.management import call_command

    Customer.objects.filter(pk=people["taro"].pk).update(search_text="", search_bigrams="")
    assert "山田 太郎" not in names(alice, "やまだたろう")
    call_command("reindex", batch=2, stdout=io.StringIO())
    assert "山田 太郎" in names(alice, "やまだたろう")
    assert "山田 太郎" in names(alice, "山田")
    assert "山田 太郎" in names(alice, "090-1234-5678")


sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's FTS5 tables and triggers"
)


def _index_is_consistent() -> None:
    """FTS5's own check of both indexes against the kartes they index (SQLite)."""
    with connection.cursor() as cursor:
        for table in ("customer_fts", "customer_bigram"):
            cursor.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")


@sqlite_only
def test_kartes_inserted_in_bulk_are_indexed_at_the_end_of_the_block(alice, people):
    from enishi.customers import search_index
    from enishi.imports import bulk

    old = people["other"]
    with transaction.atomic(), search_index.indexed_after_insert(connection):
        new = [
            bulk.new(Customer, kind="person", name=f"橋本 {n}", owner=alice, created_by=alice)
            for n in ("一", "二", "三")
        ]
        for customer in new:
            services.apply_derived_fields(customer)
        bulk.insert(Customer, new)
        # Inside the block: new kartes changed or removed, an old one changed — by any code.
        new[0].name = "橋爪 一"
        services.apply_derived_fields(new[0])
        new[0].save()
        Customer.objects.filter(pk=new[1].pk).delete()
        old.name = "佐藤 次郎"
        services.apply_derived_fields(old)
        old.save()
    _index_is_consistent()
    assert names(alice, "橋本") == ["橋本 三"]
    assert names(alice, "橋爪") == ["橋爪 一"]
    assert names(alice, "次郎") == ["佐藤 次郎"]
    assert names(alice, "一郎") == []
    # The usual triggers are back: a karte saved afterwards is found at once.
    testing.make_customer(alice, name="橋田 四郎")
    assert "橋田 四郎" in names(alice, "橋田")
    _index_is_consistent()


@sqlite_only
def test_a_failed_bulk_block_leaves_index_and_triggers_as_they_were(alice, people):
    from enishi.customers import search_index

    with (
        pytest.raises(RuntimeError),
        transaction.atomic(),
        search_index.indexed_after_insert(connection),
    ):
        testing.make_customer(alice, name="消える 人")
        raise RuntimeError("boom")
    assert names(alice, "消える") == []
    testing.make_customer(alice, name="残る 人")
    assert names(alice, "残る") == ["残る 人"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'customer_search_au'")
        assert "old.id <=" not in cursor.fetchone()[0]
    _index_is_consistent()


# --- Long vowels: サトー finds サトウ, ゆうこ finds ユーコ (as the similar-customer hint does) ---


@pytest.fixture
def long_vowels(alice):
    make = testing.make_customer
    return {
        "satou": make(alice, name="佐藤 一郎", name_kana="サトウ イチロウ"),
        "sato_mark": make(alice, name="佐藤 花", name_kana="サトー ハナ"),
        "oono": make(alice, name="大野 健", name_kana="オオノ ケン"),
        "oono_mark": make(alice, name="大野 美樹", name_kana="オーノ ミキ"),
        "yuuko": make(alice, name="田中 裕子", name_kana="タナカ ユウコ"),
        "yuuko_mark": make(alice, name="木村 ユーコ", name_kana="キムラ ユーコ"),
        # Readings whose reading key agrees but which are other names: 里見, 小野.
        "satomi": make(alice, name="里見 浩", name_kana="サトミ ヒロシ"),
        "ono": make(alice, name="小野 健", name_kana="オノ ケン"),
    }


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("サトー", {"佐藤 一郎", "佐藤 花"}),
        ("さとう", {"佐藤 一郎", "佐藤 花"}),
        ("ｻﾄｳ", {"佐藤 一郎", "佐藤 花"}),
        ("おおの", {"大野 健", "大野 美樹"}),
        ("オーノ", {"大野 健", "大野 美樹"}),
        ("ゆうこ", {"田中 裕子", "木村 ユーコ"}),
        ("ユーコ", {"田中 裕子", "木村 ユーコ"}),
        ("ゆう", {"田中 裕子", "木村 ユーコ"}),  # two characters: the word index
        ("さとーいちろー", {"佐藤 一郎"}),
        ("おーの けん", {"大野 健"}),
    ],
)
def test_a_long_vowel_is_found_however_it_is_written(alice, long_vowels, query, found):
    # Not 里見 (サトミ) for サトー, nor 小野 (オノ) for おおの: a long vowel is never dropped.
    assert set(names(alice, query)) == found


@pytest.mark.parametrize("query", ["ー", "ｰ", "ーー", "-", "@", "〜", "・", " - "])
def test_marks_alone_find_nobody_without_asking_the_index(
    alice, long_vowels, query, django_assert_num_queries
):
    testing.make_customer(alice, name="林 幹", phone="03-1234-5678", email="miki@example.jp")
    with django_assert_num_queries(0):
        assert names(alice, query) == []
    # A mark beside a letter or digit is a search as any other.
    assert names(alice, "サトー") and search_customers(alice, "03-1234").count == 1


def test_the_spelling_typed_comes_first_among_equal_matches(alice, long_vowels):
    assert names(alice, "サトー") == ["佐藤 花", "佐藤 一郎"]
    assert names(alice, "さとう") == ["佐藤 一郎", "佐藤 花"]
    # A name match still comes before a reading match, whatever the spelling.
    mark = testing.make_customer(alice, name="サトー商店", kind="company")
    assert names(alice, "サトウ")[0] == mark.name


def test_the_index_is_asked_once_for_every_spelling(alice, long_vowels):
    from enishi.customers.search import SearchQuery, candidate_ids

    query = SearchQuery("オーノ")
    assert query.spellings == ("オーノ", "オウノ", "オオノ")
    assert query.method == "trigram"
    expected = {long_vowels["oono"].pk, long_vowels["oono_mark"].pk}
    assert set(candidate_ids(query)) == expected
    assert SearchQuery("090-1234-5678").spellings == ("09012345678",)


def test_a_long_vowel_search_costs_the_queries_of_any_search(
    alice, bob, long_vowels, django_assert_num_queries
):
    testing.make_customer(bob, name="佐藤 次郎", name_kana="サトウ ジロウ")
    for user, queries in ((alice, 3), (bob, 2)):
        for query in ("佐藤", "サトウ", "サトー", "さとーじろー"):
            with django_assert_num_queries(queries):
                assert search_customers(user, query).customers


def test_a_member_finds_only_the_long_vowels_they_may_see(alice, bob, carol, long_vowels):
    mine = testing.make_customer(bob, name="佐藤 次郎", name_kana="サトウ ジロウ")
    testing.make_customer(carol, name="佐藤 三郎", name_kana="サトー サブロウ")
    result = search_customers(bob, "サトー")
    assert [c.pk for c in result.customers] == [mine.pk]
    assert result.count == 1
    assert search_customers(carol, "さとう").count == 1
    assert search_customers(alice, "サトー").count == 4


def test_the_list_search_counts_every_spelling(alice_client, long_vowels, settings):
    from django.urls import reverse

    settings.ENISHI_COUNT_CAP = 1
    body = alice_client.get(reverse("customers:list"), {"q": "ゆーこ"}).content.decode()
    assert '<span class="count">2</span>' in body
    assert "田中 裕子" in body and "木村 ユーコ" in body


def test_the_search_box_finds_long_vowels(client, alice, bob, long_vowels):
    from django.urls import reverse

    url = reverse("customers:search")
    client.force_login(alice)
    page = client.get(url, {"q": "サトー"}, HTTP_HX_REQUEST="true").content.decode()
    assert "佐藤 一郎" in page and "佐藤 花" in page and "里見" not in page
    page = client.get(url, {"q": "おおの"}).content.decode()
    assert "大野 健" in page and "大野 美樹" in page and "小野" not in page
    client.force_login(bob)
    page = client.get(url, {"q": "サトー"}, HTTP_HX_REQUEST="true").content.decode()
    assert "佐藤" not in page


def test_the_api_searches_long_vowels_like_the_search_box(client, alice, bob, long_vowels):
    from enishi.api.tests.conftest import ApiClient, issue_token

    body = ApiClient(client, issue_token(alice)).get("/search", {"q": "ゆーこ"}).json()
    assert {c["id"] for c in body["results"]} == {
        long_vowels["yuuko"].pk,
        long_vowels["yuuko_mark"].pk,
    }
    assert (body["count"], body["capped"]) == (2, False)
    assert ApiClient(client, issue_token(bob)).get("/search", {"q": "ゆーこ"}).json()["count"] == 0
