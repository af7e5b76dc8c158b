"""Every error's `field` names what the request sent, as the OpenAPI document names it: never a
service's or model's own name (company, tag_names, cf_size, __all__) nor pydantic's internals
(a union member's type, "[key]", the multipart part's kind)."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from enishi.core import testing
from enishi.customers.models import FieldDefinition
from enishi.inquiries.models import InquiryCategory
from enishi.sales import services as sales_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def doc(client):
    return client.get("/api/openapi.json").json()


def request_names(doc: dict, path: str, method: str) -> set[str]:
    """The properties of an operation's request body and the names of its parameters."""
    operation = doc["paths"]["/api/v1" + path][method]
    names = {p["name"] for p in operation.get("parameters", [])}
    for content in operation.get("requestBody", {}).get("content", {}).values():
        schema = content["schema"]
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        names |= set(schema.get("properties", {}))
    return names


def fields_of(response) -> list[str]:
    assert response.status_code == 422, response.content
    return [error["field"] for error in response.json()["errors"]]


def assert_named_as_sent(fields: list[str], names: set[str]) -> None:
    for field in fields:
        assert field is not None
        assert field.split(".")[0] in names, f"{field} is not in the request schema"


@pytest.fixture
def definitions(db):
    FieldDefinition.objects.create(key="visits", label_ja="来店回数", type="number")
    FieldDefinition.objects.create(
        key="size", label_ja="サイズ", type="choice", choices=["S", "M", "L"]
    )


@pytest.fixture
def company(alice):
    return testing.make_company(alice, name="株式会社山田商事", code="C-1")


class TestCustomers:
    def test_schema_errors_name_the_properties(self, alice_api, doc, definitions):
        body = {
            "kind": "shop",
            "code": 12,
            "name": "x" * 1000,
            "employees": -1,
            "founded_on": "昨日",
            "fiscal_month": 13,
            "company_id": 0,
            "is_key_person": "maybe",
            "birthday": "2024-13-40",
            "gender": "?",
            "owner_id": "me",
            "status": "vip",
            "rank": "S",
            "contact_permissions": {"email": "maybe", "fax": True},
            "custom_fields": {"visits": {"n": 1}, "size": ["S", 2], "k" * 51: 1},
            "tags": ["x" * 51],
        }
        fields = fields_of(alice_api.post("/customers", body))
        assert_named_as_sent(fields, request_names(doc, "/customers", "post"))
        assert set(fields) == {
            "kind",
            "code",
            "name",
            "employees",
            "founded_on",
            "fiscal_month",
            "company_id",
            "is_key_person",
            "birthday",
            "gender",
            "owner_id",
            "status",
            "rank",
            "contact_permissions.email",
            "contact_permissions.fax",
            "custom_fields.visits",
            "custom_fields.size",
            "custom_fields." + "k" * 51,
            "tags.0",
        }
        assert len(fields) == len(set(fields)), "one error per bad value"

    def test_rule_errors_name_the_properties(self, alice_api, alice, doc, definitions, company):
        person = testing.make_customer(alice, name="山田 太郎")
        body = {
            "kind": "company",
            "name": "山田",
            "code": "C-1",
            "name_kana": "山田",
            "phone": "abc",
            "mobile": "12",
            "fax": "x",
            "postal_code": "abc",
            "corporate_number": "123",
            "website": "not a url",
            "email": "no",
            "email_alt": "no@",
            "birthday": "2999-01-01",
            "company_id": company.pk,
            "parent_id": person.pk,
            "custom_fields": {"visits": "many", "size": "XL", "nope": 1},
        }
        fields = fields_of(alice_api.post("/customers", body))
        assert_named_as_sent(fields, request_names(doc, "/customers", "post"))
        assert set(fields) == {
            "code",
            "name_kana",
            "phone",
            "mobile",
            "fax",
            "postal_code",
            "corporate_number",
            "website",
            "email",
            "email_alt",
            "birthday",
            "company_id",
            "parent_id",
            "custom_fields.visits",
            "custom_fields.size",
            "custom_fields.nope",
        }

    def test_lookups_and_nulls_name_the_properties(self, alice_api, alice, doc):
        person = testing.make_customer(alice, name="山田 太郎")
        body = {
            "version": 1,
            "kind": None,
            "status": None,
            "owner_id": 987654,
            "team_id": 987654,
            "company_id": 987654,
            "parent_id": 987654,
        }
        fields = fields_of(alice_api.patch(f"/customers/{person.pk}", body))
        assert_named_as_sent(fields, request_names(doc, "/customers/{id}", "patch"))
        assert set(fields) == {"kind", "status", "owner_id", "team_id", "company_id", "parent_id"}
        person.refresh_from_db()
        assert (person.kind, person.status, person.version) == ("person", "lead", 1)

    def test_a_null_kind_or_status_is_refused_on_create_too(self, alice_api):
        response = alice_api.post("/customers", {"name": "佐藤", "kind": None, "status": None})
        assert set(fields_of(response)) == {"kind", "status"}

    def test_a_sensitive_field_a_role_may_not_write_is_named_by_its_key(self, bob_api, doc):
        FieldDefinition.objects.create(
            key="allergies", label_ja="アレルギー", type="text", sensitive=True
        )
        response = bob_api.post(
            "/customers", {"name": "佐藤", "custom_fields": {"allergies": "卵"}}
        )
        assert fields_of(response) == ["custom_fields.allergies"]

    def test_an_unknown_property_is_named_as_sent(self, alice_api):
        assert fields_of(alice_api.post("/customers", {"name": "佐藤", "nmae": "x"})) == ["nmae"]


class TestOtherRouters:
    def test_a_retired_inquiry_category_is_category_id(self, alice_api, alice, doc):
        customer = testing.make_customer(alice, name="山田 太郎")
        retired = InquiryCategory.objects.create(name="旧分類", is_active=False)
        body = {"customer_id": customer.pk, "subject": "請求書", "category_id": retired.pk}
        fields = fields_of(alice_api.post("/inquiries", body))
        assert fields == ["category_id"]
        assert_named_as_sent(fields, request_names(doc, "/inquiries", "post"))

    def test_a_cancellation_without_a_reason_is_reason(self, alice_api, alice, doc):
        contract = sales_services.contract_create(
            actor=alice,
            customer=testing.make_customer(alice, name="山田 太郎"),
            data={
                "plan": "定期清掃",
                "starts_on": datetime.date(2026, 1, 1),
                "amount": "5000",
                "period": "month",
            },
        )
        body = {"cancelled_on": timezone.localdate().isoformat(), "reason": " ", "version": 1}
        fields = fields_of(alice_api.post(f"/contracts/{contract.pk}/cancel", body))
        assert fields == ["reason"]
        assert_named_as_sent(fields, request_names(doc, "/contracts/{id}/cancel", "post"))

    def test_multipart_parts_are_named_as_sent(self, client, alice_api, doc):
        headers = {"HTTP_AUTHORIZATION": alice_api.headers["HTTP_AUTHORIZATION"]}
        response = client.post("/api/v1/imports", {"target": "people"}, **headers)
        assert sorted(fields_of(response)) == ["file", "target"]
        empty = SimpleUploadedFile("a.vcf", b"BEGIN:VCARD\r\nEND:VCARD\r\n")
        response = client.post("/api/v1/vcards/import", {"file": empty, "commit": "x"}, **headers)
        fields = fields_of(response)
        assert fields == ["commit"]
        assert_named_as_sent(fields, request_names(doc, "/vcards/import", "post"))

    def test_a_merge_choice_is_one_error_at_its_key(self, alice_api, alice, doc):
        one = testing.make_customer(alice, name="山田 太郎")
        two = testing.make_customer(alice, name="山田 太郎")
        body = {
            "survivor_id": one.pk,
            "other_ids": [two.pk],
            "versions": {str(one.pk): 1, str(two.pk): 1},
            "choices": {"name": "neither"},
        }
        assert fields_of(alice_api.post("/merges", body)) == ["choices.name"]

    def test_characters_cp932_cannot_hold_name_the_encoding(self, alice_api, alice, doc):
        testing.make_customer(alice, name="𠮷田 花子")
        response = alice_api.get("/customers/export", {"columns": "name", "encoding": "cp932"})
        fields = fields_of(response)
        assert fields == ["encoding"]
        assert_named_as_sent(fields, request_names(doc, "/customers/export", "get"))
        assert "名前" in response.json()["errors"][0]["message"]


def test_the_document_still_lists_what_a_custom_field_takes(doc):
    values = doc["components"]["schemas"]["CustomerIn"]["properties"]["custom_fields"]["anyOf"][0]
    types = {json.dumps(t, sort_keys=True) for t in values["additionalProperties"]["anyOf"]}
    assert {'{"type": "string"}', '{"type": "integer"}', '{"type": "boolean"}'} <= types
