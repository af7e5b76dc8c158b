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
    assert search_customers(alice, "-").method == "scan"


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
