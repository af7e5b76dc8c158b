"""Exports through /api/v1 with tokens: columns, an export at once, a background export
started, polled and downloaded, the full-data export for administrators, and permissions."""

import csv
import io
import zipfile

import pytest
from django.utils import timezone

from enishi.api.models import ApiToken
from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.transfer.models import Export

pytestmark = pytest.mark.django_db


def api(client, user, **kwargs):
    return ApiClient(client, issue_token(user, **kwargs), language="en")


def csv_rows(body: bytes, encoding="utf-8-sig"):
    return list(csv.reader(io.StringIO(body.decode(encoding), newline="")))


def content(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def kartes(alice, bob, carol, allergy):
    return [
        testing.make_customer(
            alice,
            owner=bob,
            name="山田 太郎",
            phone="09012345678",
            custom_fields={"allergies": "卵"},
        ),
        testing.make_customer(bob, name="鈴木 一郎", status="customer"),
        testing.make_customer(bob, name="=cmd|' /C calc'!A0"),
        testing.make_customer(carol, name="機密 顧客花子"),
    ]


class TestColumns:
    def test_sensitive_columns_are_listed_only_for_roles_that_may_see_them(
        self, client, bob, erin, allergy
    ):
        keys = [c["key"] for c in api(client, bob).get("/customers/export/columns").json()]
        assert "name" in keys and "cf:allergies" not in keys
        listed = api(client, erin).get("/customers/export/columns").json()
        allergies = next(c for c in listed if c["key"] == "cf:allergies")
        assert allergies == {
            "key": "cf:allergies", "label": "Allergies", "group": "More fields", "sensitive": True
        }  # fmt: skip


class TestAtOnce:
    def test_a_member_exports_what_they_see_with_the_columns_they_pick(self, client, bob, kartes):
        response = api(client, bob).get("/customers/export", {"columns": "name,phone"})
        assert response.status_code == 200
        rows = csv_rows(content(response))
        assert rows[0] == ["Name", "Phone"]
        names = sorted(r[0] for r in rows[1:])
        assert names == ["'=cmd|' /C calc'!A0", "山田 太郎", "鈴木 一郎"]  # the formula inert
        entry = HistoryEntry.objects.get(action="export")
        assert (entry.actor, entry.via) == (bob, "api")

    def test_a_sensitive_column_is_refused_to_a_member(self, client, bob, kartes):
        response = api(client, bob).get("/customers/export", {"columns": "name,cf:allergies"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "columns"
        assert "卵" not in response.content.decode()

    def test_cp932_lists_what_it_cannot_hold(self, client, bob):
        karte = testing.make_customer(bob, name="𠮷田 花子")
        response = api(client, bob).get(
            "/customers/export", {"columns": "name", "encoding": "cp932"}
        )
        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert error["code"] == "unencodable" and f"karte {karte.pk}" in error["message"]
        assert "U+20BB7" in error["message"]
        replaced = api(client, bob).get(
            "/customers/export", {"columns": "name", "encoding": "cp932", "unencodable": "replace"}
        )
        assert csv_rows(content(replaced), "cp932") == [["Name"], ["〓田 花子"]]

    def test_more_than_the_threshold_is_sent_to_the_background(
        self, client, bob, kartes, small_threshold
    ):
        response = api(client, bob).get("/customers/export")
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "too_many_rows"
        assert not Export.objects.exists()


class TestInTheBackground:
    def test_start_poll_and_download(self, client, bob, kartes):
        bob_api = api(client, bob)
        response = bob_api.post(
            "/exports",
            {"format": "xlsx", "columns": ["name", "status"], "filters": {"status": "customer"}},
        )
        assert response.status_code == 202, response.json()
        started = response.json()
        assert response["Location"] == f"/api/v1/exports/{started['id']}"
        polled = bob_api.get(f"/exports/{started['id']}").json()
        assert polled["status"] == "done" and polled["row_count"] == 1
        assert polled["format"] == "xlsx" and polled["columns"] == ["name", "status"]
        assert polled["download_url"] == f"/api/v1/exports/{started['id']}/file"
        assert polled["expires_at"] is not None
        file = bob_api.get(f"/exports/{started['id']}/file")
        assert file.status_code == 200
        import openpyxl

        ws = openpyxl.load_workbook(io.BytesIO(content(file))).active
        assert [c.value for c in ws[2]] == ["鈴木 一郎", "Customer"]

    def test_a_read_only_token_may_export_but_not_delete(self, client, bob, kartes):
        reader = api(client, bob, scopes=ApiToken.Scopes.READ)
        started = reader.post("/exports", {"columns": ["name"]})
        assert started.status_code == 202
        response = reader.delete(f"/exports/{started.json()['id']}")
        assert response.status_code == 403
        writer = api(client, bob)
        assert writer.delete(f"/exports/{started.json()['id']}").status_code == 204
        record = Export.objects.get()
        assert record.status == Export.Status.EXPIRED and not record.path
        assert writer.get(f"/exports/{record.pk}/file").status_code == 410

    def test_cp932_failure_is_reported_with_the_cells(self, client, bob):
        testing.make_customer(bob, name="𠮷田 花子")
        started = (
            api(client, bob).post("/exports", {"columns": ["name"], "encoding": "cp932"}).json()
        )
        assert started["status"] == "failed"
        assert started["unencodable"][0]["characters"] == "𠮷"
        assert started["unencodable"][0]["row"] == 2
        response = api(client, bob).get(f"/exports/{started['id']}/file")
        assert response.status_code == 409

    def test_bad_choices_are_explained(self, client, bob, kartes):
        bob_api = api(client, bob)
        response = bob_api.post("/exports", {"columns": ["nope"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "columns"
        response = bob_api.post("/exports", {"filters": {"tag": "ない"}})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "filters.tag"
        response = bob_api.post("/exports", {"format": "pdf"})
        assert response.status_code == 422
        response = bob_api.post("/exports", {"extra": 1})
        assert response.status_code == 422
        assert not Export.objects.exists()

    def test_too_many_running_exports_answer_409(self, client, bob, kartes):
        for _ in range(3):
            Export.objects.create(
                created_by=bob, via="api", format="xlsx", status="running", file_name="x.xlsx"
            )
        response = api(client, bob).post("/exports", {"columns": ["name"]})
        assert response.status_code == 409

    def test_the_list_is_ones_own_and_for_admins_everyones(self, client, alice, bob, carol, kartes):
        api(client, bob).post("/exports", {"columns": ["name"]})
        api(client, carol).post("/exports", {"columns": ["name"]})
        bobs = api(client, bob).get("/exports").json()["results"]
        assert [e["created_by_id"] for e in bobs] == [bob.pk]
        everyone = api(client, alice).get("/exports").json()["results"]
        assert {e["created_by_id"] for e in everyone} == {bob.pk, carol.pk}
        assert api(client, alice).get("/exports", {"mine": "true"}).json()["results"] == []
        page = api(client, alice).get("/exports", {"limit": 1}).json()
        assert len(page["results"]) == 1 and page["next_cursor"]
        rest = api(client, alice).get("/exports", {"cursor": page["next_cursor"]}).json()
        assert len(rest["results"]) == 1 and rest["next_cursor"] is None

    def test_an_administrator_downloads_someone_elses_file_and_it_is_recorded(
        self, client, alice, bob, kartes
    ):
        started = api(client, bob).post("/exports", {"columns": ["name"]}).json()
        response = api(client, alice).get(f"/exports/{started['id']}/file")
        assert response.status_code == 200
        assert HistoryEntry.objects.filter(action="export", actor=alice, via="api").exists()

    def test_an_expired_file_answers_410(self, client, bob, kartes):
        started = api(client, bob).post("/exports", {"columns": ["name"]}).json()
        Export.objects.filter(pk=started["id"]).update(expires_at=timezone.now())
        assert api(client, bob).get(f"/exports/{started['id']}").json()["status"] == "expired"
        assert api(client, bob).get(f"/exports/{started['id']}/file").status_code == 410


class TestFullExport:
    def test_administrators_only(self, client, bob, erin):
        for user in (bob, erin):
            response = api(client, user).post("/exports/full")
            assert response.status_code == 403
        assert not Export.objects.exists()

    def test_an_admin_starts_it_and_downloads_the_zip(self, client, alice, kartes):
        alice_api = api(client, alice)
        started = alice_api.post("/exports/full")
        assert started.status_code == 202
        body = started.json()
        assert (body["kind"], body["format"], body["status"]) == ("full", "zip", "done")
        file = alice_api.get(f"/exports/{body['id']}/file")
        assert file["Content-Type"] == "application/zip"
        zf = zipfile.ZipFile(io.BytesIO(content(file)))
        assert "manifest.json" in zf.namelist() and "customers.jsonl" in zf.namelist()
        entry = HistoryEntry.objects.get(action="export", object_id=body["id"])
        assert entry.via == "api" and entry.changes["kind"] == [None, "full"]
