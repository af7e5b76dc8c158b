"""Inquiries in a real browser: from a karte, record an inquiry, answer it, resolve and close it."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from enishi.core import testing
from enishi.inquiries import services
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def hanako(alice):
    # Browser tests flush the database between tests, default categories included.
    InquiryCategory.objects.get_or_create(name="不具合・故障")
    return testing.make_customer(alice, name="佐藤 花子", name_kana="サトウ ハナコ")


def test_record_answer_resolve_and_close_an_inquiry(page, alice, hanako):
    log_in(page)
    page.goto(f"/customers/{hanako.pk}/")
    expect(page.locator("h1")).to_contain_text("佐藤 花子")

    page.goto(f"/inquiries/new/?customer={hanako.pk}")
    page.select_option("#id_channel", "email")
    page.select_option("#id_category", label="不具合・故障")
    page.fill("#id_subject", "エアコンから異音")
    page.fill("#id_content", "運転開始時にカタカタ音がする")
    page.click("form.inquiry-form button[type=submit]")
    page.wait_for_url(re.compile(r"/inquiries/\d+/$"))
    article = page.locator("article.inquiry")
    expect(article).to_have_attribute("data-status", "new")
    expect(page.locator("h1")).to_have_text("エアコンから異音")
    expect(page.locator(".inq-karte-link")).to_have_attribute("href", f"/customers/{hanako.pk}/")

    # First answer: the thread shows it with its author; the inquiry is now being worked on.
    page.fill("#id_body", "ご連絡ありがとうございます。明日伺います。")
    page.click("#answer-form button[type=submit]")
    answer = page.locator(".inq-answer[data-author=alice]")
    expect(answer).to_contain_text("明日伺います")
    expect(answer.locator(".inq-author")).to_have_text("有栖 アリス")
    expect(article).to_have_attribute("data-status", "in_progress")
    expect(page.locator("[data-first-response]")).not_to_have_attribute("data-first-response", "")

    # Answer and set the status in one go.
    page.fill("#id_body", "部品を交換し、直りました。")
    page.select_option("#id_status", "resolved")
    page.click("#answer-form button[type=submit]")
    expect(article).to_have_attribute("data-status", "resolved")
    expect(page.locator(".inq-answer")).to_have_count(2)
    expect(page.locator(".inq-answer").last).to_contain_text("直りました")

    # Close with the customer's satisfaction (offered only once resolved or closed).
    satisfaction = page.locator("#change_satisfaction")
    expect(satisfaction).to_be_visible()
    page.select_option("#change_status", "in_progress")
    expect(satisfaction).to_be_hidden()
    page.select_option("#change_status", "closed")
    page.select_option("#change_satisfaction", "4")
    page.click("#change-form button[type=submit]")
    expect(article).to_have_attribute("data-status", "closed")
    expect(page.locator("[data-satisfaction]")).to_have_attribute("data-satisfaction", "4")

    # A closed inquiry offers no answer form, only the way to reopen it.
    expect(page.locator("[data-closed]")).to_be_visible()
    expect(page.locator("#answer-form")).to_have_count(0)
    inquiry = Inquiry.objects.get()
    assert (inquiry.status, inquiry.satisfaction) == ("closed", 4)
    assert inquiry.first_response_at and inquiry.resolved_at and inquiry.closed_at
    assert InquiryAnswer.objects.filter(author=alice).count() == 2


def test_an_answer_form_left_open_on_a_closed_inquiry_is_refused(page, alice, hanako):
    inquiry = services.inquiry_create(actor=alice, customer=hanako, subject="請求書の件")
    log_in(page)
    page.goto(f"/inquiries/{inquiry.pk}/")
    page.fill("#id_body", "遅れて書いた回答")
    # Meanwhile someone closes it.
    services.inquiry_update(actor=alice, inquiry=inquiry, data={"status": "closed"}, version=1)
    page.click("#answer-form button[type=submit]")
    expect(page.locator("article.inquiry")).to_have_attribute("data-status", "closed")
    expect(page.locator(".errors[role=alert]")).to_be_visible()
    expect(page.locator("[data-unsent]")).to_have_text("遅れて書いた回答")
    assert not InquiryAnswer.objects.exists()


def test_the_queue_is_a_list_of_cards_on_a_phone(phone_page, alice, hanako, settings):
    settings.ENISHI_INQUIRY_RESPONSE_HOURS = 24
    late = timezone.now() - datetime.timedelta(days=2)
    services.inquiry_create(
        actor=alice, customer=hanako, subject="古い問い合わせ", received_at=late, assignee=alice
    )
    page = phone_page
    log_in(page)
    page.goto("/inquiries/")
    expect(page.locator("[data-queue=mine][aria-current=page]")).to_be_visible()
    expect(page.locator("[data-count=overdue]")).to_have_text("1")
    row = page.locator("tr.inq-row").first
    expect(row.locator("[data-overdue]")).to_be_visible()
    expect(page.locator("table.inq-queue thead")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row.locator(".inq-subject a").click()
    expect(page.locator("h1")).to_have_text("古い問い合わせ")
    expect(page.locator("[data-action=take]")).to_have_count(0)  # already Alice's
