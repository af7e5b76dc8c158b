"""The inquiry endpoints through the whole HTTP stack, with tokens."""

import datetime

import pytest
from django.utils import timezone

from enishi.api.models import ApiToken
from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.inquiries import services
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)


def make_inquiry(actor, customer, **data) -> Inquiry:
    data.setdefault("subject", "請求書について")
    return services.inquiry_create(actor=actor, customer=customer, **data)


def test_it_records_an_inquiry_for_a_visible_customer(bob_api, bob, hanako):
    category = InquiryCategory.objects.get(name="料金・請求")
    response = bob_api.post(
        "/inquiries",
        {
            "customer_id": hanako.pk,
            "subject": "請求書の再発行",
            "content": "宛名を変えてほしい",
            "channel": "email",
            "category_id": category.pk,
            "assignee_id": bob.pk,
            "received_at": "2026-04-01T09:00:00+09:00",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["customer_id"], body["category_id"]) == (
        "new",
        hanako.pk,
        category.pk,
    )
    assert body["first_response_seconds"] is None and body["resolution_seconds"] is None
    assert body["overdue"] is True  # received long ago and never answered
    assert response["ETag"] == '"1"'
    entry = HistoryEntry.objects.get(model="inquiries.inquiry", object_id=body["id"])
    assert entry.via == HistoryEntry.Via.API


def test_it_refuses_an_unseen_or_unknown_customer_alike(bob_api, carol):
    theirs = testing.make_customer(carol, name="別の課")
    unseen = bob_api.post("/inquiries", {"customer_id": theirs.pk, "subject": "x"})
    unknown = bob_api.post("/inquiries", {"customer_id": 987654321, "subject": "x"})
    assert unseen.status_code == unknown.status_code == 422
    assert unseen.json() == unknown.json()
    assert unseen.json()["errors"][0]["field"] == "customer_id"
    assert not Inquiry.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": "NUL\u0000"}, "subject"),
        ({"subject": "x", "content": "y" * 20001}, "content"),
        ({"subject": "x", "channel": "fax"}, "channel"),
        ({"subject": "x", "received_at": "2999-01-01T00:00:00+09:00"}, "received_at"),
        ({"subject": "x", "category_id": 987654}, "category_id"),
        ({"subject": "x", "assignee_id": 987654}, "assignee_id"),
        ({"subject": "x", "status": "closed"}, "status"),
    ],
)
def test_it_refuses_bad_input_with_the_field_named(bob_api, hanako, body, field):
    response = bob_api.post("/inquiries", {"customer_id": hanako.pk, **body})
    assert response.status_code == 422, response.json()
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Inquiry.objects.exists()


def test_it_lists_with_filters_and_pages(alice_api, alice, bob, hanako, settings):
    settings.ENISHI_INQUIRY_RESPONSE_HOURS = 24
    billing = InquiryCategory.objects.get(name="料金・請求")
    old = make_inquiry(alice, hanako, received_at=timezone.now() - 48 * H, category=billing)
    mine = make_inquiry(alice, hanako, assignee=alice)
    theirs = make_inquiry(alice, hanako, assignee=bob, channel="visit")
    done = make_inquiry(alice, hanako)
    services.inquiry_update(actor=alice, inquiry=done, data={"status": "closed"}, version=1)

    def ids(**params):
        response = alice_api.get("/inquiries", params)
        assert response.status_code == 200, response.json()
        return [i["id"] for i in response.json()["results"]]

    assert ids() == [old.pk, mine.pk, theirs.pk, done.pk]
    assert ids(assignee="me") == [mine.pk]
    assert ids(assignee=str(bob.pk)) == [theirs.pk]
    assert ids(assignee="none") == [old.pk, done.pk]
    assert ids(status="closed") == [done.pk]
    assert ids(status="open") == [old.pk, mine.pk, theirs.pk]
    assert ids(category_id=billing.pk) == [old.pk]
    assert ids(channel="visit") == [theirs.pk]
    assert ids(overdue="true") == [old.pk]
    assert ids(customer_id=hanako.pk) == [old.pk, mine.pk, theirs.pk, done.pk]
    first = alice_api.get("/inquiries", {"limit": 3}).json()
    rest = alice_api.get("/inquiries", {"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in first["results"] + rest["results"]] == ids()
    assert rest["next_cursor"] is None
    assert alice_api.get("/inquiries", {"assignee": "someone"}).status_code == 422
    assert alice_api.get("/inquiries", {"cursor": "e30"}).status_code == 422


def test_a_list_leaves_out_inquiries_on_unseen_kartes(bob_api, bob, carol, hanako):
    ours = make_inquiry(bob, hanako)
    make_inquiry(carol, testing.make_customer(carol, name="別の課"), subject="別の課の件")
    body = bob_api.get("/inquiries").json()
    assert [i["id"] for i in body["results"]] == [ours.pk]


def test_it_answers_resolves_and_reports_the_times(bob_api, bob, hanako):
    inquiry = make_inquiry(bob, hanako, received_at=timezone.now() - 2 * H)
    response = bob_api.post(f"/inquiries/{inquiry.pk}/answers", {"body": "確認しました"})
    assert response.status_code == 201, response.json()
    assert response.json()["author_id"] == bob.pk and response["ETag"] == '"2"'
    note = bob_api.post(
        f"/inquiries/{inquiry.pk}/answers", {"body": "社内向け", "is_internal": True}
    )
    assert note.json()["is_internal"] is True
    got = bob_api.get(f"/inquiries/{inquiry.pk}")
    body = got.json()
    assert body["status"] == "in_progress" and got["ETag"] == '"3"'
    assert 2 * 3600 - 5 <= body["first_response_seconds"] <= 2 * 3600 + 60
    thread = bob_api.get(f"/inquiries/{inquiry.pk}/answers").json()["results"]
    assert [a["body"] for a in thread] == ["確認しました", "社内向け"]
    response = bob_api.patch(
        f"/inquiries/{inquiry.pk}", {"version": 3, "status": "resolved", "satisfaction": 4}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["resolution_seconds"] >= body["first_response_seconds"]
    assert body["satisfaction"] == 4 and body["resolved_at"] is not None


def test_an_answer_on_a_closed_inquiry_is_refused_with_a_clear_message(client, bob, hanako):
    bob.language = "en"
    bob.save()
    api = ApiClient(client, issue_token(bob))
    inquiry = make_inquiry(bob, hanako)
    services.inquiry_update(actor=bob, inquiry=inquiry, data={"status": "closed"}, version=1)
    response = api.post(f"/inquiries/{inquiry.pk}/answers", {"body": "まだ話がある"})
    assert response.status_code == 422
    assert "reopen it first" in response.json()["detail"]
    assert response.json()["errors"][0]["code"] == "closed"
    assert not InquiryAnswer.objects.exists()
    assert (
        api.patch(f"/inquiries/{inquiry.pk}", {"version": 2, "status": "in_progress"}).json()[
            "closed_at"
        ]
        is None
    )
    assert api.post(f"/inquiries/{inquiry.pk}/answers", {"body": "再開"}).status_code == 201


def test_a_stale_patch_answers_409_with_the_current_inquiry(bob_api, bob, alice, hanako):
    inquiry = make_inquiry(bob, hanako)
    services.inquiry_update(actor=alice, inquiry=inquiry, data={"subject": "先に変更"}, version=1)
    response = bob_api.patch(f"/inquiries/{inquiry.pk}", {"version": 1, "status": "waiting"})
    assert response.status_code == 409
    assert response.json()["current"]["subject"] == "先に変更"
    assert response.json()["current"]["version"] == 2
    response = bob_api.patch(f"/inquiries/{inquiry.pk}", {"status": "waiting"}, HTTP_IF_MATCH='"2"')
    assert response.status_code == 200 and response.json()["status"] == "waiting"
    assert bob_api.patch(f"/inquiries/{inquiry.pk}", {"status": "new"}).status_code == 422


def test_a_patch_refuses_bad_values_and_clears_with_null(bob_api, bob, hanako):
    category = InquiryCategory.objects.first()
    inquiry = make_inquiry(bob, hanako, category=category, assignee=bob, content="本文")
    for body in (
        {"version": 1, "subject": None},
        {"version": 1, "satisfaction": 3},
        {"version": 1, "satisfaction": 9, "status": "resolved"},
        {"version": 1, "unknown": 1},
    ):
        assert bob_api.patch(f"/inquiries/{inquiry.pk}", body).status_code == 422, body
    response = bob_api.patch(
        f"/inquiries/{inquiry.pk}",
        {"version": 1, "category_id": None, "assignee_id": None, "content": None},
    )
    body = response.json()
    assert (body["category_id"], body["assignee_id"], body["content"]) == (None, None, "")


def test_a_delete_moves_to_the_trash(bob_api, bob, hanako):
    inquiry = make_inquiry(bob, hanako)
    assert bob_api.delete(f"/inquiries/{inquiry.pk}").status_code == 204
    assert bob_api.get(f"/inquiries/{inquiry.pk}").status_code == 404
    assert Inquiry.objects.get().deleted_at is not None


def test_read_only_tokens_and_roles_cannot_write(client, bob, dave, hanako):
    inquiry = make_inquiry(bob, hanako)
    read_token = ApiClient(client, issue_token(bob, scopes=ApiToken.Scopes.READ))
    assert read_token.get(f"/inquiries/{inquiry.pk}").status_code == 200
    assert (
        read_token.post("/inquiries", {"customer_id": hanako.pk, "subject": "x"}).status_code == 403
    )
    dave_api = ApiClient(client, issue_token(dave, scopes=ApiToken.Scopes.READ))
    ApiToken.objects.filter(user=dave).update(scopes=ApiToken.Scopes.WRITE)
    assert dave_api.get(f"/inquiries/{inquiry.pk}").status_code == 200
    assert dave_api.post(f"/inquiries/{inquiry.pk}/answers", {"body": "x"}).status_code == 403
    assert (
        dave_api.patch(f"/inquiries/{inquiry.pk}", {"version": 1, "status": "closed"}).status_code
        == 403
    )
    assert not InquiryAnswer.objects.exists() and Inquiry.objects.get().version == 1


def test_it_lists_the_categories(bob_api):
    InquiryCategory.objects.filter(name="その他").update(is_active=False)
    body = bob_api.get("/inquiry-categories").json()
    assert [c["name"] for c in body][:2] == ["製品について", "料金・請求"]
    assert {c["name"]: c["is_active"] for c in body}["その他"] is False


def test_the_operations_are_documented_under_their_names(client):
    schema = client.get("/api/openapi.json").json()
    operations = {
        op["operationId"]: op["tags"]
        for path, ops in schema["paths"].items()
        if "inquir" in path
        for op in ops.values()
    }
    assert operations == {
        "list_inquiries": ["inquiries"],
        "create_inquiry": ["inquiries"],
        "get_inquiry": ["inquiries"],
        "update_inquiry": ["inquiries"],
        "delete_inquiry": ["inquiries"],
        "list_inquiry_answers": ["inquiries"],
        "answer_inquiry": ["inquiries"],
        "list_inquiry_categories": ["inquiries"],
    }
