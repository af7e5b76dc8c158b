"""Deals as a salesperson drives them: a deal made for a karte, moved across the board by drag
and drop, with the keyboard, with the card's select, lost with a reason; on a phone."""

import pytest
from playwright.sync_api import expect

from enishi.core import testing
from enishi.deals import services
from enishi.deals.models import Deal, DealStageChange

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def stages(transactional_db):
    # The data migration's pipeline is gone after another test flushed the database.
    pipeline = services.default_pipeline_ensure()
    return {s.name: s for s in pipeline.stages.all()}


@pytest.fixture
def company(alice):
    return testing.make_company(alice, name="株式会社山田商事", phone="03-3581-0101")


@pytest.fixture
def taro(alice, company):
    return testing.make_customer(alice, name="山田 太郎", company=company, is_key_person=True)


def column(page, stage):
    return page.locator(f".board-column[data-stage='{stage.pk}']")


def test_create_a_deal_for_a_karte_and_move_it_across_the_board(page, alice, stages, company, taro):
    log_in(page)
    page.goto(f"/customers/{company.pk}/")
    page.click(f"a[href='/deals/new/?customer={company.pk}']")
    page.fill("#id_title", "基幹システム更改")
    page.select_option("#id_stage", label="リード")
    page.fill("#id_amount", "1,200,000")
    page.check(f"input[name=contacts][value='{taro.pk}']")
    page.fill("#id_next_action", "ヒアリング日程調整")
    page.locator("form.deal-form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("基幹システム更改")
    deal = Deal.objects.get()
    assert (deal.customer, deal.amount, list(deal.contacts.all())) == (company, 1200000, [taro])

    page.goto("/deals/")
    card = page.locator(f"#deal-{deal.pk}")
    expect(column(page, stages["リード"]).locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(column(page, stages["リード"]).locator("[data-count]")).to_have_text("1")

    # Drag and drop onto 提案.
    card.drag_to(column(page, stages["提案"]).locator("ol.cards"))
    expect(column(page, stages["提案"]).locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(column(page, stages["リード"]).locator("[data-count]")).to_have_text("0")
    expect(column(page, stages["提案"]).locator(".column-sum")).to_have_text("¥1,200,000")
    expect(page.locator("#board-status")).to_have_class("board-status ok")

    # Keyboard: the → button of the card (focus, Enter) moves it one stage on.
    page.locator(f"#deal-{deal.pk} .move-next").focus()
    page.keyboard.press("Enter")
    expect(column(page, stages["見積提出"]).locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(page.locator(f"#deal-{deal.pk} .move-next")).to_be_focused()

    # The card's "move to" select, then its Move button, with the keyboard only.
    page.locator(f"#deal-{deal.pk} select[name=stage]").select_option(str(stages["交渉"].pk))
    page.locator(f"#deal-{deal.pk} .move-go").focus()
    page.keyboard.press("Enter")
    expect(column(page, stages["交渉"]).locator(f"#deal-{deal.pk}")).to_be_visible()

    # Lost: dropping on 失注 asks for the reason first (the board scrolls sideways to it).
    column(page, stages["失注"]).scroll_into_view_if_needed()
    page.locator(f"#deal-{deal.pk}").drag_to(column(page, stages["失注"]).locator("ol.cards"))
    dialog = page.locator("#lost-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("textarea").fill("他社の価格に負けた")
    dialog.locator("button[value=move]").click()
    expect(column(page, stages["失注"]).locator(f"#deal-{deal.pk}")).to_be_visible()

    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason, deal.version) == (stages["失注"], "他社の価格に負けた", 5)
    page.goto(f"/deals/{deal.pk}/")
    history = page.locator("#stage-history li")
    expect(history).to_have_count(5)
    assert [int(x) for x in history.evaluate_all("els => els.map(e => e.dataset.stage)")] == [
        stages[name].pk for name in ("リード", "提案", "見積提出", "交渉", "失注")
    ]
    assert DealStageChange.objects.filter(deal=deal, changed_by=alice).count() == 5


def test_a_move_on_a_stale_board_shows_a_message_and_the_current_card(page, alice, stages, company):
    deal = services.deal_create(
        actor=alice, customer=company, title="競合案件", stage=stages["提案"]
    )
    log_in(page)
    page.goto("/deals/")
    services.deal_move(actor=alice, deal=deal, stage=stages["交渉"], version=1)  # elsewhere
    page.locator(f"#deal-{deal.pk}").drag_to(column(page, stages["見積提出"]).locator("ol.cards"))
    expect(page.locator("#board-status")).to_have_class("board-status error")
    expect(column(page, stages["交渉"]).locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(column(page, stages["見積提出"]).locator(f"#deal-{deal.pk}")).to_have_count(0)
    assert Deal.objects.get(pk=deal.pk).stage == stages["交渉"]


def test_on_a_phone_the_board_is_a_list_by_stage_with_the_same_move_select(
    phone_page, alice, stages, company
):
    page = phone_page
    deal = services.deal_create(
        actor=alice, customer=company, title="電話から", stage=stages["リード"]
    )
    log_in(page)
    page.goto("/deals/")
    first = column(page, stages["リード"]).bounding_box()
    second = column(page, stages["ヒアリング"]).bounding_box()
    assert second["y"] > first["y"] + first["height"] - 1  # stacked, not side by side
    assert first["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    card = page.locator(f"#deal-{deal.pk}")
    card.locator("select[name=stage]").select_option(str(stages["見積提出"].pk))
    card.locator(".move-go").tap()
    expect(column(page, stages["見積提出"]).locator(f"#deal-{deal.pk}")).to_be_visible()
    assert Deal.objects.get(pk=deal.pk).stage == stages["見積提出"]


def test_without_javascript_a_lost_move_asks_for_the_reason_on_its_own_page(
    browser, live_server, alice, stages, company
):
    deal = services.deal_create(
        actor=alice, customer=company, title="静かな案件", stage=stages["交渉"]
    )
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page)
        page.goto("/deals/")
        card = page.locator(f"#deal-{deal.pk}")
        card.locator("select[name=stage]").select_option(str(stages["失注"].pk))
        card.locator(".move-go").click()
        page.fill("textarea[name=lost_reason]", "予算凍結")
        page.locator("form.move-page-form button[type=submit]").click()
        expect(column(page, stages["失注"]).locator(f"#deal-{deal.pk}")).to_be_visible()
    finally:
        context.close()
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (stages["失注"], "予算凍結")
