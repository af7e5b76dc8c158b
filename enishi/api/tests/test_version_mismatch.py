"""A write that sends its version twice (`version` in the body and If-Match) with two different
values is refused as a stale write would be: 409 with the current record, nothing written,
never one of the two chosen silently."""

import datetime

import pytest
from django.utils import timezone

from enishi.core import testing
from enishi.customers import services as customer_services
from enishi.customers.models import Customer
from enishi.inquiries import services as inquiry_services
from enishi.inquiries.models import Inquiry
from enishi.sales import services as sales_services
from enishi.sales.models import Contract

pytestmark = pytest.mark.django_db


@pytest.fixture
def taro(alice):
    return testing.make_customer(alice, name="山田 太郎")


def test_it_refuses_a_stale_if_match_beside_the_current_body_version(alice_api, alice, taro):
    customer_services.customer_update(
        actor=alice, customer=taro, data={"notes": "先に保存"}, version=1
    )
    response = alice_api.patch(
        f"/customers/{taro.pk}", {"version": 2, "notes": "後から"}, HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 409
    body = response.json()
    assert body["errors"] == [
        {"field": "version", "code": "version_mismatch", "message": body["detail"]}
    ]
    assert "If-Match" in body["detail"] and "（2）" in body["detail"]  # in Japanese
    assert (body["current"]["version"], body["current"]["notes"]) == (2, "先に保存")
    taro.refresh_from_db()
    assert (taro.notes, taro.version) == ("先に保存", 2)


def test_it_refuses_a_stale_body_version_beside_the_current_if_match(alice_api, alice, taro):
    customer_services.customer_update(
        actor=alice, customer=taro, data={"notes": "先に保存"}, version=1
    )
    response = alice_api.patch(
        f"/customers/{taro.pk}", {"version": 1, "notes": "後から"}, HTTP_IF_MATCH='"2"'
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "version_mismatch"
    taro.refresh_from_db()
    assert taro.notes == "先に保存"


def test_it_speaks_the_language_of_the_request(alice_api, taro):
    response = alice_api.patch(
        f"/customers/{taro.pk}",
        {"version": 1, "notes": "x"},
        HTTP_IF_MATCH='"3"',
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "The version in the body (1) and the If-Match header (3) disagree: nothing was "
        "changed. Send the version you read, in one of them or the same in both."
    )


def test_the_same_version_both_ways_is_a_normal_write(alice_api, taro):
    response = alice_api.patch(
        f"/customers/{taro.pk}", {"version": 1, "notes": "メモ"}, HTTP_IF_MATCH='W/"1"'
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["notes"], response["ETag"]) == ("メモ", '"2"')


def test_a_malformed_if_match_is_refused_even_beside_a_body_version(alice_api, taro):
    response = alice_api.patch(
        f"/customers/{taro.pk}", {"version": 1, "notes": "x"}, HTTP_IF_MATCH="soon"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "If-Match"
    assert Customer.objects.get(pk=taro.pk).notes == ""


def test_an_inquiry_patch_refuses_versions_that_disagree(bob_api, bob):
    hanako = testing.make_customer(bob, name="佐藤 花子")
    inquiry = inquiry_services.inquiry_create(actor=bob, customer=hanako, subject="請求書について")
    response = bob_api.patch(
        f"/inquiries/{inquiry.pk}", {"version": 1, "status": "waiting"}, HTTP_IF_MATCH='"7"'
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "version_mismatch"
    assert response.json()["current"]["status"] == "new"
    assert Inquiry.objects.get(pk=inquiry.pk).status == "new"


def test_a_contract_cancellation_refuses_versions_that_disagree(alice_api, alice, taro):
    contract = sales_services.contract_create(
        actor=alice,
        customer=taro,
        data={
            "plan": "定期清掃",
            "starts_on": datetime.date(2026, 1, 1),
            "amount": "5000",
            "period": "month",
        },
    )
    response = alice_api.post(
        f"/contracts/{contract.pk}/cancel",
        {"cancelled_on": timezone.localdate().isoformat(), "reason": "移転", "version": 1},
        HTTP_IF_MATCH='"2"',
    )
    assert response.status_code == 409
    assert response.json()["current"]["cancelled_on"] is None
    assert Contract.objects.get(pk=contract.pk).cancelled_on is None


def test_the_house_style_refuses_versions_that_disagree(alice_api):
    response = alice_api.patch(
        "/house-style", {"street": "keep", "version": 1}, HTTP_IF_MATCH='"2"'
    )
    assert response.status_code == 409
    assert response.json()["current"]["version"] == 1


def test_the_document_says_so(client):
    doc = client.get("/api/openapi.json").json()
    assert "version_mismatch" in doc["info"]["description"]
    patch = doc["components"]["schemas"]["CustomerPatch"]["properties"]["version"]
    assert "409" in patch["description"]
