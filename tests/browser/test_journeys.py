"""The main journeys of the foundation, as a person drives them in a real browser."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from enishi.activities.models import Task
from enishi.core import testing
from enishi.customers.models import Customer

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def taro(alice):
    company = testing.make_company(
        alice, name="株式会社山田商事", name_kana="ヤマダショウジ", phone="03-3581-0101"
    )
    return testing.make_customer(
        alice,
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        mobile="090-1234-5678",
        company=company,
        email="taro@example.com",
        postal_code="100-0001",
        street="1-1",
    )


def test_log_in_and_find_someone_by_kana_and_by_phone_in_another_format(page, alice, taro):
    log_in(page)
    search = page.locator("#topsearch-q")
    search.fill("やまだたろう")
    hit = page.locator("#topsearch-results .search-hit", has_text="山田 太郎")
    expect(hit).to_be_visible()
    search.fill("+81 90 1234 5678")
    expect(hit).to_be_visible()
    hit.click()
    expect(page.locator("h1")).to_contain_text("山田 太郎")
    expect(page.locator("a[href='tel:+819012345678']")).to_be_visible()


def test_open_a_karte_from_the_list(page, alice, taro):
    log_in(page)
    page.click("nav.mainnav >> text=顧客")
    page.click("table.list >> text=山田 太郎")
    expect(page.locator(".karte-head")).to_contain_text("株式会社山田商事")
    expect(page.locator(".facts-grid")).to_contain_text("〒100-0001")


def test_create_a_customer_fix_a_validation_error_and_see_the_karte(page, alice):
    log_in(page)
    page.goto("/customers/new/?kind=person")
    page.fill("#id_name", "佐藤 花子")
    page.fill("#id_name_kana", "さとう はなこ")
    page.fill("#id_phone", "1234-5678")
    page.fill("#id_postal_code", "100-0001")
    page.locator("#id_postal_code").dispatch_event("change")
    expect(page.locator("#id_prefecture")).to_have_value("東京都")
    expect(page.locator("#id_city")).to_have_value("千代田区")
    page.click("button:has-text('保存')")
    error = page.locator("[data-field=phone] .field-errors")
    expect(error).to_contain_text("市外局番")
    expect(page.locator("#id_name")).to_have_value("佐藤 花子")
    assert Customer.objects.count() == 0
    page.fill("#id_phone", "03-1234-5678")
    page.click("button:has-text('保存')")
    expect(page.locator("h1")).to_contain_text("佐藤 花子")
    expect(page.locator(".karte-head .kana")).to_have_text("サトウ ハナコ")
    assert Customer.objects.get().phone_e164 == "+81312345678"


def test_log_a_call_with_a_next_action_on_a_phone_and_complete_the_task(phone_page, alice, taro):
    page = phone_page
    log_in(page)
    page.goto(f"/customers/{taro.pk}/")
    page.click(".karte-actions >> text=対応を記録")
    form = page.locator("#log-form")
    form.locator("label.chip", has_text="訪問").first.click()
    form.locator("[name=subject]").fill("エアコン点検")
    form.locator("[name=body]").fill("室外機の異音あり。部品交換を提案。")
    form.locator("[name=next_action]").fill("部品の見積を送る")
    due = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    form.locator("[name=next_action_due]").fill(due)
    form.locator("button[type=submit]").click()
    expect(page.locator(".timeline")).to_contain_text("エアコン点検")
    expect(page.locator(".tasks-card")).to_contain_text("部品の見積を送る")
    page.goto("/tasks/")
    task = page.locator("li.task", has_text="部品の見積を送る")
    task.locator("button.check").click()
    expect(page.locator("li.task.done", has_text="部品の見積を送る")).to_be_visible()
    assert Task.objects.get().done_at is not None


def test_print_the_karte_on_one_a4_page(page, alice, taro):
    for i in range(25):
        testing.log_call(
            alice, taro, subject=f"定期連絡 {i}", body="近況を伺った。特に問題なし。" * 3
        )
    log_in(page)
    page.goto(f"/customers/{taro.pk}/?print=1")
    expect(page.locator(".topbar")).to_be_hidden()
    page.emulate_media(media="print")
    expect(page.locator("#log-form")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=False)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the karte printed on {pages} pages"
