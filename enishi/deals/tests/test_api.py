"""The deal and pipeline endpoints through the whole HTTP stack."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from enishi.activities.models import Task
from enishi.api.models import ApiToken
from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.deals import services
from enishi.deals.models import Deal, DealStageChange
from enishi.history.models import HistoryEntry

from .factories import make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bob_api(client, bob):
    return ApiClient(client, issue_token(bob), language="en")


@pytest.fixture
def deal(bob, company, stages):
    return make_deal(bob, company, stages["提案"], title="API案件", amount=Decimal("1200000"))


def test_it_lists_pipelines_with_their_stages(bob_api, pipeline):
    body = bob_api.get("/pipelines").json()
    assert [p["name"] for p in body] == ["新規営業"]
    stages = body[0]["stages"]
    assert [(s["name"], s["probability"], s["outcome"]) for s in stages][-2:] == [
        ("受注", 100, "won"),
        ("失注", 0, "lost"),
    ]


def test_it_creates_a_deal_whose_next_action_becomes_a_task(bob_api, bob, company, taro, stages):
    response = bob_api.post(
        "/deals",
        {
            "customer_id": company.pk,
            "stage_id": stages["ヒアリング"].pk,
            "title": "新規案件",
            "amount": "2500000",
            "expected_close_on": "2030-06-30",
            "contact_ids": [taro.pk],
            "next_action": "訪問",
            "next_action_due": "2030-05-01",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["ETag"] == '"1"' and response["Location"].endswith(f"/deals/{body['id']}")
    assert (body["amount"], body["weighted_amount"], body["probability"]) == (
        "2500000.00",
        "500000",
        20,
    )
    assert body["contact_ids"] == [taro.pk] and body["outcome"] == "open"
    assert Task.objects.get(deal_id=body["id"]).title == "訪問"
    entry = HistoryEntry.objects.get(model="deals.deal", object_id=body["id"])
    assert entry.via == HistoryEntry.Via.API


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": -1}, "amount"),
        ({"amount": "1000000000000"}, "amount"),
        ({"amount": "100.5"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"currency": "BTC"}, "currency"),
        ({"probability": 101}, "probability"),
        ({"expected_close_on": "3000-01-01"}, "expected_close_on"),
        ({"title": "x\u0000"}, "title"),
        ({"title": ""}, "title"),
        ({"next_action_due": "2030-01-01"}, "next_action"),
        ({"stage_id": 987654321}, "stage_id"),
        ({"customer_id": 987654321}, "customer_id"),
        ({"owner_id": 987654321}, "owner_id"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(bob_api, company, stages, change, field):
    body = {"customer_id": company.pk, "stage_id": stages["提案"].pk, "title": "案件", **change}
    response = bob_api.post("/deals", body)
    assert response.status_code == 422, response.json()
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Deal.objects.exists()


def test_it_refuses_a_stage_from_another_pipeline_and_contacts_elsewhere(
    bob_api, alice, bob, company, stages
):
    other = services.pipeline_create(actor=alice, name="保守契約")
    response = bob_api.post(
        "/deals",
        {
            "customer_id": company.pk,
            "pipeline_id": stages["提案"].pipeline_id,
            "stage_id": other.stages.first().pk,
            "title": "案件",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "stage_id"
    stranger = testing.make_customer(bob, name="無関係 花子")
    response = bob_api.post(
        "/deals",
        {
            "customer_id": company.pk,
            "stage_id": stages["提案"].pk,
            "title": "案件",
            "contact_ids": [stranger.pk],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contact_ids"
    assert not Deal.objects.exists()


def test_it_changes_a_deal_on_the_version_read_and_answers_409_when_stale(bob_api, deal):
    response = bob_api.patch(f"/deals/{deal.pk}", {"version": 1, "amount": 1500000})
    assert response.status_code == 200 and response.json()["version"] == 2
    stale = bob_api.patch(f"/deals/{deal.pk}", {"amount": 9}, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 409
    assert stale.json()["current"]["amount"] == "1500000.00"
    assert bob_api.patch(f"/deals/{deal.pk}", {"amount": 9}).status_code == 422  # no version
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("1500000")


def test_it_moves_a_deal_and_keeps_the_stage_history(bob_api, bob, deal, stages):
    url = f"/deals/{deal.pk}/move"
    lost = bob_api.post(url, {"stage_id": stages["失注"].pk, "version": 1})
    assert lost.status_code == 422 and lost.json()["errors"][0]["field"] == "lost_reason"
    moved = bob_api.post(url, {"stage_id": stages["交渉"].pk, "version": 1})
    assert moved.status_code == 200
    assert (moved.json()["stage_id"], moved.json()["probability"]) == (stages["交渉"].pk, 80)
    stale = bob_api.post(url, {"stage_id": stages["受注"].pk, "version": 1})
    assert stale.status_code == 409 and stale.json()["current"]["stage_id"] == stages["交渉"].pk
    won = bob_api.post(url, {"stage_id": stages["受注"].pk}, HTTP_IF_MATCH='"2"')
    assert won.json()["closed_on"] == timezone.localdate().isoformat()
    history = bob_api.get(f"/deals/{deal.pk}/stage-changes").json()
    assert [(c["from_stage_id"], c["to_stage_id"]) for c in history] == [
        (None, stages["提案"].pk),
        (stages["提案"].pk, stages["交渉"].pk),
        (stages["交渉"].pk, stages["受注"].pk),
    ]
    assert history[-1]["changed_by_id"] == bob.pk


def test_it_lists_deals_with_filters_and_a_cursor(bob_api, alice, bob, company, stages):
    made = [make_deal(bob, company, stages["提案"], amount=Decimal(i * 1000)) for i in range(5)]
    mine = make_deal(bob, company, stages["受注"], owner=alice)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = bob_api.get("/deals", params).json()
        seen += [d["id"] for d in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [d.pk for d in [*made, mine]]
    won = bob_api.get("/deals", {"status": "won"}).json()["results"]
    assert [d["id"] for d in won] == [mine.pk]
    assert [d["id"] for d in bob_api.get("/deals", {"owner": alice.pk}).json()["results"]] == [
        mine.pk
    ]
    rich = bob_api.get("/deals", {"amount_min": 3000, "status": "open"}).json()["results"]
    assert [d["id"] for d in rich] == [made[3].pk, made[4].pk]
    assert bob_api.get("/deals", {"owner": "someone"}).status_code == 422


def test_it_forecasts_by_month_and_by_owner(bob_api, alice, bob, company, stages):
    soon = timezone.localdate().replace(day=1) + datetime.timedelta(days=40)
    make_deal(bob, company, stages["提案"], amount=Decimal("1000000"), expected_close_on=soon)
    make_deal(bob, company, stages["交渉"], amount=Decimal("2000000"), owner=alice)
    make_deal(bob, company, stages["受注"], amount=Decimal("7000000"))
    body = bob_api.get("/deals/forecast", {"by": "month", "months": 3}).json()
    assert body["total"] == {
        "count": 2,
        "money": [{"currency": "JPY", "value": "3000000", "weighted": "2000000"}],
    }
    rows = {r["key"]: r for r in body["rows"]}
    assert rows[soon.strftime("%Y-%m")]["money"][0]["weighted"] == "400000"
    assert rows["none"]["count"] == 1
    by_owner = bob_api.get("/deals/forecast", {"by": "owner"}).json()
    assert {r["key"]: r["money"][0]["value"] for r in by_owner["rows"]} == {
        str(bob.pk): "1000000",
        str(alice.pk): "2000000",
    }
    assert bob_api.get("/deals/forecast", {"start": "2026-13"}).status_code == 422


def test_it_deletes_into_the_trash(bob_api, deal):
    assert bob_api.delete(f"/deals/{deal.pk}").status_code == 204
    assert bob_api.get(f"/deals/{deal.pk}").status_code == 404
    assert Deal.objects.get(pk=deal.pk).deleted_at is not None


def test_another_team_and_read_only_users_are_kept_out(client, carol, dave, deal, stages):
    carol_api = ApiClient(client, issue_token(carol))
    for method, path, body in [
        ("GET", f"/deals/{deal.pk}", None),
        ("PATCH", f"/deals/{deal.pk}", {"version": 1, "title": "x"}),
        ("DELETE", f"/deals/{deal.pk}", None),
        ("POST", f"/deals/{deal.pk}/move", {"stage_id": stages["交渉"].pk, "version": 1}),
        ("GET", f"/deals/{deal.pk}/stage-changes", None),
    ]:
        assert carol_api.send(method, path, body).status_code == 404, (method, path)
    assert carol_api.get("/deals").json()["results"] == []
    assert carol_api.get("/deals/forecast").json()["total"]["count"] == 0
    dave_api = ApiClient(client, issue_token(dave, scopes=ApiToken.Scopes.READ))
    # A token made while Dave could still write keeps its scope, but his role decides.
    ApiToken.objects.filter(user=dave).update(scopes=ApiToken.Scopes.WRITE)
    assert dave_api.get(f"/deals/{deal.pk}").status_code == 200
    moved = dave_api.post(f"/deals/{deal.pk}/move", {"stage_id": stages["交渉"].pk, "version": 1})
    assert moved.status_code == 403
    assert DealStageChange.objects.filter(deal=deal).count() == 1
