"""The sales screens through Django's test client: forms keep what was typed, conflicts answer
409, permissions answer 404, lists stay at a constant number of queries."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from enishi.activities.models import Task
from enishi.core import testing
from enishi.sales import services
from enishi.sales.models import Contract, Order, Product

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = timezone.localdate


@pytest.fixture
def english(alice, bob):
    for user in (alice, bob):
        user.language = "en"
        user.save()


@pytest.fixture
def customer(alice, bob):
    return testing.make_customer(alice, name="山田 太郎", owner=bob)


@pytest.fixture
def cleaning(alice):
    return services.product_create(
        actor=alice,
        data={"code": "AC-01", "name": "エアコン清掃", "unit_price": "12000", "tax_rate": 10},
    )


def line_data(rows: list[dict], extra_blank: int = 1) -> dict:
    data = {"line_count": len(rows) + extra_blank}
    for i, row in enumerate(rows):
        for name, value in row.items():
            data[f"line-{i}-{name}"] = value
    for i in range(len(rows), len(rows) + extra_blank):
        data.update({f"line-{i}-quantity": "1", f"line-{i}-discount": "0"})
    return data


def order_post(rows, **fields):
    data = {"ordered_on": "2026-04-01", "status": "received", "action": "save", **fields}
    return {**data, **line_data(rows)}


def create_url(customer) -> str:
    return f"{reverse('sales:order_create')}?customer={customer.pk}"


class TestOrderForm:
    def test_it_adds_an_order_with_a_standard_and_a_reduced_rate_line(
        self, bob_client, customer, cleaning
    ):
        page = bob_client.get(create_url(customer))
        assert page.status_code == 200
        assert 'name="line-2-description"' in page.content.decode()  # three rows to start
        response = bob_client.post(
            create_url(customer),
            order_post(
                [
                    {"product": cleaning.pk, "quantity": "２", "discount": "1,000"},
                    {
                        "description": "お弁当",
                        "unit_price": "¥1,080",
                        "quantity": "3",
                        "tax_rate": "8",
                    },
                ],
                ordered_on="令和8年4月1日",
            ),
        )
        order = Order.objects.get()
        assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
        assert (order.subtotal, order.tax, order.total) == (D("26240"), D("2559"), D("28799"))
        assert order.ordered_on == datetime.date(2026, 4, 1) and order.customer == customer
        body = bob_client.get(order.get_absolute_url()).content.decode()
        assert 'data-total="28799"' in body and "¥28,799" in body
        assert 'data-rate="10" data-taxable="23000" data-rate-tax="2300"' in body
        assert 'data-rate="8" data-taxable="3240" data-rate-tax="259"' in body

    def test_bad_input_keeps_every_typed_line_and_saves_nothing(
        self, bob_client, english, customer, cleaning
    ):
        rows = [
            {"description": "作業費", "unit_price": "5000", "quantity": "1"},
            {"quantity": "1", "discount": "0"},  # a blank row in between is dropped
            {"description": "部品", "unit_price": "800", "quantity": "-2"},
        ]
        response = bob_client.post(
            create_url(customer),
            order_post(rows, delivered_on="2026-03-31", note="急ぎ"),
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert "Line 2: the quantity must be more than 0." in body
        assert "The delivery date cannot be before the order date." in body
        assert 'name="line-0-description" value="作業費"' in body
        assert 'name="line-1-description" value="部品"' in body
        assert 'name="line-1-quantity" value="-2"' in body
        assert "急ぎ" in body
        assert not Order.objects.exists()

    def test_a_form_field_error_and_a_rule_error_show_together(self, bob_client, english, customer):
        response = bob_client.post(
            create_url(customer),
            order_post([{"description": "x", "unit_price": "abc"}], ordered_on="not a date"),
        )
        body = response.content.decode()
        assert response.status_code == 400
        assert 'data-field="ordered_on"' in body and "Enter a number, such as 1200." in body

    def test_an_order_without_lines_is_refused(self, bob_client, english, customer):
        response = bob_client.post(create_url(customer), order_post([]))
        assert response.status_code == 400 and "Add at least one line." in response.content.decode()

    def test_add_line_gives_one_more_row_and_checks_nothing_yet(self, bob_client, customer):
        rows = [{"description": "作業費", "unit_price": "abc"}]
        data = {**order_post(rows), "action": "add_line"}
        data["line_count"] = 3
        response = bob_client.post(create_url(customer), data)
        body = response.content.decode()
        assert response.status_code == 200
        assert 'name="line_count" value="4"' in body
        assert 'name="line-0-unit_price" value="abc"' in body
        assert "field-errors" not in body
        assert not Order.objects.exists()

    def test_calculate_shows_the_totals_without_saving(self, bob_client, customer, cleaning):
        data = {**order_post([{"product": cleaning.pk, "quantity": "3"}]), "action": "preview"}
        response = bob_client.post(create_url(customer), data)
        body = response.content.decode()
        assert response.status_code == 200
        assert 'data-total="39600"' in body and 'data-amount="36000"' in body
        assert not Order.objects.exists()

    def test_editing_replaces_the_lines(self, bob_client, bob, customer, cleaning):
        order = services.order_create(
            actor=bob, customer=customer, data={}, lines=[{"product": cleaning}]
        )
        url = reverse("sales:order_edit", args=[order.pk])
        page = bob_client.get(url).content.decode()
        assert 'name="line-0-unit_price" value="12000"' in page
        response = bob_client.post(
            url,
            {
                **order_post([{"description": "点検", "unit_price": "3000", "tax_rate": "10"}]),
                "version": 1,
            },
        )
        assert response.status_code == 302
        order.refresh_from_db()
        assert [ln.description for ln in order.lines.all()] == ["点検"]
        assert (order.total, order.version) == (D("3300"), 2)

    def test_a_stale_edit_answers_409_and_keeps_the_input(
        self, bob_client, alice, bob, customer, cleaning
    ):
        order = services.order_create(
            actor=bob, customer=customer, data={}, lines=[{"product": cleaning}]
        )
        services.order_update(actor=alice, order=order, data={"note": "先"}, version=1)
        response = bob_client.post(
            reverse("sales:order_edit", args=[order.pk]),
            {**order_post([{"description": "後の行", "unit_price": "1"}], note="後"), "version": 1},
        )
        body = response.content.decode()
        assert response.status_code == 409
        assert 'value="後の行"' in body and "後</textarea>" in body
        assert 'name="version" value="2"' in body
        order.refresh_from_db()
        assert order.note == "先" and order.lines.get().description == "エアコン清掃"

    def test_deleting_goes_to_the_trash_and_back_to_the_karte(self, bob_client, bob, customer):
        order = services.order_create(
            actor=bob, customer=customer, data={}, lines=[{"description": "x", "unit_price": 1}]
        )
        response = bob_client.post(reverse("sales:order_delete", args=[order.pk]))
        assert response["Location"] == customer.get_absolute_url()
        assert bob_client.get(order.get_absolute_url()).status_code == 404

    def test_the_form_needs_a_karte_the_user_may_change(self, client, bob, carol, dave, customer):
        client.force_login(bob)
        assert client.get(reverse("sales:order_create")).status_code == 404
        carols = testing.make_customer(carol, name="キャロルの顧客")
        assert client.get(create_url(carols)).status_code == 404
        client.force_login(dave)
        assert client.get(create_url(customer)).status_code == 404
        assert client.post(create_url(customer), order_post([])).status_code == 404


class TestOrderList:
    def test_it_filters_and_sums_in_sql(self, bob_client, bob, carol, customer):
        lines = [{"description": "x", "unit_price": "1000"}]
        for day in (1, 2, 3):
            services.order_create(
                actor=bob,
                customer=customer,
                data={"ordered_on": datetime.date(2026, 4, day)},
                lines=lines,
            )
        services.order_create(
            actor=bob,
            customer=customer,
            data={"status": Order.Status.CANCELLED, "ordered_on": datetime.date(2026, 4, 2)},
            lines=lines,
        )
        carols = testing.make_customer(carol, name="他課")
        services.order_create(actor=carol, customer=carols, data={}, lines=lines)
        response = bob_client.get(reverse("sales:order_list"), {"from": "2026-04-02"})
        body = response.content.decode()
        assert 'data-order-count="3" data-order-total="2200"' in body
        assert body.count("data-order=") == 3
        assert "他課" not in body

    def test_its_queries_do_not_grow_with_the_orders(
        self, bob_client, bob, customer, django_assert_max_num_queries
    ):
        for i in range(30):
            services.order_create(
                actor=bob,
                customer=customer,
                data={},
                lines=[{"description": f"品{i}", "unit_price": 1}],
            )
        with django_assert_max_num_queries(12):
            response = bob_client.get(reverse("sales:order_list"))
        assert response.content.decode().count("data-order=") == 30


class TestProducts:
    def test_everyone_sees_products_on_sale_and_only_admins_change_them(
        self, client, alice, bob, dave, cleaning
    ):
        old = services.product_create(
            actor=alice, data={"code": "OLD", "name": "廃番", "unit_price": 1, "is_active": False}
        )
        for user in (bob, dave):
            client.force_login(user)
            body = client.get(reverse("sales:product_list")).content.decode()
            assert "エアコン清掃" in body and "廃番" not in body
            assert client.get(reverse("sales:product_create")).status_code == 404
            assert client.get(reverse("sales:product_edit", args=[cleaning.pk])).status_code == 404
        client.force_login(alice)
        assert "廃番" in client.get(reverse("sales:product_list")).content.decode()
        assert client.get(reverse("sales:product_edit", args=[old.pk])).status_code == 200

    def test_an_admin_adds_and_edits_a_product(self, alice_client, alice, english, cleaning):
        url = reverse("sales:product_create")
        data = {"code": "AC-01", "name": "重複", "unit_price": "100", "tax_rate": "10"}
        response = alice_client.post(url, data)
        assert response.status_code == 400
        assert "Another product already has the code AC-01." in response.content.decode()
        response = alice_client.post(
            url, {**data, "code": "BT-01", "name": "弁当", "tax_rate": "8", "is_active": "on"}
        )
        assert response.status_code == 302
        made = Product.objects.get(code="BT-01")
        assert (made.tax_rate, made.unit_price, made.is_active) == (8, D("100"), True)
        edit = reverse("sales:product_edit", args=[made.pk])
        response = alice_client.post(
            edit, {**data, "code": "BT-01", "unit_price": "-5", "version": 1}
        )
        assert response.status_code == 400
        services.product_update(actor=alice, product=made, data={"name": "先"}, version=1)
        response = alice_client.post(edit, {**data, "code": "BT-01", "version": 1})
        assert response.status_code == 409


class TestContracts:
    def contract_data(self, **data):
        return {
            "plan": "年間保守",
            "starts_on": "2026-01-01",
            "period": "year",
            "amount": "120,000",
            **data,
        }

    def test_a_contract_renewing_soon_puts_a_task_in_my_tasks(self, bob_client, bob, customer):
        renews = TODAY() + datetime.timedelta(days=20)
        url = f"{reverse('sales:contract_create')}?customer={customer.pk}"
        response = bob_client.post(
            url, self.contract_data(renews_on=renews.isoformat(), owner=bob.pk)
        )
        contract = Contract.objects.get()
        assert response.status_code == 302 and response["Location"] == contract.get_absolute_url()
        assert contract.amount == D("120000")
        task = Task.objects.get(contract=contract)
        assert task.assignee == bob
        assert task.title in bob_client.get(reverse("activities:my_tasks")).content.decode()
        assert task.title in bob_client.get(contract.get_absolute_url()).content.decode()

    def test_dates_in_the_wrong_order_keep_the_input(self, bob_client, english, customer):
        url = f"{reverse('sales:contract_create')}?customer={customer.pk}"
        response = bob_client.post(url, self.contract_data(ends_on="2025-12-31", note="メモ"))
        body = response.content.decode()
        assert response.status_code == 400
        assert "The end cannot be before the start." in body and "メモ" in body
        assert not Contract.objects.exists()

    def test_edit_conflict_cancel_and_delete(self, bob_client, alice, bob, english, customer):
        contract = services.contract_create(
            actor=bob,
            customer=customer,
            data={"plan": "月額", "starts_on": datetime.date(2026, 1, 1)},
        )
        edit = reverse("sales:contract_edit", args=[contract.pk])
        assert bob_client.get(edit).status_code == 200
        services.contract_update(actor=alice, contract=contract, data={"note": "先"}, version=1)
        response = bob_client.post(edit, self.contract_data(plan="後", version=1))
        assert response.status_code == 409 and 'value="後"' in response.content.decode()
        cancel = reverse("sales:contract_cancel", args=[contract.pk])
        response = bob_client.post(cancel, {"cancelled_on": "2026-05-31", "version": 2})
        assert response.status_code == 400
        response = bob_client.post(
            cancel, {"cancelled_on": "2026-05-31", "cancellation_reason": "予算", "version": 2}
        )
        assert response.status_code == 302
        contract.refresh_from_db()
        assert contract.cancelled_on == datetime.date(2026, 5, 31) and contract.deleted_at is None
        listed = bob_client.get(reverse("sales:contract_list"), {"state": "cancelled"})
        assert f'data-contract="{contract.pk}"' in listed.content.decode()
        bob_client.post(reverse("sales:contract_delete", args=[contract.pk]))
        assert bob_client.get(contract.get_absolute_url()).status_code == 404


class TestRenewalsPage:
    def test_it_lists_due_and_overdue_renewals_with_their_reminders(
        self, bob_client, bob, carol, customer, django_assert_max_num_queries
    ):
        today = TODAY()
        start = today - datetime.timedelta(days=400)
        soon = services.contract_create(
            actor=bob,
            customer=customer,
            data={
                "plan": "近い更新",
                "starts_on": start,
                "renews_on": today + datetime.timedelta(days=5),
            },
        )
        late = services.contract_create(
            actor=bob,
            customer=customer,
            data={
                "plan": "過ぎた更新",
                "starts_on": start,
                "renews_on": today - datetime.timedelta(days=3),
            },
        )
        services.contract_create(
            actor=bob,
            customer=customer,
            data={
                "plan": "遠い更新",
                "starts_on": start,
                "renews_on": today + datetime.timedelta(days=200),
            },
        )
        carols = testing.make_customer(carol, name="他課の顧客")
        services.contract_create(
            actor=carol,
            customer=carols,
            data={
                "plan": "他課の更新",
                "starts_on": start,
                "renews_on": today + datetime.timedelta(days=6),
            },
        )
        for i in range(10):
            services.contract_create(
                actor=bob,
                customer=customer,
                data={
                    "plan": f"更新{i}",
                    "starts_on": start,
                    "renews_on": today + datetime.timedelta(days=10 + i),
                },
            )
        with django_assert_max_num_queries(12):
            response = bob_client.get(reverse("sales:renewals"))
        body = response.content.decode()
        assert "近い更新" in body and "過ぎた更新" in body
        assert "遠い更新" not in body and "他課の更新" not in body
        assert re.search(rf'data-contract="{soon.pk}" data-task-state="open"', body)
        assert re.search(rf'data-contract="{late.pk}" data-task-state="open"', body)
        wider = bob_client.get(reverse("sales:renewals"), {"days": 365}).content.decode()
        assert "遠い更新" in wider


class TestVisibility:
    def test_another_teams_orders_and_contracts_do_not_exist_and_read_only_cannot_change(
        self, client, bob, carol, dave, customer
    ):
        carols = testing.make_customer(carol, name="他課の顧客")
        lines = [{"description": "x", "unit_price": 1}]
        hidden = services.order_create(actor=carol, customer=carols, data={}, lines=lines)
        ours = services.order_create(actor=bob, customer=customer, data={}, lines=lines)
        contract = services.contract_create(
            actor=carol, customer=carols, data={"plan": "他課", "starts_on": TODAY()}
        )
        client.force_login(bob)
        for name, pk in [
            ("sales:order_detail", hidden.pk),
            ("sales:order_edit", hidden.pk),
            ("sales:contract_detail", contract.pk),
            ("sales:contract_cancel", contract.pk),
        ]:
            assert client.get(reverse(name, args=[pk])).status_code == 404
        assert client.post(reverse("sales:order_delete", args=[hidden.pk])).status_code == 404
        client.force_login(dave)
        page = client.get(ours.get_absolute_url())
        assert page.status_code == 200
        assert reverse("sales:order_edit", args=[ours.pk]) not in page.content.decode()
        assert client.get(reverse("sales:order_edit", args=[ours.pk])).status_code == 404
        assert client.post(reverse("sales:order_delete", args=[ours.pk])).status_code == 404
        assert Order.objects.filter(deleted_at__isnull=True).count() == 2


class TestListQueries:
    def test_contract_and_product_lists_stay_constant(
        self, alice_client, alice, customer, django_assert_max_num_queries
    ):
        for i in range(25):
            services.product_create(
                actor=alice, data={"code": f"P{i:02d}", "name": f"商品{i}", "unit_price": 100}
            )
            services.contract_create(
                actor=alice,
                customer=customer,
                data={"plan": f"プラン{i}", "starts_on": TODAY(), "owner": alice},
            )
        with django_assert_max_num_queries(10):
            body = alice_client.get(reverse("sales:contract_list")).content.decode()
        assert body.count("data-contract=") == 25
        with django_assert_max_num_queries(10):
            body = alice_client.get(reverse("sales:product_list")).content.decode()
        assert body.count("data-product=") == 25


def test_the_renewals_page_makes_reminders_that_came_due(bob_client, bob, customer, settings):
    settings.ENISHI_RENEWAL_NOTICE_DAYS = 60
    contract = services.contract_create(
        actor=bob,
        customer=customer,
        data={
            "plan": "先の更新",
            "starts_on": TODAY(),
            "renews_on": TODAY() + datetime.timedelta(days=90),
        },
    )
    assert not Task.objects.filter(contract=contract).exists()
    settings.ENISHI_RENEWAL_NOTICE_DAYS = 120  # as if a month had passed
    bob_client.get(reverse("sales:renewals"))
    assert Task.objects.get(contract=contract).assignee == bob
