"""Exporting customers in a real browser: from the filtered list, pick the columns, download a
CSV and read it back; a big export (threshold lowered) is prepared by the real background
queue while the page shows its progress, then downloaded from the page."""

import csv
import re

import pytest
from playwright.sync_api import expect

from enishi.core import testing
from enishi.core.background import worker_thread_start
from enishi.transfer import services
from enishi.transfer.models import Export

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def kartes(alice):
    return [
        testing.make_customer(
            alice, name="山田 太郎", phone="090-1234-5678", status="customer", code="0012"
        ),
        testing.make_customer(alice, name="佐藤 花子", phone="03-3581-0101", status="customer"),
        testing.make_customer(alice, name='=HYPERLINK("http://x","罠")', status="customer"),
        testing.make_customer(alice, name="鈴木 見込", status="lead"),
    ]


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def read_csv(path, encoding="utf-8-sig"):
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.reader(f))


def pick_columns(page, keys):
    page.click("a[data-pick=none]")
    for key in keys:
        page.check(f"input[name=columns][value='{key}']")


def test_export_the_filtered_list_with_chosen_columns_and_read_it_back(page, alice, kartes):
    log_in(page)
    page.goto("/customers/?status=customer")
    page.click("a[href^='/transfer/customers/export/']")
    page.wait_for_url(re.compile(r"/transfer/customers/export/\?status=customer"))
    expect(page.locator("h1 .count")).to_have_text("3")

    pick_columns(page, ["code", "name", "phone"])
    page.check("input[name=format][value=csv_utf8]")
    with page.expect_download() as info:
        page.click("#export-download")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = read_csv(download.path())
    assert len(rows) == 4  # the header and the three customers, not the lead
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["山田 太郎"][0] == "0012"  # a code keeps its leading zero
    assert by_name["山田 太郎"][2] == "090-1234-5678"
    assert '\'=HYPERLINK("http://x","罠")' in by_name  # a formula is never live
    assert "鈴木 見込" not in by_name

    # The page remembers the choice; the export is in the history.
    page.goto("/transfer/customers/export/")
    expect(page.locator("input[name=columns][value=phone]")).to_be_checked()
    expect(page.locator("input[name=columns][value=email]")).not_to_be_checked()
    page.goto("/transfer/exports/")
    expect(page.locator("table.exports tbody tr")).to_have_count(1)


def test_a_big_export_is_prepared_in_the_background_with_its_progress(
    page, alice, kartes, settings, monkeypatch
):
    settings.ENISHI_EXPORT_BACKGROUND_ROWS = 2
    monkeypatch.setattr(services, "TASK_BACKEND", "database")
    worker, thread = worker_thread_start(backend_name="database", interval=0.2)
    try:
        log_in(page)
        page.goto("/transfer/customers/export/")
        expect(page.locator("#export-background")).to_be_visible()
        pick_columns(page, ["name", "status"])
        page.check("input[name=format][value=csv_cp932]")
        page.click("#export-download")
        page.wait_for_url(re.compile(r"/transfer/exports/\d+/$"))
        status = page.locator("#export-status")
        expect(status).to_be_visible()
        # The page polls the task's row until the file is ready.
        link = page.locator("#export-file")
        expect(link).to_be_visible(timeout=30_000)
        expect(status).to_have_attribute("data-status", "done")
        with page.expect_download() as info:
            link.click()
        rows = read_csv(info.value.path(), "cp932")
        assert len(rows) == 5 and {r[0] for r in rows[1:]} >= {"山田 太郎", "鈴木 見込"}
        record = Export.objects.get()
        assert record.background and record.download_count == 1
    finally:
        worker.running = False
        thread.join(timeout=5)


def test_characters_outside_shift_jis_are_listed_before_anything_is_downloaded(page, alice):
    karte = testing.make_customer(alice, name="𠮷田 花子")
    log_in(page)
    page.goto("/transfer/customers/export/")
    pick_columns(page, ["name"])
    page.check("input[name=format][value=csv_cp932]")
    page.click("#export-download")
    table = page.locator("#unencodable")
    expect(table).to_contain_text("U+20BB7")
    expect(table.locator(f"a[href='/customers/{karte.pk}/']")).to_be_visible()
    with page.expect_download() as info:
        page.click("#unencodable form:has(input[name=unencodable]) button")
    assert read_csv(info.value.path(), "cp932")[1] == ["〓田 花子"]
