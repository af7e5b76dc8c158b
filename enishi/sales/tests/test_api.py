"""Products, orders, contracts and renewals through /api/v1: money as strings, lines replaced
by PATCH, 409 with the current record, permissions as on the screens."""

import datetime

import pytest
from django.utils import timezone

from enishi.activities.models import Task
from enishi.api.models import ApiToken
from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.sales import services
from enishi.sales.models import Contract, Order, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(bob):
    return testing.make_customer(bob, name="佐藤 花子")


@pytest.fixture
def cleaning(alice):
    return services.product_create(
        actor=alice,
        data={"code": "AC-01", "name": "エアコン清掃", "unit_price": "12000.50", "tax_rate": 10},
    )


def new_order(customer, **extra):
    return {
        "customer_id": customer.pk,
        "ordered_on": "2026-04-01",
        "lines": [
            {"description": "清掃", "unit_price": "12000", "quantity": "2", "discount": "1000"},
            {"description": "お弁当", "unit_price": "1080", "quantity": 3, "tax_rate": 8},
        ],
        **extra,
    }


class TestProducts:
    def test_only_admins_add_and_change_products(self, alice_api, bob_api, cleaning):
        body = {"code": "BT-01", "name": "弁当", "unit_price": "980", "tax_rate": 8}
        assert bob_api.post("/products", body).status_code == 403
        response = alice_api.post("/products", body)
        assert response.status_code == 201
        made = response.json()
        assert made["unit_price"] == "980.00" and made["tax_rate"] == 8
        assert (
            bob_api.patch(f"/products/{made['id']}", {"version": 1, "name": "x"}).status_code == 403
        )
        response = alice_api.patch(
            f"/products/{made['id']}", {"name": "幕の内"}, HTTP_IF_MATCH='"1"'
        )
        assert response.status_code == 200 and response["ETag"] == '"2"'
        stale = alice_api.patch(f"/products/{made['id']}", {"version": 1, "name": "古い"})
        assert stale.status_code == 409 and stale.json()["current"]["name"] == "幕の内"

    def test_a_duplicate_code_and_a_bad_price_are_422_with_the_field(self, alice_api, cleaning):
        response = alice_api.post("/products", {"code": "AC-01", "name": "x", "unit_price": "1"})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "code"
        response = alice_api.post("/products", {"code": "Z", "name": "x", "unit_price": "-1"})
        assert response.json()["errors"][0]["field"] == "unit_price"
        assert Product.objects.count() == 1

    def test_discontinued_products_are_for_admins(self, alice_api, bob_api, alice, cleaning):
        old = services.product_create(
            actor=alice, data={"code": "OLD", "name": "廃番", "unit_price": 1, "is_active": False}
        )
        assert [p["code"] for p in bob_api.get("/products").json()["results"]] == ["AC-01"]
        assert bob_api.get(f"/products/{old.pk}").status_code == 404
        listed = alice_api.get("/products", {"active": "false"}).json()["results"]
        assert [p["code"] for p in listed] == ["OLD"]
        assert alice_api.get(f"/products/{old.pk}").json()["is_active"] is False


class TestOrders:
    def test_it_adds_an_order_and_answers_money_as_strings(self, bob_api, bob, customer):
        response = bob_api.post("/orders", new_order(customer))
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["subtotal"], body["tax"], body["total"]) == ("26240", "2559", "28799")
        assert body["tax_by_rate"] == [
            {"rate": 10, "taxable": "23000", "tax": "2300"},
            {"rate": 8, "taxable": "3240", "tax": "259"},
        ]
        assert [line["amount"] for line in body["lines"]] == ["23000", "3240"]
        assert body["lines"][0]["unit_price"] == "12000.00"
        assert body["number"].startswith("O-2026-") and body["owner_id"] == bob.pk
        assert response["ETag"] == '"1"'
        entry = HistoryEntry.objects.get(model="sales.order")
        assert entry.via == HistoryEntry.Via.API

    def test_a_product_fills_in_its_line(self, bob_api, customer, cleaning):
        body = new_order(customer, lines=[{"product_id": cleaning.pk, "quantity": "1.5"}])
        line = bob_api.post("/orders", body).json()["lines"][0]
        assert (line["description"], line["unit_price"], line["amount"]) == (
            "エアコン清掃",
            "12000.50",
            "18001",
        )
        bad = bob_api.post("/orders", new_order(customer, lines=[{"product_id": 987654}]))
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lines.0.product_id"

    @pytest.mark.parametrize(
        ("line", "field"),
        [
            ({"description": "x", "unit_price": "100", "quantity": "-1"}, "lines.1.quantity"),
            ({"description": "x", "unit_price": "1e20"}, "lines.1.unit_price"),
            ({"description": "x", "unit_price": "100", "discount": "101"}, "lines.1.discount"),
            ({"unit_price": "100"}, "lines.1.description"),
            ({"description": "x", "unit_price": "NaN"}, "lines.1.unit_price"),
            ({"description": "x", "unit_price": "1", "tax_rate": 5}, "lines.1.tax_rate"),
        ],
    )
    def test_a_bad_line_is_422_naming_it(self, client, bob, customer, line, field):
        api = ApiClient(client, issue_token(bob), language="en")
        body = new_order(customer)
        body["lines"][1] = line
        response = api.post("/orders", body)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert not Order.objects.exists()

    def test_delivery_before_the_order_date_is_refused(self, bob_api, customer):
        response = bob_api.post("/orders", new_order(customer, delivered_on="2026-03-31"))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "delivered_on"

    def test_patch_replaces_lines_and_a_stale_version_gets_409_with_the_current(
        self, bob_api, customer
    ):
        made = bob_api.post("/orders", new_order(customer)).json()
        path = f"/orders/{made['id']}"
        response = bob_api.patch(
            path,
            {
                "version": 1,
                "status": "delivered",
                "lines": [{"description": "追加", "unit_price": "500"}],
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert [line["description"] for line in body["lines"]] == ["追加"]
        assert (body["total"], body["version"], body["status"]) == ("550", 2, "delivered")
        response = bob_api.patch(path, {"version": 1, "note": "古い版"})
        assert response.status_code == 409
        assert response.json()["current"]["version"] == 2
        assert response.json()["current"]["lines"][0]["description"] == "追加"
        assert bob_api.patch(path, {"note": "x"}).status_code == 422  # no version
        only_note = bob_api.patch(path, {"note": "メモ"}, HTTP_IF_MATCH='"2"').json()
        assert [line["description"] for line in only_note["lines"]] == ["追加"]
        assert bob_api.patch(path, {"version": 3, "lines": None}).status_code == 422

    def test_list_filters_and_pages_by_cursor(self, bob_api, bob, carol, customer):
        for day in (1, 2, 3, 4, 5):
            bob_api.post("/orders", new_order(customer, ordered_on=f"2026-04-0{day}"))
        carols = testing.make_customer(carol, name="他課")
        services.order_create(
            actor=carol, customer=carols, data={}, lines=[{"description": "x", "unit_price": 1}]
        )
        seen, cursor = [], None
        while True:
            params = {
                "limit": 2,
                "ordered_from": "2026-04-02",
                **({"cursor": cursor} if cursor else {}),
            }
            body = bob_api.get("/orders", params).json()
            seen += [o["ordered_on"] for o in body["results"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == ["2026-04-02", "2026-04-03", "2026-04-04", "2026-04-05"]
        assert bob_api.get("/orders", {"customer_id": carols.pk}).json()["results"] == []
        assert len(bob_api.get("/orders", {"q": "お弁当"}).json()["results"]) == 5

    def test_delete_moves_to_the_trash(self, bob_api, customer):
        made = bob_api.post("/orders", new_order(customer)).json()
        assert bob_api.delete(f"/orders/{made['id']}").status_code == 204
        assert bob_api.get(f"/orders/{made['id']}").status_code == 404
        assert Order.objects.get().deleted_at is not None

    def test_read_only_users_and_tokens_cannot_write(self, client, alice, bob, dave, customer):
        made = services.order_create(
            actor=bob, customer=customer, data={}, lines=[{"description": "x", "unit_price": 1}]
        )
        for api in (
            ApiClient(client, issue_token(dave, scopes=ApiToken.Scopes.READ)),
            ApiClient(client, issue_token(alice, scopes=ApiToken.Scopes.READ)),
        ):
            assert api.get(f"/orders/{made.pk}").status_code == 200
            assert api.post("/orders", new_order(customer)).status_code == 403
            assert api.patch(f"/orders/{made.pk}", {"version": 1, "note": "x"}).status_code == 403
            assert api.delete(f"/orders/{made.pk}").status_code == 403
        assert Order.objects.count() == 1


class TestContracts:
    def test_it_adds_a_contract_whose_renewal_makes_a_task(self, bob_api, bob, customer):
        renews = timezone.localdate() + datetime.timedelta(days=15)
        response = bob_api.post(
            "/contracts",
            {
                "customer_id": customer.pk,
                "plan": "保守",
                "starts_on": "2025-01-01",
                "renews_on": renews.isoformat(),
                "amount": "60000",
            },
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["amount"] == "60000" and body["owner_id"] == bob.pk
        task = Task.objects.get(contract_id=body["id"])
        assert task.assignee == bob
        renewals = bob_api.get("/renewals", {"days": 30}).json()["results"]
        assert [
            (r["id"], r["reminder"], r["reminder_task_id"], r["overdue"]) for r in renewals
        ] == [(body["id"], "open", task.pk, False)]

    def test_rules_patch_409_cancel_and_delete(self, bob_api, customer):
        base = {"customer_id": customer.pk, "plan": "月額", "starts_on": "2026-01-01"}
        bad = bob_api.post("/contracts", {**base, "ends_on": "2025-12-31"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ends_on"
        made = bob_api.post("/contracts", base).json()
        path = f"/contracts/{made['id']}"
        assert bob_api.patch(path, {"version": 1, "amount": "5000"}).json()["amount"] == "5000"
        stale = bob_api.patch(path, {"version": 1, "amount": "1"})
        assert stale.status_code == 409 and stale.json()["current"]["amount"] == "5000"
        no_reason = bob_api.post(
            f"{path}/cancel", {"version": 2, "cancelled_on": "2026-06-30", "reason": ""}
        )
        assert no_reason.status_code == 422
        assert no_reason.json()["errors"][0]["field"] == "reason"
        cancelled = bob_api.post(
            f"{path}/cancel", {"version": 2, "cancelled_on": "2026-06-30", "reason": "移転"}
        )
        assert cancelled.status_code == 200 and cancelled.json()["cancelled_on"] == "2026-06-30"
        listed = bob_api.get("/contracts", {"state": "cancelled"}).json()["results"]
        assert [c["id"] for c in listed] == [made["id"]]
        assert bob_api.get("/contracts", {"state": "active"}).json()["results"] == []
        assert bob_api.delete(path).status_code == 204
        assert Contract.objects.get().deleted_at is not None
