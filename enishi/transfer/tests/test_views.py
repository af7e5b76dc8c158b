"""The export page through Django's test client: from the list with its filters, the user's
own kartes only, sensitive fields by role, cp932 refusal, the history entry and the audit log."""

import csv
import io
import re

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from enishi.core import testing
from enishi.core.later import translated
from enishi.history.models import HistoryEntry
from enishi.transfer.http import download_response
from enishi.transfer.models import Export
from enishi.transfer.services import ExportFile
from enishi.transfer.views import SESSION_KEY

pytestmark = pytest.mark.django_db

URL = reverse("transfer:customer_export")


def download(client, data, query=""):
    response = client.post(f"{URL}?{query}", data)
    assert response.status_code == 200, response.content[:500]
    assert "attachment" in response["Content-Disposition"], response.content.decode()[:2000]
    if response.streaming:
        return response, b"".join(response.streaming_content)
    return response, b"".join(response.streaming_content)


def csv_rows(body: bytes, encoding="utf-8-sig"):
    return list(csv.reader(io.StringIO(body.decode(encoding), newline="")))


@pytest.fixture
def kartes(bob, carol):
    return {
        "bob": testing.make_customer(bob, name="山田 太郎", phone="09012345678", status="customer"),
        "bob_lead": testing.make_customer(bob, name="鈴木 一郎", status="lead"),
        "carol": testing.make_customer(carol, name="機密 顧客花子", phone="0355551234"),
    }


class TestThePage:
    def test_the_customer_list_links_to_it_with_its_filters(self, client, bob, kartes):
        client.force_login(bob)
        body = client.get(reverse("customers:list"), {"status": "customer", "q": "山田"}).content
        assert f'href="{URL}?status=customer&amp;q=%E5%B1%B1%E7%94%B0"'.encode() in body

    def test_it_shows_the_count_columns_and_a_preview_of_the_users_own_kartes(
        self, client, bob, kartes
    ):
        client.force_login(bob)
        body = client.get(URL).content.decode()
        assert 'name="columns" value="phone"' in body
        assert "山田 太郎" in body and "鈴木 一郎" in body
        assert "機密" not in body
        assert re.search(r'class="count">2<', body)

    def test_it_offers_sensitive_fields_only_to_roles_that_may_see_them(
        self, client, bob, erin, allergy
    ):
        client.force_login(bob)
        assert 'value="cf:allergies"' not in client.get(URL).content.decode()
        client.force_login(erin)
        assert 'value="cf:allergies"' in client.get(URL).content.decode()

    def test_it_remembers_the_columns_and_format_of_the_last_export(self, client, bob, kartes):
        client.force_login(bob)
        download(client, {"format": "csv_cp932", "columns": ["name", "mobile"]})
        assert client.session[SESSION_KEY] == {"columns": ["name", "mobile"], "format": "csv_cp932"}
        body = client.get(URL).content.decode()
        checked = re.findall(r'name="columns" value="([^"]+)" checked', body)
        assert checked == ["mobile", "name"] or sorted(checked) == ["mobile", "name"]
        assert 'value="csv_cp932" checked' in body

    def test_quick_picks_choose_all_none_or_the_usual_columns(self, client, bob):
        client.force_login(bob)
        none = client.get(URL, {"pick": "none"}).content.decode()
        assert 'name="columns" value="name" checked' not in none
        all_ = client.get(URL, {"pick": "all"}).content.decode()
        assert 'name="columns" value="notes" checked' in all_
        usual = client.get(URL, {"pick": "default"}).content.decode()
        assert 'value="name" checked' in usual and 'value="notes" checked' not in usual

    def test_a_choice_without_columns_is_explained(self, client, bob):
        client.force_login(bob)
        body = client.post(URL, {"format": "xlsx"}).content.decode()
        assert "Choose at least one column." in body
        assert not Export.objects.exists()


class TestDownloads:
    def test_a_member_exports_only_the_kartes_they_see(self, client, bob, kartes):
        client.force_login(bob)
        response, body = download(client, {"format": "csv_utf8", "columns": ["name", "phone"]})
        assert response.streaming
        assert body.startswith(b"\xef\xbb\xbf")
        rows = csv_rows(body)
        assert rows[0] == ["Name", "Phone"]
        assert sorted(r[0] for r in rows[1:]) == ["山田 太郎", "鈴木 一郎"]
        assert "機密" not in body.decode("utf-8-sig")

    def test_it_exports_the_lists_filters_and_search(self, client, bob, kartes):
        client.force_login(bob)
        _r, body = download(client, {"format": "csv_utf8", "columns": ["name"]}, "status=customer")
        assert [r[0] for r in csv_rows(body)[1:]] == ["山田 太郎"]
        _r, body = download(client, {"format": "csv_utf8", "columns": ["name"]}, "q=鈴木")
        assert [r[0] for r in csv_rows(body)[1:]] == ["鈴木 一郎"]
        _r, body = download(client, {"format": "csv_utf8", "columns": ["name"]}, "q=機密")
        assert csv_rows(body)[1:] == []

    def test_a_read_only_user_exports_what_they_see(self, client, dave, kartes):
        client.force_login(dave)
        _r, body = download(client, {"format": "csv_utf8", "columns": ["name"]})
        assert sorted(r[0] for r in csv_rows(body)[1:]) == ["山田 太郎", "鈴木 一郎"]

    def test_an_xlsx_download_has_a_dated_name_and_text_phones(self, client, bob, kartes):
        client.force_login(bob)
        response, body = download(
            client, {"format": "xlsx", "columns": ["name", "phone"]}, "status=customer"
        )
        today = timezone.localdate().isoformat()
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert f'filename="customers-{today}.xlsx"' in response["Content-Disposition"]
        ws = openpyxl.load_workbook(io.BytesIO(body)).active
        name, phone = ws["A2"], ws["B2"]
        assert name.value == "山田 太郎"
        assert phone.data_type == "s" and phone.value.startswith("0")

    def test_sensitive_fields_go_out_only_to_roles_that_may_see_them(
        self, client, bob, erin, allergy
    ):
        testing.make_customer(erin, name="配慮 花子", owner=bob, custom_fields={"allergies": "卵"})
        client.force_login(bob)
        response = client.post(URL, {"format": "csv_utf8", "columns": ["name", "cf:allergies"]})
        assert "attachment" not in response.get("Content-Disposition", "")
        assert "卵" not in response.content.decode()
        client.force_login(erin)
        _r, body = download(client, {"format": "csv_utf8", "columns": ["name", "cf:allergies"]})
        assert csv_rows(body) == [["Name", "Allergies"], ["配慮 花子", "卵"]]

    def test_a_sensitive_field_exported_is_in_each_kartes_history(self, client, bob, erin, allergy):
        hanako = testing.make_customer(erin, name="配慮 花子", custom_fields={"allergies": "卵"})
        taro = testing.make_customer(erin, name="配慮 太郎")
        client.force_login(erin)
        download(client, {"format": "xlsx", "columns": ["name", "cf:allergies"]})
        record = Export.objects.get()
        views = HistoryEntry.objects.filter(action=HistoryEntry.Action.VIEW_SENSITIVE)
        assert sorted(views.values_list("customer_id", flat=True)) == sorted([hanako.pk, taro.pk])
        entry = views.get(customer_id=hanako.pk)
        assert (entry.actor, entry.batch) == (erin, f"export:{record.pk}")
        assert entry.changes == {"custom_fields": [None, "Allergies"]}
        download(client, {"format": "xlsx", "columns": ["name"]})  # nothing sensitive: no entry
        assert views.count() == 2

    def test_every_export_is_recorded_and_shown_in_the_audit_log(self, client, bob, alice, kartes):
        client.force_login(bob)
        download(client, {"format": "csv_utf8", "columns": ["name", "phone"]}, "status=customer")
        entry = HistoryEntry.objects.get(action=HistoryEntry.Action.EXPORT)
        record = Export.objects.get()
        assert (entry.actor, entry.via, entry.model, entry.object_id) == (
            bob,
            "ui",
            "transfer.export",
            record.pk,
        )
        assert entry.changes["row_count"] == [None, 1]
        assert entry.changes["columns"] == [None, ["name", "phone"]]  # headers when read
        assert entry.changes["format"] == [None, "csv_utf8"]
        assert "Customer" in translated(entry.changes["filters"][1])
        assert (record.row_count, record.columns, record.filters) == (
            1,
            ["name", "phone"],
            {"status": "customer", "sort": "updated"},
        )
        client.force_login(alice)
        log = client.get(reverse("history:log"), {"action": "export"}).content.decode()
        assert "Exported" in log and record.file_name in log
        assert "CSV (UTF-8 with BOM)" in log and "Name, Phone" in log


class TestShiftJis:
    def test_characters_cp932_cannot_hold_are_listed_and_nothing_is_sent(self, client, bob):
        karte = testing.make_customer(bob, name="𠮷田 花子", notes="よろしく😀")
        client.force_login(bob)
        response = client.post(URL, {"format": "csv_cp932", "columns": ["name", "notes"]})
        body = response.content.decode()
        assert "Content-Disposition" not in response
        assert "Shift_JIS (cp932) cannot hold 2 characters" in body
        assert "U+20BB7" in body and "U+1F600" in body
        assert f"#{karte.pk}" in body
        assert 'value="csv_utf8"' in body and 'name="unencodable" value="replace"' in body
        assert not HistoryEntry.objects.filter(action="export").exists()

    def test_the_user_may_choose_to_replace_them_with_geta_marks(self, client, bob):
        testing.make_customer(bob, name="𠮷田 花子")
        client.force_login(bob)
        response, body = download(
            client, {"format": "csv_cp932", "columns": ["name"], "unencodable": "replace"}
        )
        assert response["Content-Type"] == "text/csv; charset=Windows-31J"
        assert response["X-Enishi-Replaced-Characters"] == "1"
        assert csv_rows(body, "cp932") == [["Name"], ["〓田 花子"]]
        entry = HistoryEntry.objects.get(action="export")
        assert entry.changes["replaced"] == [None, 1]

    def test_text_cp932_holds_is_written_as_is(self, client, bob):
        testing.make_customer(bob, name="髙橋 ①")
        client.force_login(bob)
        _r, body = download(client, {"format": "csv_cp932", "columns": ["name"]})
        assert csv_rows(body, "cp932")[1] == ["髙橋 ①"]


def test_a_japanese_file_name_is_sent_as_rfc_5987(bob):
    result = ExportFile(
        record=Export(row_count=0),
        filename="顧客-2026-11-24.csv",
        content_type="text/csv",
        chunks=iter([b""]),
    )
    header = download_response(result)["Content-Disposition"]
    assert header == "attachment; filename*=utf-8''%E9%A1%A7%E5%AE%A2-2026-11-24.csv"


def test_a_formula_in_a_karte_is_exported_inert(client, bob):
    testing.make_customer(bob, name="攻撃", notes='=HYPERLINK("http://x","y")')
    client.force_login(bob)
    _r, body = download(client, {"format": "csv_utf8", "columns": ["notes"]})
    assert csv_rows(body)[1] == ['\'=HYPERLINK("http://x","y")']
    _r, body = download(client, {"format": "xlsx", "columns": ["notes"]})
    cell = openpyxl.load_workbook(io.BytesIO(body)).active["A2"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x","y")'
