"""Orders and contracts in a real browser: an order with a standard-rate and a reduced-rate line
added from the karte, and a contract whose renewal reminder lands in "my tasks"."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from enishi.activities.models import Task
from enishi.core import testing
from enishi.sales import services
from enishi.sales.models import Contract, Order

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def hanako(alice):
    return testing.make_customer(alice, name="佐藤 花子", name_kana="サトウ ハナコ")


@pytest.fixture
def cleaning(alice):
    return services.product_create(
        actor=alice,
        data={"code": "AC-01", "name": "エアコン清掃", "unit_price": "12000", "tax_rate": 10},
    )


def test_add_an_order_with_two_tax_rates_from_the_karte(page, alice, hanako, cleaning):
    log_in(page)
    page.goto(f"/customers/{hanako.pk}/")
    figure = page.locator("[data-figure=lifetime_revenue]")
    expect(figure).to_have_text("¥0")
    page.click(f"#orders a[href='/sales/orders/new/?customer={hanako.pk}']")
    page.wait_for_url(re.compile(r"/sales/orders/new/"))

    # Choosing a product fills in its name, price and tax rate.
    page.select_option("#id_line-0-product", str(cleaning.pk))
    expect(page.locator("#id_line-0-description")).to_have_value("エアコン清掃")
    expect(page.locator("#id_line-0-unit_price")).to_have_value("12000")
    expect(page.locator("#id_line-0-tax_rate")).to_have_value("10")
    page.fill("#id_line-0-quantity", "2")
    page.fill("#id_line-1-description", "お弁当")
    page.fill("#id_line-1-unit_price", "1,080")
    page.fill("#id_line-1-quantity", "3")
    page.select_option("#id_line-1-tax_rate", "8")

    # One more row (htmx swaps the lines in place); what was typed stays.
    page.click("button[value=add_line]")
    expect(page.locator(".order-line")).to_have_count(4)
    expect(page.locator("#id_line-1-description")).to_have_value("お弁当")

    page.click("button[value=preview]")
    expect(page.locator(".order-preview #order-total")).to_have_text("¥29,899")
    assert not Order.objects.exists()

    page.click("button.primary[value=save]")
    page.wait_for_url(re.compile(r"/sales/orders/\d+/$"))
    order = Order.objects.get()
    expect(page.locator("#order-subtotal")).to_have_text("¥27,240")
    expect(page.locator("#order-tax")).to_have_text("¥2,659")  # 2,400 + 259 (259.2 floored)
    expect(page.locator("#order-total")).to_have_text("¥29,899")
    expect(page.locator("tr.by-rate[data-rate='8']")).to_contain_text("¥3,240")
    expect(page.locator("tr.by-rate[data-rate='8']")).to_contain_text("¥259")
    assert (order.customer, order.lines.count(), order.total) == (hanako, 2, 29899)

    page.click(f"a[href='/customers/{hanako.pk}/']")
    expect(figure).to_have_text("¥29,899")


def test_a_contract_renewing_soon_puts_a_reminder_in_my_tasks(phone_page, alice, hanako):
    page = phone_page
    renews = timezone.localdate() + datetime.timedelta(days=20)
    log_in(page)
    page.goto(f"/customers/{hanako.pk}/")
    page.click(f"#contracts a[href='/sales/contracts/new/?customer={hanako.pk}']")
    page.fill("#id_plan", "年間保守プラン")
    page.fill("#id_starts_on", "2025-07-01")
    page.fill("#id_renews_on", renews.isoformat())
    page.fill("#id_amount", "120,000")
    page.click("form.contract-form button.primary")
    page.wait_for_url(re.compile(r"/sales/contracts/\d+/$"))
    contract = Contract.objects.get()
    assert contract.renewal_task_for == renews and contract.amount == 120000

    page.goto("/tasks/")
    reminder = page.locator("li.task", has_text="年間保守プラン")
    expect(reminder).to_contain_text(renews.isoformat())
    assert Task.objects.get(contract=contract).assignee == alice

    page.goto("/sales/renewals/")
    expect(page.locator(f"tr[data-contract='{contract.pk}']")).to_have_attribute(
        "data-task-state", "open"
    )
