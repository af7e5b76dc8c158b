"""An import in a real browser: a cp932 CSV from Japanese Excel is uploaded, its columns are
checked, the preview shows a row with a problem and a probable duplicate, the person decides,
imports, downloads the rejected rows and finally undoes the import."""

import io
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from enishi.core import testing
from enishi.customers.models import Customer

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILE = (
    "顧客名簿 2024年4月\r\n"
    "会社名,氏名,フリガナ,電話番号,メール,〒,住所\r\n"
    "株式会社山田商事,山田 太郎,ヤマダ タロウ,03-1234-5678,taro@example.jp,100-0001,東京都千代田区千代田1-1\r\n"
    "株式会社山田商事,佐藤 花子,サトウ ハナコ,0312,hanako@example,100-0001,東京都千代田区千代田1-2\r\n"
    ",髙橋 一郎,タカハシ イチロウ,090-1111-2222,ichiro@example.jp,,\r\n"
).encode("cp932")


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.ENISHI_IMPORT_DIR = tmp_path / "imports"


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def known_ichiro(alice):
    return testing.make_customer(alice, name="高橋 一郎", mobile="090-1111-2222")


def test_import_a_cp932_csv_decide_download_the_rejects_and_undo(page, alice, known_ichiro):
    log_in(page)
    page.goto(reverse("imports:start"))
    page.set_input_files(
        "#id_file", files=[{"name": "顧客名簿.csv", "mimeType": "text/csv", "buffer": FILE}]
    )
    page.click("#import-upload button[type=submit]")

    # Columns: the encoding is detected and shown, the title row skipped, targets guessed.
    page.wait_for_url(re.compile(r"/imports/\d+/columns/"))
    expect(page.locator("#import-encoding")).to_have_value("cp932")
    expect(page.locator("#import-detected")).to_contain_text("2")
    expect(page.locator("#id_col_1")).to_have_value("name")
    expect(page.locator("#id_col_0")).to_have_value("company_name")
    page.fill("#id_template_name", "毎月の名簿")
    page.click("#import-check")

    # Preview: one new karte, one row with problems, one probable duplicate of 高橋 一郎.
    page.wait_for_url(re.compile(r"/imports/\d+/preview/"))
    counts = page.locator("#import-counts")
    expect(counts.locator("[data-count=create]")).to_have_text("1")
    expect(counts.locator("[data-count=reject]")).to_have_text("1")
    expect(counts.locator("[data-count=skip]")).to_have_text("1")
    problem_row = page.locator("tr.import-row[data-number='2']")
    expect(problem_row.locator(".import-problem")).to_have_count(2)
    duplicate = page.locator("tr.import-row[data-number='3']")
    expect(duplicate.locator(f"a[href='/customers/{known_ichiro.pk}/']")).to_be_visible()

    # On a laptop screen the choice is whole (not cut by the table) and needs no "Set" button.
    page.set_viewport_size({"width": 1366, "height": 800})
    choice = duplicate.locator("select[name=decision]")
    cell = duplicate.locator("td.import-decision").bounding_box()
    box = choice.bounding_box()
    assert box["x"] + box["width"] <= cell["x"] + cell["width"] + 1
    assert box["width"] >= 150
    expect(duplicate.locator("td.import-decision button")).to_be_hidden()

    # Deciding for one row updates it in place, and the counts follow.
    duplicate.locator("select[name=decision]").select_option("update")
    expect(page.locator("tr.import-row[data-number='3']")).to_have_attribute(
        "data-action", "update"
    )
    expect(page.locator("#import-counts [data-count=update]")).to_have_text("1")
    expect(page.locator("#import-counts [data-count=skip]")).to_have_text("0")
    expect(page.locator("#import-go")).to_contain_text(re.compile(r"2\s*(rows|行)"))  # follows

    page.click("#import-go button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/(result|progress)/"))
    page.wait_for_url(re.compile(r"/imports/\d+/result/"))
    expect(page.locator("#import-result-counts [data-count=created]")).to_have_text("1")
    expect(page.locator("#import-result-counts [data-count=updated]")).to_have_text("1")
    expect(page.locator("#import-result-counts [data-count=companies_created]")).to_have_text("1")
    assert Customer.objects.filter(name="山田 太郎", company__name="株式会社山田商事").exists()
    known_ichiro.refresh_from_db()
    assert known_ichiro.email == "ichiro@example.jp"

    # The rejected rows come back as the file came: cp932, same columns, and the reason.
    with page.expect_download() as download_info:
        page.click("#import-rejected")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="cp932")
    header, row = text.splitlines()[:2]
    assert header.startswith("会社名,氏名,フリガナ,電話番号,メール,〒,住所,")
    assert row.startswith("株式会社山田商事,佐藤 花子,サトウ ハナコ,0312,hanako@example,")
    assert "電話番号" in row and "メール" in row

    # Undo asks first, in a dialog that says what will happen; cancelling undoes nothing.
    page.click("#import-undo a")
    dialog = page.locator("#import-undo-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#import-undo-confirm")).to_have_attribute("data-remove", "2")
    expect(dialog.locator("#import-undo-confirm")).to_have_attribute("data-restore", "1")
    expect(dialog.locator(".import-undo-plan li")).to_have_count(2)
    expect(dialog.locator("[data-dialog-close]")).to_be_focused()  # Enter does not undo
    dialog.locator("[data-dialog-close]").click()
    expect(page.locator("#import-undo-dialog")).to_have_count(0)
    assert Customer.objects.count() == 3
    page.click("#import-undo a")
    expect(page.locator("#import-undo-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#import-undo-dialog")).to_have_count(0)
    assert Customer.objects.count() == 3

    # Confirmed: the created kartes go, the updated one gets its old values back.
    page.click("#import-undo a")
    page.locator("#import-undo-dialog #import-undo-yes").click()
    page.wait_for_url(re.compile(r"/imports/\d+/result/"))
    expect(page.locator("#import-undo-report")).to_be_visible()
    assert list(Customer.objects.values_list("name", flat=True)) == ["高橋 一郎"]
    known_ichiro.refresh_from_db()
    assert known_ichiro.email == ""


ORDERS = (
    "受注番号,顧客コード,受注日,品名,単価,数量,税率\r\n"
    "A-1,C001,2024/4/1,お弁当,540,3,軽減\r\n"
    "A-1,C001,2024/4/1,配達料,1000,1,10%\r\n"
    "A-2,C999,2024/4/2,謎の品,1000,1,10\r\n"
).encode("cp932")


def test_import_orders_and_see_them_on_the_karte(page, alice):
    from enishi.sales.models import Order

    karte = testing.make_customer(alice, name="山田 太郎", code="C001")
    log_in(page)
    page.goto(reverse("imports:start"))
    page.select_option("#id_target", "orders")
    page.set_input_files(
        "#id_file", files=[{"name": "受注.csv", "mimeType": "text/csv", "buffer": ORDERS}]
    )
    page.click("#import-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/columns/"))
    expect(page.locator("#id_col_0")).to_have_value("number")
    expect(page.locator("#id_col_1")).to_have_value("customer_code")
    page.click("#import-check")

    # Two lines of one order for 山田 太郎; the unknown customer's row is rejected.
    page.wait_for_url(re.compile(r"/imports/\d+/preview/"))
    expect(page.locator("#import-counts [data-count=reject]")).to_have_text("1")
    expect(page.locator("tr.import-row[data-number='3']")).to_contain_text("C999")
    # Skipping one line skips its whole order, on the page at once; and back again.
    page.locator("tr.import-row[data-number='1'] select[name=decision]").select_option("skip")
    expect(page.locator("tr.import-row[data-number='2']")).to_have_attribute("data-action", "skip")
    # (htmx swaps the other rows first: wait for the chosen row's own new version too, or the
    # next choice would go to the old one while its request is still under way.)
    expect(page.locator("tr.import-row[data-number='1']")).to_have_attribute("data-action", "skip")
    page.wait_for_load_state("networkidle")
    page.locator("tr.import-row[data-number='1'] select[name=decision]").select_option("create")
    expect(page.locator("tr.import-row[data-number='2']")).to_have_attribute(
        "data-action", "create"
    )
    page.click("#import-go button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/result/"))
    expect(page.locator("#import-result-counts [data-count=orders_created]")).to_have_text("1")
    expect(page.locator("#import-result-counts [data-count=rejected]")).to_have_text("1")

    order = Order.objects.get(customer=karte)
    # 540 × 3 at 8 % and 1,000 at 10 %: tax per rate, rounded down per invoice.
    assert (order.subtotal, order.tax, order.total) == (2620, 229, 2849)
    page.goto(karte.get_absolute_url())
    expect(page.locator("#timeline")).to_contain_text("A-1")


def test_undo_asks_first_without_javascript_too(browser, live_server, alice):
    from enishi.imports import services

    karte = testing.make_customer(alice, name="山田 太郎", code="K1", phone="03-1111-2222")
    text = "コード,氏名,電話番号\r\nK1,山田 太郎,03-9999-0000\r\nK2,佐藤 花子,03-2222-3333\r\n"
    run = services.import_upload(
        actor=alice, file=io.BytesIO(text.encode()), file_name="名簿.csv", target="customers"
    )
    services.import_check(actor=alice, run=run)
    services.import_start(actor=alice, run=run)
    context = browser.new_context(
        base_url=live_server.url, locale="ja-JP", java_script_enabled=False
    )
    page = context.new_page()
    try:
        log_in(page)
        page.goto(reverse("imports:result", args=[run.pk]))
        page.click("#import-undo a")
        page.wait_for_url(re.compile(r"/imports/\d+/undo/"))
        form = page.locator("#import-undo-confirm")
        expect(form).to_have_attribute("data-remove", "1")
        expect(form).to_have_attribute("data-restore", "1")
        expect(form.locator(".import-undo-plan li")).to_have_count(2)
        page.click("#import-undo-confirm [data-dialog-close]")  # cancel: back to the result
        page.wait_for_url(re.compile(r"/imports/\d+/result/"))
        assert Customer.objects.count() == 2
        page.click("#import-undo a")
        page.click("#import-undo-yes")
        page.wait_for_url(re.compile(r"/imports/\d+/(result|progress)/"))
        expect(page.locator("#import-undo-report")).to_be_visible()
        assert list(Customer.objects.values_list("pk", flat=True)) == [karte.pk]
        karte.refresh_from_db()
        assert karte.phone == "03-1111-2222"
    finally:
        context.close()
