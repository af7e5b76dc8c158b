"""Enishi on a phone (390×844, touch): the pages a clerk uses away from the desk fit the screen
(no sideways scrolling of the page), the buttons that matter are on it, values such as phone
numbers and codes stay whole, and what is tapped is a finger high (44 px). The top bar keeps its
links in one row that scrolls sideways; on a desktop it stays as it was."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from enishi.core import testing
from enishi.customers.models import Customer
from enishi.quality.models import DuplicatePair
from enishi.transfer import services as transfer_services

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINGER = 44
WIDTH = 390


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def boxes(locator):
    return [locator.nth(i).bounding_box() for i in range(locator.count())]


def assert_finger_high(locator, least=FINGER):
    found = boxes(locator)
    assert found, "nothing to measure"
    for box in found:
        assert box["height"] >= least, box


def assert_on_screen(locator):
    box = locator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box


def one_line(locator):
    """The element's text takes one line (it is not broken into pieces)."""
    return locator.evaluate("e => e.getClientRects().length === 1")


def test_the_top_bar_is_one_row_of_finger_high_links_that_scrolls_sideways(phone_page, page, alice):
    log_in(phone_page)
    links = phone_page.locator("nav.mainnav > a, nav.mainnav button")
    assert_finger_high(links)
    assert len({round(b["y"]) for b in boxes(links)}) == 1  # one row
    assert phone_page.locator(".topbar").bounding_box()["height"] <= 110
    assert fits_the_screen(phone_page)
    # The last links are off to the right; a tap still reaches them.
    users = phone_page.locator("nav.mainnav a[href='/accounts/users/']")
    assert users.bounding_box()["x"] > WIDTH
    users.tap()
    phone_page.wait_for_url("**/accounts/users/")
    assert fits_the_screen(phone_page)

    log_in(page)  # desktop: the bar is one slim row, as before
    assert page.locator(".topbar").bounding_box()["height"] < 70
    assert page.locator("nav.mainnav a").first.bounding_box()["height"] < 30


def test_the_freshness_report_is_a_card_per_karte_on_a_phone(phone_page, alice):
    long_name = testing.make_company(
        alice, name="株式会社渡辺物流サービス", name_kana="ワタナベブツリュウサービス"
    )
    confirmed = testing.make_customer(alice, name="松本 桃子", name_kana="マツモト モモコ")
    old = timezone.now() - datetime.timedelta(days=500)
    Customer.objects.filter(pk__in=[long_name.pk, confirmed.pk]).update(updated_at=old)
    Customer.objects.filter(pk=confirmed.pk).update(last_confirmed_at=old)
    page = phone_page
    log_in(page)
    page.goto("/quality/freshness/")
    assert fits_the_screen(page)
    row = page.locator(f"tr[data-customer='{long_name.pk}']")
    name = row.locator(f"a[href='/customers/{long_name.pk}/']")
    assert one_line(name) and one_line(row.locator(".muted.small"))
    # When the karte was last confirmed is the point of the report: it is shown.
    expect(page.locator(f"#confirmed-at-{confirmed.pk}")).to_be_visible()
    expect(page.locator(f"#confirmed-at-{confirmed.pk}")).to_contain_text(str(old.year))
    button = row.locator("td.confirm button")
    assert_on_screen(button)
    assert_finger_high(button)
    assert_finger_high(row.locator("td.tick label"))
    assert_finger_high(page.locator("#confirm-many button"))
    row.locator("td.tick label").tap()
    expect(row.locator("input[name=ids]")).to_be_checked()

    button.tap()
    expect(row.locator(".confirmed")).to_be_visible()
    cell = page.locator(f"#confirmed-at-{long_name.pk}")
    expect(cell).to_contain_text(str(timezone.localdate().year))
    expect(cell).to_be_visible()
    assert fits_the_screen(page)


def test_the_export_form_and_history_on_a_phone(phone_page, alice):
    testing.make_customer(alice, name="山田 太郎", phone="090-1234-5678")
    transfer_services.full_export_start(actor=alice)  # prepared in the background: kept
    page = phone_page
    log_in(page)
    page.goto("/transfer/customers/export/")
    assert fits_the_screen(page)
    assert_finger_high(page.locator(".pick-links a"))
    assert_finger_high(page.locator("input[name=format]").locator(".."))
    page.locator("a[data-pick=none]").tap()
    columns = page.locator("input[name=columns]")
    expect(columns.first).not_to_be_checked()
    assert_finger_high(columns.locator(".."))
    page.locator("input[name=columns][value=name]").locator("..").tap()
    page.locator("input[name=columns][value=phone]").locator("..").tap()
    with page.expect_download():
        page.locator("#export-download").tap()

    page.goto("/transfer/exports/")
    assert fits_the_screen(page)
    expect(page.locator("table.exports thead")).to_be_hidden()
    rows = page.locator("table.exports tbody tr")
    expect(rows).to_have_count(2)
    for box in boxes(rows):
        assert box["height"] < 200, box
    for i in range(2):
        assert_on_screen(rows.nth(i).locator("td.ex-status"))
        assert one_line(rows.nth(i).locator("td.ex-when a"))
    download = page.locator("table.exports a[href$='/download/']")
    expect(download).to_have_count(1)
    assert_on_screen(download)
    assert_finger_high(download)


@pytest.fixture
def pair(alice):
    first = testing.make_customer(
        alice,
        name="田中 一郎",
        name_kana="タナカ イチロウ",
        mobile="090-3124-5678",
        code="C-001327",
    )
    second = testing.make_customer(
        alice, name="田中一郎", name_kana="タナカ イチロウ", mobile="080-9876-5432", code="C-001248"
    )
    return first, second


def test_the_merge_form_and_the_merges_list_on_a_phone(phone_page, alice, pair):
    first, second = pair
    page = phone_page
    log_in(page)
    page.goto(f"/quality/merge/?ids={first.pk}&ids={second.pk}")
    assert fits_the_screen(page)
    table = page.locator("table.merge")
    # Phone numbers and codes stay whole, each on one line beside its karte's number.
    for value in ("090-3124-5678", "080-9876-5432", "C-001327", "C-001248"):
        label = table.locator("label.pick", has_text=value)
        assert one_line(label), value
        assert_on_screen(label)
    picks = table.locator("label.pick")
    assert_finger_high(picks)
    assert_finger_high(page.locator(".keep-both label"))
    radio = table.locator("label.pick", has_text="080-9876-5432").locator("input")
    assert radio.bounding_box()["width"] >= 20
    table.locator("label.pick", has_text="080-9876-5432").tap()
    expect(radio).to_be_checked()
    result = table.locator("td.result", has_text="080-9876-5432")
    expect(result).to_be_visible()  # the live preview of the result
    # The note on the code the other karte gives up never breaks it after "C-".
    given_up = page.locator(".remarks .nowrap", has_text="C-001248")
    expect(given_up).to_have_text("C-001248")
    assert one_line(given_up)
    merge = page.locator("button[name=confirm]")
    assert_on_screen(merge)
    merge.tap()
    page.wait_for_url(f"**/customers/{first.pk}/")

    page.goto("/quality/merges/")
    assert fits_the_screen(page)
    row = page.locator("table.merges tbody tr")
    expect(row).to_have_count(1)
    survivor = row.locator(f"a[href='/customers/{first.pk}/']")
    assert one_line(survivor)
    assert survivor.bounding_box()["width"] > 50
    details = row.locator("a[href*='/quality/merges/']")
    assert_on_screen(details)
    assert_finger_high(details)
    details.tap()
    page.wait_for_url("**/quality/merges/*/")
    assert fits_the_screen(page)
    for code in page.locator(".nowrap", has_text="C-001248").all():  # who it was; the note
        assert one_line(code)
    expect(page.locator(".remarks-list .nowrap", has_text="C-001248")).to_have_count(1)


def test_the_comparison_is_a_card_per_field_on_a_phone(phone_page, page, alice, pair):
    first, second = pair
    duplicate = DuplicatePair.objects.create(
        a=first, b=second, score=0.95, reasons=["same_kana"], found_at=timezone.now()
    )
    phone = phone_page
    log_in(phone)
    phone.goto(f"/quality/duplicates/{duplicate.pk}/")
    assert fits_the_screen(phone)
    table = phone.locator("table.compare")
    # The kartes are named once at the top, each a finger-high link with its number and code.
    heads = table.locator("thead th.karte-col")
    for karte, code in ((first, "C-001327"), (second, "C-001248")):
        head = heads.filter(has_text=f"#{karte.pk}")
        assert one_line(head.locator(".nowrap", has_text=code))
        assert_finger_high(head.locator("a"))
    # A field is a card: its name, then a line per karte ("#12 value"), one under the other;
    # phone numbers and codes stay whole.
    for value in ("090-3124-5678", "080-9876-5432", "C-001327", "C-001248"):
        cell = table.locator("tbody td", has_text=value)
        assert one_line(cell), value
        assert_on_screen(cell)
    codes = table.locator("tr.differs", has_text="C-001327")
    name, cells = codes.locator("th").bounding_box(), boxes(codes.locator("td"))
    assert name["y"] < cells[0]["y"] < cells[1]["y"]
    assert abs(cells[0]["x"] - cells[1]["x"]) < 2
    assert codes.locator("td").first.evaluate("e => getComputedStyle(e, '::before').content") == (
        f'"#{first.pk}"'
    )
    assert_finger_high(phone.locator(".decide .button, .decide button, .decide > a"))
    phone.locator(".decide a.primary").tap()
    phone.wait_for_url("**/quality/merge/**")
    assert fits_the_screen(phone)

    log_in(page)  # desktop: the kartes side by side, as before
    page.goto(f"/quality/duplicates/{duplicate.pk}/")
    row = page.locator("table.compare tr.differs", has_text="C-001327")
    assert len({round(b["y"]) for b in boxes(row.locator("th, td"))}) == 1


def test_the_house_style_choices_are_one_per_line_on_a_phone(phone_page, alice):
    page = phone_page
    log_in(page)
    page.goto("/quality/style/")
    assert fits_the_screen(page)
    labels = page.locator("form.house-style label.radio")
    assert_finger_high(labels)
    tops = [round(b["y"]) for b in boxes(labels)]
    assert len(set(tops)) == len(tops)  # never two choices on one line
    assert page.locator("form.house-style input[type=radio]").first.bounding_box()["width"] >= 20
    labels.filter(has_text="和暦").tap()
    expect(page.locator("input[name=dates][value=era]")).to_be_checked()


def test_the_vcard_preview_shows_phone_mail_and_address_on_a_phone(phone_page, alice, tmp_path):
    testing.make_customer(
        alice, name="佐藤 花子", name_kana="サトウ ハナコ", mobile="090-1111-2222"
    )
    vcf = tmp_path / "cards.vcf"
    vcf.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:佐藤 花子\r\nN:佐藤;花子;;;\r\n"
        "X-PHONETIC-LAST-NAME:サトウ\r\nX-PHONETIC-FIRST-NAME:ハナコ\r\n"
        "TEL;TYPE=CELL:090-1111-2222\r\nEMAIL:hanako.sato@example.co.jp\r\n"
        "ADR;TYPE=WORK:;;丸の内1-1-1;千代田区;東京都;100-0005;Japan\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:鈴木 一郎\r\nN:鈴木;一郎;;;\r\n"
        "TEL:03-5555-0101\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    page = phone_page
    log_in(page)
    page.goto("/cards/import/")
    page.set_input_files("#id_file", str(vcf))
    page.click("#vcard-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/cards/import/[0-9a-f]+/$"))
    assert fits_the_screen(page)
    card = page.locator("#card-1")
    for text in ("090-1111-2222", "hanako.sato@example.co.jp", "丸の内1-1-1"):
        expect(card.get_by_text(text, exact=False)).to_be_visible()
    assert one_line(card.get_by_text("090-1111-2222"))
    expect(card.locator(".card-similar-list")).to_be_visible()  # a karte with that phone
    assert_finger_high(page.locator(".pick-links a"))
    choices = page.locator("td.card-decide label")
    assert_finger_high(choices)
    for box in boxes(choices):
        assert box["x"] + box["width"] <= WIDTH
    card.locator("td.card-decide label", has_text="作成").tap()
    expect(card.locator("input[value=create]")).to_be_checked()
    assert_on_screen(page.locator("#vcard-import-go"))


def test_the_vcard_import_result_is_a_card_per_karte_with_names_whole_on_a_phone(
    phone_page, page, alice, tmp_path
):
    company = testing.make_company(alice, name="株式会社ブイカード商事")
    vcf = tmp_path / "done.vcf"
    vcf.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:ブイカードC 三子\r\nN:ブイカードC;三子;;;\r\n"
        "X-PHONETIC-LAST-NAME:ブイカードシー\r\nX-PHONETIC-FIRST-NAME:ミツコ\r\n"
        "ORG:株式会社ブイカード商事;営業企画部\r\nTEL;TYPE=CELL:090-3333-4444\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:長谷川 一二三四五\r\nN:長谷川;一二三四五;;;\r\n"
        "END:VCARD\r\n",
        encoding="utf-8",
    )
    screen = phone_page
    log_in(screen)
    screen.goto("/cards/import/")
    screen.set_input_files("#id_file", str(vcf))
    screen.click("#vcard-upload button[type=submit]")
    screen.wait_for_url(re.compile(r"/cards/import/[0-9a-f]+/$"))
    for card in ("#card-1", "#card-2"):
        screen.locator(f"{card} td.card-decide label", has_text="作成").tap()
    screen.locator("#vcard-import-go").tap()
    screen.wait_for_url(re.compile(r"/cards/import/[0-9a-f]+/done/$"))

    assert fits_the_screen(screen)
    expect(screen.locator("#imported thead")).to_be_hidden()
    rows = screen.locator("#imported tbody tr")
    expect(rows).to_have_count(2)
    first = rows.filter(has_text="ブイカードC 三子")
    name = first.locator("td.card-name a")
    expect(name).to_have_text("ブイカードC 三子")
    # One line, the width of the card: not a column squeezed beside the others.
    assert one_line(name)
    assert one_line(first.locator("td.card-name .kana"))
    assert first.locator("td.card-name").bounding_box()["width"] > WIDTH * 0.75
    assert_finger_high(name, least=40)
    expect(first.locator("td.card-company")).to_contain_text(company.name)
    assert one_line(first.locator("td.card-company .name-whole"))
    phone = first.locator("td.card-phone")
    expect(phone).to_contain_text("090-3333-4444")
    assert one_line(phone)
    assert_on_screen(phone)
    # Nothing to show is not an empty labelled line.
    expect(rows.filter(has_text="長谷川").locator("td.card-phone")).to_be_hidden()
    for box in boxes(rows):
        assert box["height"] < 160, box

    # On a desk it stays a table.
    log_in(page)
    page.goto(screen.url)
    expect(page.locator("#imported thead")).to_be_visible()
