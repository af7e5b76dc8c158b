"""The customer endpoints through the whole HTTP stack: list, create, read, change, delete,
search and field definitions."""

import datetime

import pytest
from django.utils import timezone

from enishi.core import testing
from enishi.customers.models import Customer, FieldDefinition
from enishi.history.models import HistoryEntry

from .conftest import ApiClient, issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def taro(alice):
    company = testing.make_company(alice, name="株式会社山田商事", name_kana="ヤマダショウジ")
    return testing.make_customer(
        alice,
        name="山田 太郎",
        name_kana="やまだ たろう",
        phone="090-1234-5678",
        company=company,
        tags=["VIP", "展示会"],
    )


def test_it_lists_customers_in_id_order_and_pages_with_a_cursor(alice_api, alice):
    made = [testing.make_customer(alice, name=f"顧客{i}") for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        response = alice_api.get(
            "/customers", {"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200
        body = response.json()
        seen += [c["id"] for c in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [c.pk for c in made]
    assert pages == 3


def test_it_filters_the_list(alice_api, alice, bob, taro):
    other = testing.make_customer(bob, name="佐藤 花子", status="customer", prefecture="大阪府")

    def ids(**params):
        response = alice_api.get("/customers", params)
        assert response.status_code == 200, response.json()
        return {c["id"] for c in response.json()["results"]}

    assert ids(kind="company") == {taro.company_id}
    assert ids(status="customer") == {other.pk}
    assert ids(owner=bob.pk) == {other.pk}
    assert ids(tag="VIP") == {taro.pk}
    assert ids(tag="no such tag") == set()
    assert ids(prefecture="大阪府") == {other.pk}
    assert ids(q="やまだたろう") == {taro.pk}
    later = (timezone.now() + datetime.timedelta(minutes=1)).isoformat()
    assert ids(updated_since=later) == set()


def test_it_refuses_a_page_larger_than_200_and_a_bad_cursor(alice_api):
    response = alice_api.get("/customers", {"limit": 201})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"
    assert alice_api.get("/customers", {"limit": 0}).status_code == 422
    response = alice_api.get("/customers", {"cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


def test_it_reads_a_karte_with_tags_custom_fields_derived_phone_and_etag(alice_api, taro):
    response = alice_api.get(f"/customers/{taro.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "山田 太郎"
    assert body["name_kana"] == "ヤマダ タロウ"
    assert body["phone_e164"] == "+819012345678"
    assert body["tags"] == ["VIP", "展示会"]
    assert body["company_id"] == taro.company_id
    assert body["version"] == 1
    assert response["ETag"] == '"1"'


def test_it_creates_a_karte_through_the_service_and_records_the_api_in_history(alice_api, alice):
    FieldDefinition.objects.create(key="visits", label_ja="来店回数", type="number")
    response = alice_api.post(
        "/customers",
        {
            "name": "鈴木 一郎",
            "phone": "03-1234-5678",
            "postal_code": "1000001",
            "tags": ["新規"],
            "custom_fields": {"visits": "３"},
            "contact_permissions": {"email": True, "phone": None},
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert customer.owner == alice
    assert body["prefecture"] == "東京都"
    assert body["postal_code"] == "100-0001"
    assert body["custom_fields"] == {"visits": 3}
    assert body["contact_permissions"] == {"email": True}
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(f"/api/v1/customers/{customer.pk}")
    entry = HistoryEntry.objects.get(object_id=customer.pk, model="customers.customer")
    assert entry.via == HistoryEntry.Via.API


def test_it_answers_rule_errors_per_field_in_the_users_language(alice_api, client, alice):
    response = alice_api.post("/customers", {"name": "", "phone": "1234-5678"})
    assert response.status_code == 422
    body = response.json()
    fields = {e["field"] for e in body["errors"]}
    assert {"name", "phone"} <= fields
    assert "市外局番" in next(e["message"] for e in body["errors"] if e["field"] == "phone")
    assert all(e["code"] for e in body["errors"])
    english = ApiClient(client, issue_token(alice), language="en")
    response = english.post("/customers", {"name": ""})
    assert response.json()["errors"][0]["message"] == "Enter the name."


def test_it_refuses_line_breaks_in_one_line_fields_naming_the_field(alice_api, client, alice):
    body = {
        "name": "鈴木 一郎",
        "street": "1-2-3\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:injected",
        "title": "課長\nEND:VCARD",
        "notes": "一行目\n二行目",
    }
    response = alice_api.post("/customers", body)
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"street", "title"}
    assert errors["title"].startswith("改行は入れられません")
    english = ApiClient(client, issue_token(alice), language="en")
    response = english.post("/customers", {"name": "x", "building": "A棟\u2028B棟"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "building"
    assert response.json()["errors"][0]["message"].startswith("Line breaks cannot be entered")
    assert not Customer.objects.exists()
    response = alice_api.post("/customers", {"name": "鈴木 一郎", "notes": body["notes"]})
    assert response.status_code == 201 and response.json()["notes"] == "一行目\n二行目"


def test_it_translates_schema_errors_too(alice_api):
    response = alice_api.post("/customers", {"name": "x", "employees": "many", "kind": "robot"})
    assert response.status_code == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert errors["employees"]["code"] == "int_parsing"
    assert errors["employees"]["message"] == "整数を入力してください。"
    assert errors["kind"]["code"] == "literal_error"


def test_it_refuses_unknown_fields_instead_of_ignoring_them(alice_api, taro):
    response = alice_api.patch(f"/customers/{taro.pk}", {"version": 1, "nmae": "typo"})
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "nmae",
        "code": "extra_forbidden",
        "message": "この項目はありません。",
    }


def test_it_rejects_nul_bytes_at_the_boundary(alice_api, taro):
    response = alice_api.post("/customers", {"name": "NUL\x00"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert response.json()["errors"][0]["code"] == "invalid_character"
    response = alice_api.patch(
        f"/customers/{taro.pk}", {"version": 1, "custom_fields": {"a\x00": 1}}
    )
    assert response.status_code == 422
    assert alice_api.get("/customers", {"q": "a\x00b"}).status_code == 422
    assert alice_api.get("/search", {"q": "\x00"}).status_code == 422
    assert Customer.objects.filter(name__contains="NUL").count() == 0


def test_it_answers_400_to_a_body_that_is_not_json(alice_api):
    response = alice_api.send("POST", "/customers", raw="{not json")
    assert response.status_code == 400
    assert response.json()["errors"] == []
    assert response.json()["detail"]


def test_it_changes_only_the_fields_sent_with_the_version_in_the_body(alice_api, taro):
    response = alice_api.patch(
        f"/customers/{taro.pk}", {"version": 1, "rank": "A", "tags": ["VIP"]}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["rank"], body["tags"], body["version"]) == ("A", ["VIP"], 2)
    assert body["name"] == "山田 太郎"
    assert response["ETag"] == '"2"'


def test_it_takes_the_version_from_if_match(alice_api, taro):
    response = alice_api.patch(f"/customers/{taro.pk}", {"notes": "メモ"}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert response.json()["notes"] == "メモ"
    response = alice_api.patch(f"/customers/{taro.pk}", {"notes": "x"}, HTTP_IF_MATCH="soon")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "If-Match"


def test_it_needs_a_version_to_change_anything(alice_api, taro):
    response = alice_api.patch(f"/customers/{taro.pk}", {"notes": "上書き"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "version"
    taro.refresh_from_db()
    assert taro.notes == ""


def test_it_answers_409_with_the_current_karte_when_the_version_is_stale(alice_api, alice, taro):
    from enishi.customers import services

    services.customer_update(actor=alice, customer=taro, data={"notes": "先に保存"}, version=1)
    response = alice_api.patch(f"/customers/{taro.pk}", {"version": 1, "notes": "後から"})
    assert response.status_code == 409
    body = response.json()
    assert body["current"]["notes"] == "先に保存"
    assert body["current"]["version"] == 2
    assert body["detail"]
    taro.refresh_from_db()
    assert taro.notes == "先に保存"


def test_it_merges_custom_fields_and_null_removes_one(alice_api, alice):
    FieldDefinition.objects.create(key="visits", label_ja="来店回数", type="number")
    FieldDefinition.objects.create(key="hobby", label_ja="趣味", type="text")
    customer = testing.make_customer(alice, custom_fields={"visits": 2, "hobby": "釣り"})
    response = alice_api.patch(
        f"/customers/{customer.pk}", {"version": 1, "custom_fields": {"visits": 3, "hobby": None}}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["custom_fields"] == {"visits": 3}
    response = alice_api.patch(
        f"/customers/{customer.pk}", {"version": 2, "custom_fields": {"visits": "many"}}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "custom_fields.visits"


def test_it_resolves_ids_and_refuses_unknown_ones(alice_api, bob, taro):
    response = alice_api.patch(
        f"/customers/{taro.pk}", {"version": 1, "owner_id": bob.pk, "team_id": 999999}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["team_id"]
    response = alice_api.patch(f"/customers/{taro.pk}", {"version": 1, "owner_id": bob.pk})
    assert response.json()["owner_id"] == bob.pk
    response = alice_api.patch(f"/customers/{taro.pk}", {"version": 2, "company_id": 999999})
    assert response.json()["errors"][0]["field"] == "company_id"


def test_it_moves_a_karte_to_the_trash(alice_api, taro):
    response = alice_api.delete(f"/customers/{taro.pk}")
    assert response.status_code == 204
    assert alice_api.get(f"/customers/{taro.pk}").status_code == 404
    taro.refresh_from_db()
    assert taro.deleted_at is not None


def test_it_answers_404_in_the_error_shape_for_unknown_ids(alice_api):
    response = alice_api.get("/customers/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "見つかりません。", "errors": []}


def test_it_searches_like_the_search_box(alice_api, taro):
    response = alice_api.get("/search", {"q": "+81 90 1234 5678"})
    assert response.status_code == 200
    body = response.json()
    assert [c["id"] for c in body["results"]] == [taro.pk]
    assert body["count"] == 1
    assert body["capped"] is False


def test_it_reports_a_capped_count(alice_api, alice, settings):
    settings.ENISHI_COUNT_CAP = 3
    for i in range(5):
        testing.make_customer(alice, name=f"山本 {i}")
    body = alice_api.get("/search", {"q": "山本", "limit": 2}).json()
    assert (body["count"], body["capped"], len(body["results"])) == (3, True, 2)


def test_it_lists_field_definitions(alice_api):
    FieldDefinition.objects.create(key="visits", label_ja="来店回数", type="number", position=2)
    FieldDefinition.objects.create(
        key="size", label_ja="サイズ", type="choice", choices=["S", "M"], position=1
    )
    body = alice_api.get("/field-definitions").json()
    assert [d["key"] for d in body] == ["size", "visits"]
    assert body[0]["choices"] == ["S", "M"]
