"""vCard, QR code and printed karte in a real browser: from the karte, download the vCard, open
the QR code and download the PDF; from the list, import a phone's .vcf and find the new karte."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from enishi.core import testing
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.transfer.tests.test_vcard_samples import ANDROID_21, FEATURE_PHONE, IPHONE

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def taro(alice):
    company = testing.make_company(alice, name="株式会社山田商事", name_kana="ヤマダショウジ")
    return testing.make_customer(
        alice,
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        mobile="090-1234-5678",
        company=company,
        email="taro@example.com",
        postal_code="100-0014",
        street="1-7-1",
    )


def test_download_the_vcard_open_the_qr_code_and_download_the_pdf(page, alice, taro):
    log_in(page)
    page.goto(f"/customers/{taro.pk}/")
    page.click("#card-menu summary")
    with page.expect_download() as info:
        page.click("#card-vcard")
    download = info.value
    assert download.suggested_filename == "山田 太郎.vcf"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert "X-PHONETIC-LAST-NAME;CHARSET=UTF-8:ヤマダ" in text
    assert "ORG;CHARSET=UTF-8:株式会社山田商事" in text

    page.click("#card-qr")
    page.wait_for_url(re.compile(rf"/cards/{taro.pk}/qr/"))
    qr = page.locator(".card-qr .qr svg")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150  # big enough for a phone's camera
    expect(page.locator(".card-qr h1")).to_contain_text("山田 太郎")

    page.click(f"a[href='/customers/{taro.pk}/']")
    with page.expect_download() as info:
        page.click("#card-pdf")
    pdf = info.value
    assert pdf.suggested_filename == "山田 太郎.pdf"
    assert Path(pdf.path()).read_bytes().startswith(b"%PDF-")
    formats = sorted(
        entry.changes["format"][1] for entry in HistoryEntry.objects.filter(action="export")
    )
    assert formats == ["pdf", "vcard 3.0"]


def test_import_a_phones_vcf_and_find_the_new_karte(page, alice, taro, tmp_path):
    vcf = tmp_path / "連絡先.vcf"
    vcf.write_bytes(IPHONE.encode() + ANDROID_21.encode() + FEATURE_PHONE)
    log_in(page)
    page.goto("/customers/")
    page.click("#list-vcard-import")
    page.set_input_files("#id_file", str(vcf))
    page.click("#vcard-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/cards/import/[0-9a-f]+/$"))
    rows = page.locator("table.cards-preview tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#card-1")).to_contain_text("サトウ ハナコ")
    expect(page.locator("#card-1")).to_contain_text("株式会社山田商事")
    expect(page.locator("#card-1")).to_contain_text("（カルテに紐付け）")
    expect(page.locator("#card-3")).to_contain_text("高橋 能子")
    assert not Customer.objects.filter(name="佐藤 花子").exists()

    page.check("#card-2 input[value=skip]")
    page.click("#vcard-import-go")
    page.wait_for_url(re.compile(r"/cards/import/[0-9a-f]+/done/$"))
    expect(page.locator("#imported tbody tr")).to_have_count(2)
    page.click("#imported >> text=佐藤 花子")
    expect(page.locator(".karte-head h1")).to_contain_text("佐藤 花子")
    expect(page.locator(".karte-head")).to_contain_text("株式会社山田商事")
    expect(page.locator(".karte-head .kana")).to_have_text("サトウ ハナコ")
    hanako = Customer.objects.get(name="佐藤 花子")
    assert (hanako.company_id, hanako.mobile) == (taro.company_id, "090-1234-5678")
    assert not Customer.objects.filter(name="鈴木 一郎").exists()


def test_a_big_selection_is_printed_in_the_background_and_downloaded(page, alice, settings):
    settings.ENISHI_PRINT_BACKGROUND_KARTES = 2
    for i in range(3):
        testing.make_customer(alice, name=f"印刷 太郎{i}")
    log_in(page)
    page.goto("/customers/")
    page.click("#list-cards")
    button = page.locator("#selection-pdf")
    expect(button).to_have_attribute("data-background", "1")
    button.click()
    page.wait_for_url(re.compile(r"/transfer/exports/\d+/$"))
    link = page.locator("#export-file")
    expect(link).to_be_visible(timeout=30_000)
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename.endswith(".pdf")
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF-")
    assert HistoryEntry.objects.filter(action="export", model="customers.customer").count() == 3
