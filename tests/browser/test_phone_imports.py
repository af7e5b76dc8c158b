"""The import wizard on a phone (390×844, touch), in Japanese and English: no page scrolls
sideways; each file column is a card whose target select spans it; each preview and result row
is a card that starts with what happens and the row's choice, a finger high; the template's
delete button is a finger high. On a desktop the column table stays a table."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from enishi.core import testing

from .conftest import log_in
from .test_phone_layout import FINGER, WIDTH, assert_finger_high, fits_the_screen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILE = (
    "会社名,氏名,フリガナ,電話番号,メール\n"
    "株式会社山田商事,山田 太郎,ヤマダ タロウ,03-1234-5678,taro@example.jp\n"
    "株式会社山田商事,佐藤 花子,サトウ ハナコ,0312,hanako@example\n"
    ",髙橋 一郎,タカハシ イチロウ,090-1111-2222,ichiro@example.jp\n"
).encode()


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.ENISHI_IMPORT_DIR = tmp_path / "imports"


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


def upload(page):
    page.goto(reverse("imports:start"))
    page.set_input_files(
        "#id_file", files=[{"name": "名簿.csv", "mimeType": "text/csv", "buffer": FILE}]
    )
    page.click("#import-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/columns/"))


def check_mapping(page):
    assert fits_the_screen(page)
    select = page.locator("#id_col_1")
    expect(select).to_be_visible()
    box = select.bounding_box()
    assert box["width"] >= WIDTH * 0.7 and box["height"] >= FINGER, box
    assert_finger_high(page.locator("#import-encoding"))
    header = page.locator("tr[data-column='1'] td.import-header strong")
    assert header.evaluate("e => e.getClientRects().length") == 1  # not a character per line


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_import_wizard_on_a_phone(phone_page, alice, language):
    alice.language = language
    alice.save()
    testing.make_customer(alice, name="高橋 一郎", mobile="090-1111-2222")
    page = phone_page
    log_in(page)
    upload(page)
    check_mapping(page)
    page.fill("#id_template_name", "毎月の名簿")
    page.click("#import-check")
    page.wait_for_url(re.compile(r"/imports/\d+/preview/"))
    assert fits_the_screen(page)
    duplicate = page.locator("tr.import-row[data-number='3']")
    decision = duplicate.locator("select[name=decision]")
    expect(decision).to_be_visible()
    assert_finger_high(decision)
    outcome = duplicate.locator("td.import-outcome").bounding_box()
    first_cell = duplicate.locator("td.import-cell").first.bounding_box()
    assert outcome["y"] < decision.bounding_box()["y"] < first_cell["y"]
    rejected = page.locator("tr.import-row[data-number='2']")
    expect(rejected.locator(".import-problem").first).to_be_visible()
    assert (
        rejected.locator(".import-problem").first.bounding_box()["y"]
        < rejected.locator("td.import-cell").first.bounding_box()["y"]
    )
    page.click("#import-go button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/result/"), timeout=30_000)
    assert fits_the_screen(page)
    page.goto(page.url.split("?")[0] + "?show=rejected")
    assert fits_the_screen(page)
    why = page.locator("tr.import-row .import-problem").first
    expect(why).to_be_visible()

    # A second file with the same headers: the template's notice reads as a sentence.
    upload(page)
    check_mapping(page)
    note = page.locator(".import-template-note")
    expect(note).to_be_visible()
    assert note.bounding_box()["height"] < 100

    page.goto(reverse("imports:start"))
    assert fits_the_screen(page)
    delete = page.locator(".import-template-delete")
    expect(delete).to_be_visible()
    assert_finger_high(delete)
    assert delete.bounding_box()["width"] >= FINGER


def test_the_column_table_stays_a_table_on_a_desktop(page, alice):
    log_in(page)
    page.set_viewport_size({"width": 1366, "height": 800})
    upload(page)
    expect(page.locator("table.import-columns thead")).to_be_visible()
    cells = page.locator("tr[data-column='1'] td")
    assert len({round(cells.nth(i).bounding_box()["y"]) for i in range(cells.count())}) == 1


MANY = (
    "会社名,氏名,フリガナ,電話番号\n"
    + "".join(f"株式会社見本{i},見本 太郎{i},ミホン タロウ,03-1234-{i:04d}\n" for i in range(30))
).encode()

COVERED = """e => {
    const box = e.getBoundingClientRect();
    const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    return !(hit && (hit === e || e.contains(hit)));
}"""


def preview_of_many(page):
    page.goto(reverse("imports:start"))
    page.set_input_files(
        "#id_file", files=[{"name": "見本.csv", "mimeType": "text/csv", "buffer": MANY}]
    )
    page.click("#import-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/columns/"))
    page.click("#import-check")
    page.wait_for_url(re.compile(r"/imports/\d+/preview/"))


def test_the_start_bar_covers_no_control_of_the_preview_on_a_phone(phone_page, alice):
    """On a phone the bar would take a fifth of the screen and hide the controls passing under
    it: it stays after the rows. Each rule is a finger-high label; every control, brought to the
    foot of the screen where the bar would be, is there to be tapped."""
    page = phone_page
    log_in(page)
    preview_of_many(page)
    assert fits_the_screen(page)
    rules = page.locator("#import-rules label")
    assert_finger_high(rules)
    assert_finger_high(page.locator("#import-rules button[type=submit]"))
    controls = [
        *(rules.nth(i) for i in range(rules.count())),
        page.locator("#import-rules button[type=submit]"),
        *(page.locator("select[name=decision]").nth(i) for i in range(3)),
    ]
    for control in controls:
        control.evaluate("e => e.scrollIntoView({block: 'end'})")
        assert not control.evaluate(COVERED), control
    skip = page.locator("#import-rules label", has_text="スキップ").first
    skip.evaluate("e => e.scrollIntoView({block: 'end'})")
    skip.tap()
    expect(skip.locator("input")).to_be_checked()
    go = page.locator("#import-go button[type=submit]")
    go.scroll_into_view_if_needed()
    assert_finger_high(go)
    assert go.bounding_box()["width"] >= WIDTH * 0.8


def test_on_a_desktop_the_start_bar_stays_at_the_foot_and_focus_scrolls_above_it(page, alice):
    log_in(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    preview_of_many(page)
    bar = page.locator("#import-go")
    assert abs(bar.bounding_box()["y"] + bar.bounding_box()["height"] - 800) < 2  # in sight
    selects = page.locator("select[name=decision]")
    assert selects.nth(4).bounding_box()["y"] > 800  # below the fold
    # The fourth row's choice at the foot of the window, under the bar; Tab goes to the fifth's.
    selects.nth(3).evaluate("e => window.scrollBy(0, e.getBoundingClientRect().bottom - 790)")
    selects.nth(3).focus()
    page.keyboard.press("Tab")
    expect(selects.nth(4)).to_be_focused()
    assert not selects.nth(4).evaluate(COVERED)
    box = selects.nth(4).bounding_box()
    assert box["y"] + box["height"] <= bar.bounding_box()["y"]


CHOICE = "氏名,会社名\n紐付 一郎,株式会社山田商事\n".encode()


def test_the_company_choice_spans_the_card_and_the_start_waits_for_it_visibly(phone_page, alice):
    """Two company kartes share the name the row gives: the select to choose between them spans
    the row's card (beside its help it was cut off: "Choose the compa…"); until it is chosen
    the start button looks as unusable as it is."""
    testing.make_company(alice, name="株式会社山田商事", code="Y-1")
    other = testing.make_company(alice, name="株式会社山田商事", prefecture="大阪府")
    page = phone_page
    log_in(page)
    page.goto(reverse("imports:start"))
    page.set_input_files(
        "#id_file", files=[{"name": "紐付.csv", "mimeType": "text/csv", "buffer": CHOICE}]
    )
    page.click("#import-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/columns/"))
    page.click("#import-check")
    page.wait_for_url(re.compile(r"/imports/\d+/preview/"))
    assert fits_the_screen(page)
    select = page.locator("select[name=company]")
    expect(select).to_be_visible()
    box = select.bounding_box()
    assert box["width"] >= WIDTH * 0.7 and box["height"] >= FINGER, box
    help_text = page.locator(".import-company-choice .help")
    assert help_text.bounding_box()["y"] >= box["y"] + box["height"]  # below it, not beside

    go = page.locator("#import-go button[type=submit]")
    expect(go).to_be_disabled()
    looks = "e => { const s = getComputedStyle(e); return [Number(s.opacity), s.cursor]; }"
    opacity, cursor = go.evaluate(looks)
    assert opacity < 0.7 and cursor == "not-allowed"

    select.select_option(str(other.pk))
    expect(go).to_be_enabled()
    opacity, cursor = go.evaluate(looks)
    assert opacity == 1 and cursor == "pointer"
