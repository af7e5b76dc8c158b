"""Big exports: above the threshold the export page queues a background task (run at once in
tests), shows its progress, and offers the kept file to its creator and to administrators
only, until its time is up. Nothing half-written is ever left behind."""

import csv
import datetime
import io
import os
import time

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone, translation

from enishi.core import testing
from enishi.core.later import translated
from enishi.customers.selectors import CustomerFilters
from enishi.history.models import HistoryEntry
from enishi.transfer import export as export_module
from enishi.transfer import services
from enishi.transfer.models import Export

pytestmark = pytest.mark.django_db

URL = reverse("transfer:customer_export")


def csv_rows(body: bytes, encoding="utf-8-sig"):
    return list(csv.reader(io.StringIO(body.decode(encoding), newline="")))


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def kartes(bob, carol):
    return [
        testing.make_customer(bob, name="山田 太郎", phone="09012345678", code="0012"),
        testing.make_customer(bob, name="鈴木 一郎"),
        testing.make_customer(bob, name="佐藤 花子"),
        testing.make_customer(carol, name="機密 顧客花子"),
    ]


def start(client, data, query=""):
    response = client.post(f"{URL}?{query}", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Export.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


class TestTheBigExport:
    def test_the_page_says_it_will_be_prepared_in_the_background(
        self, client, bob, kartes, small_threshold
    ):
        client.force_login(bob)
        body = client.get(URL).content.decode()
        assert 'id="export-background"' in body and "Prepare the file" in body
        assert 'id="export-background"' not in client.get(URL, {"q": "山田"}).content.decode()

    def test_it_runs_as_a_task_and_keeps_the_file_for_its_creator(
        self, client, bob, kartes, small_threshold, data_dir
    ):
        client.force_login(bob)
        record = start(client, {"format": "csv_utf8", "columns": ["code", "name", "phone"]})
        assert record.status == Export.Status.DONE and record.background
        assert (record.row_count, record.done, record.total) == (3, 3, 3)
        assert record.expires_at - timezone.now() > datetime.timedelta(days=6, hours=23)
        kept = data_dir / "exports" / record.path
        assert kept.is_file() and not list((data_dir / "exports").glob("*.part"))
        assert record.file_size == kept.stat().st_size

        page = client.get(reverse("transfer:export_detail", args=[record.pk])).content.decode()
        assert "Ready." in page and reverse("transfer:export_download", args=[record.pk]) in page
        assert "every 1s" not in page  # finished: nothing polls any more

        response = client.get(reverse("transfer:export_download", args=[record.pk]))
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert record.file_name in response["Content-Disposition"]
        rows = csv_rows(body_of(response))
        assert rows[0] == ["Customer code", "Name", "Phone"]
        assert sorted(r[1] for r in rows[1:]) == ["佐藤 花子", "山田 太郎", "鈴木 一郎"]
        assert ["0012", "山田 太郎", "09012345678"] in rows  # leading zeros kept
        record.refresh_from_db()
        assert record.download_count == 1

    def test_it_is_recorded_in_the_history_once_the_file_is_ready(
        self, client, bob, kartes, small_threshold
    ):
        client.force_login(bob)
        record = start(client, {"format": "xlsx", "columns": ["name"]}, "kind=person")
        entry = HistoryEntry.objects.get(action=HistoryEntry.Action.EXPORT)
        assert (entry.actor, entry.model, entry.object_id) == (bob, "transfer.export", record.pk)
        assert entry.changes["row_count"] == [None, 3]
        assert entry.changes["background"] == [None, True]
        assert "Kind: Person" in translated(entry.changes["filters"][1])

    def test_an_xlsx_file_keeps_codes_as_text(self, client, bob, kartes, small_threshold):
        client.force_login(bob)
        record = start(client, {"format": "xlsx", "columns": ["code", "name"]})
        body = body_of(client.get(reverse("transfer:export_download", args=[record.pk])))
        ws = openpyxl.load_workbook(io.BytesIO(body)).active
        codes = [ws.cell(row=r, column=1) for r in range(2, 5)]
        assert any(c.value == "0012" and c.data_type == "s" for c in codes)

    def test_the_status_fragment_polls_until_the_export_is_finished(self, client, bob):
        record = Export.objects.create(
            created_by=bob,
            via="ui",
            format="csv_utf8",
            status=Export.Status.RUNNING,
            background=True,
            done=2000,
            total=8000,
            file_name="customers.csv",
            heartbeat_at=timezone.now(),
        )
        client.force_login(bob)
        url = reverse("transfer:export_status", args=[record.pk])
        body = client.get(url).content.decode()
        assert f'hx-get="{url}?polling=1"' in body and 'hx-trigger="every 1s"' in body
        assert "HX-Refresh" not in client.get(url, {"polling": "1"})
        assert '<progress max="100" value="25"' in body and "2,000 of 8,000 rows (25%)" in body
        Export.objects.filter(pk=record.pk).update(status=Export.Status.FAILED, error="壊れた")
        body = client.get(url).content.decode()
        assert "hx-get" not in body and "壊れた" in body
        # The page polling it had the heading and buttons of a running export: it reloads.
        assert client.get(url, {"polling": "1"})["HX-Refresh"] == "true"

    def test_a_running_export_without_progress_says_it_was_interrupted(self, client, bob):
        record = Export.objects.create(
            created_by=bob,
            via="ui",
            format="csv_utf8",
            status=Export.Status.RUNNING,
            background=True,
            file_name="customers.csv",
            heartbeat_at=timezone.now() - datetime.timedelta(hours=2),
        )
        client.force_login(bob)
        body = client.get(reverse("transfer:export_status", args=[record.pk])).content.decode()
        assert "probably interrupted" in body
        services.exports_expire()
        record.refresh_from_db()
        assert record.status == Export.Status.FAILED and "interrupted" in record.error_text


class TestWhoMayDownload:
    @pytest.fixture
    def record(self, client, bob, kartes, small_threshold):
        client.force_login(bob)
        record = start(client, {"format": "csv_utf8", "columns": ["name"]})
        client.logout()
        return record

    def test_nobody_else_sees_or_downloads_it(self, client, record, carol, erin, dave):
        for other in (carol, erin, dave):  # another team, Bob's manager, Bob's read-only mate
            client.force_login(other)
            for name in ("export_detail", "export_status", "export_download"):
                assert client.get(reverse(f"transfer:{name}", args=[record.pk])).status_code == 404
            assert (
                client.post(reverse("transfer:export_discard", args=[record.pk])).status_code == 404
            )
            assert (
                record.file_name not in client.get(reverse("transfer:export_list")).content.decode()
            )
        record.refresh_from_db()
        assert record.download_count == 0 and record.status == Export.Status.DONE

    def test_an_administrator_downloads_it_and_that_is_recorded(self, client, record, alice):
        client.force_login(alice)
        response = client.get(reverse("transfer:export_download", args=[record.pk]))
        assert response.status_code == 200 and body_of(response)
        entry = HistoryEntry.objects.filter(action="export", actor=alice).get()
        assert entry.object_id == record.pk and entry.changes["download_count"] == [0, 1]

    def test_the_history_page_lists_ones_own_and_for_admins_everyones(
        self, client, record, alice, carol
    ):
        own = Export.objects.create(
            created_by=carol, via="ui", format="xlsx", file_name="キャロルの書き出し.xlsx"
        )
        client.force_login(carol)
        body = client.get(reverse("transfer:export_list")).content.decode()
        assert own.file_name in body and f'data-export="{record.pk}"' not in body
        client.force_login(alice)
        body = client.get(reverse("transfer:export_list")).content.decode()
        assert own.file_name in body and f'data-export="{record.pk}"' in body
        assert "Everyone&#x27;s exports" in body or "Everyone's exports" in body
        mine = client.get(reverse("transfer:export_list"), {"creator": carol.pk}).content.decode()
        assert own.file_name in mine and f'data-export="{record.pk}"' not in mine


class TestKeptForALimitedTime:
    def test_an_expired_file_is_removed_and_can_no_longer_be_downloaded(
        self, client, bob, kartes, small_threshold, data_dir
    ):
        client.force_login(bob)
        record = start(client, {"format": "csv_utf8", "columns": ["name"]})
        kept = data_dir / "exports" / record.path
        url = reverse("transfer:export_download", args=[record.pk])
        Export.objects.filter(pk=record.pk).update(
            expires_at=timezone.now() - datetime.timedelta(minutes=1)
        )
        response = client.get(url)
        assert response.status_code == 410 and "has been removed" in response.content.decode()
        assert services.exports_expire() == 1
        assert not kept.exists()
        record.refresh_from_db()
        assert (record.status, record.path) == (Export.Status.EXPIRED, "")
        assert client.get(url).status_code == 410
        listed = client.get(reverse("transfer:export_list")).content.decode()
        assert "Expired" in listed and url not in listed

    def test_the_command_sweeps_files_no_export_points_to(self, data_dir):
        from django.core.management import call_command

        folder = data_dir / "exports"
        folder.mkdir()
        stray = folder / "999-abandoned.csv.part"
        stray.write_bytes(b"half")
        fresh = folder / "998-just-written.csv"
        fresh.write_bytes(b"new")
        old = time.time() - 2 * 24 * 3600
        os.utime(stray, (old, old))
        out = io.StringIO()
        call_command("exports_expire", stdout=out)
        assert not stray.exists() and fresh.exists()
        assert "1 file(s) removed" in out.getvalue()

    def test_the_creator_may_remove_the_file_before_its_time(
        self, client, bob, kartes, small_threshold, data_dir
    ):
        client.force_login(bob)
        record = start(client, {"format": "csv_utf8", "columns": ["name"]})
        response = client.post(reverse("transfer:export_discard", args=[record.pk]))
        assert response.status_code == 302
        record.refresh_from_db()
        assert record.status == Export.Status.EXPIRED and not record.path
        assert not list((data_dir / "exports").iterdir())
        assert "Removed by" in record.error_text

    def test_a_cancel_sent_after_the_export_finished_keeps_the_file(
        self, client, bob, kartes, small_threshold, data_dir
    ):
        client.force_login(bob)
        record = start(client, {"format": "csv_utf8", "columns": ["name"]})
        assert record.status == Export.Status.DONE
        response = client.post(
            reverse("transfer:export_discard", args=[record.pk]), {"intent": "cancel"}, follow=True
        )
        record.refresh_from_db()
        assert record.status == Export.Status.DONE and record.path
        assert "already finished" in response.content.decode()


class TestNothingHalfDone:
    def test_characters_cp932_cannot_hold_fail_the_export_with_the_list_and_leave_no_file(
        self, client, bob, small_threshold, data_dir
    ):
        karte = testing.make_customer(bob, name="𠮷田 花子")
        testing.make_customer(bob, name="山田 太郎")
        testing.make_customer(bob, name="佐藤 😀")
        client.force_login(bob)
        record = start(client, {"format": "csv_cp932", "columns": ["name"]})
        assert record.status == Export.Status.FAILED
        assert "cannot hold 2 characters" in record.error_text
        assert {p["code_points"] for p in record.problems} == {"U+20BB7", "U+1F600"}
        assert not list((data_dir / "exports").iterdir())
        assert not HistoryEntry.objects.filter(action="export").exists()
        page = client.get(reverse("transfer:export_detail", args=[record.pk])).content.decode()
        assert f"#{karte.pk}" in page and "U+20BB7" in page
        assert 'name="unencodable" value="replace"' in page and 'value="csv_utf8"' in page

        # The user chooses the replacement: a new export, recorded with the choice.
        again = start(
            client, {"format": "csv_cp932", "columns": ["name"], "unencodable": "replace"}
        )
        assert again.status == Export.Status.DONE
        assert (again.replace_unencodable, again.replaced) == (True, 2)
        body = body_of(client.get(reverse("transfer:export_download", args=[again.pk])))
        assert ["〓田 花子"] in csv_rows(body, "cp932")
        entry = HistoryEntry.objects.get(action="export")
        assert entry.changes["replaced"] == [None, 2]

    def test_a_failure_while_writing_leaves_no_file_and_says_so(
        self, client, bob, kartes, small_threshold, data_dir, monkeypatch
    ):
        def broken(*args, **kwargs):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(services, "write_csv", broken)
        client.force_login(bob)
        record = start(client, {"format": "csv_utf8", "columns": ["name"]})
        assert record.status == Export.Status.FAILED
        assert "failed unexpectedly (RuntimeError)" in record.error_text
        assert not list((data_dir / "exports").iterdir())

    def test_a_full_disk_is_explained(
        self, client, bob, kartes, small_threshold, data_dir, monkeypatch
    ):
        def full(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(services, "write_xlsx", full)
        client.force_login(bob)
        record = start(client, {"format": "xlsx", "columns": ["name"]})
        assert record.status == Export.Status.FAILED and "disk is full" in record.error_text

    def test_cancelling_stops_the_task_at_its_next_step_and_removes_the_part_file(
        self, bob, kartes, data_dir, monkeypatch
    ):
        monkeypatch.setattr(services, "TASK_BACKEND", "default")
        record = Export.objects.create(
            created_by=bob,
            via="ui",
            format="csv_utf8",
            status=Export.Status.QUEUED,
            background=True,
            columns=["name"],
            filters={"sort": "updated"},
            file_name="customers.csv",
        )
        real_rows = services.customer_rows

        def rows_then_cancel(*args, **kwargs):
            for number, row in enumerate(real_rows(*args, **kwargs)):
                if number == 1:
                    services.export_discard(actor=bob, record=Export.objects.get(pk=record.pk))
                yield row

        monkeypatch.setattr(services, "customer_rows", rows_then_cancel)
        monkeypatch.setattr(
            services._Progress, "counting", lambda self, rows, every=1: _every(self, rows)
        )
        result = services.export_run(export_id=record.pk)
        assert result.status == Export.Status.CANCELLED
        with translation.override("ja"):  # read in Japanese, whoever cancelled
            assert "が中止しました" in result.error_text
        assert not list((data_dir / "exports").iterdir())
        assert services.export_run(export_id=record.pk) is None  # never runs twice

    def test_one_person_may_have_only_a_few_exports_waiting(self, bob, kartes, small_threshold):
        for _ in range(services.MAX_ACTIVE_PER_USER):
            Export.objects.create(
                created_by=bob,
                via="ui",
                format="xlsx",
                status=Export.Status.RUNNING,
                file_name="x.xlsx",
            )
        with (
            translation.override("en"),
            pytest.raises(services.ValidationError, match="already have 3 exports"),
        ):
            services.customer_export_start(
                actor=bob, filters=CustomerFilters(), column_keys=["name"], file_format="xlsx"
            )

    def test_an_xlsx_export_beyond_excels_rows_is_refused_before_it_starts(
        self, client, bob, kartes, small_threshold, monkeypatch
    ):
        monkeypatch.setattr(services, "XLSX_MAX_ROWS", 2)
        client.force_login(bob)
        body = client.post(URL, {"format": "xlsx", "columns": ["name"]}).content.decode()
        assert "Excel sheets hold at most 2 rows; this export has 3" in body
        assert not Export.objects.exists()
        assert export_module.XLSX_MAX_ROWS == 1_048_575


def _every(progress, rows):
    for row in rows:
        yield row
        progress(1)


def test_a_background_export_costs_the_same_queries_for_5_or_50_kartes(
    bob, small_threshold, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def run(count):
        for i in range(count):
            testing.make_customer(bob, name=f"顧客 {i}")
        with CaptureQueriesContext(connection) as ctx:
            services.customer_export_start(
                actor=bob,
                filters=CustomerFilters(),
                column_keys=["name", "owner", "tags", "company"],
                file_format="csv_utf8",
            )
        return len(ctx.captured_queries)

    small = run(5)
    Export.objects.all().delete()
    HistoryEntry.objects.filter(action="export").delete()
    assert run(45) == small
    with django_assert_max_num_queries(small):
        services.customer_export_start(
            actor=bob, filters=CustomerFilters(), column_keys=["name"], file_format="xlsx"
        )
