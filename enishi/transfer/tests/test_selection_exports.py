"""The customer list's kartes as one .vcf or one PDF are exports like a list export: one row in
the export history (who, when, the filters, the format, how many kartes) and one line in the
audit log. Each karte's own history still says it was exported (in the export's batch), but
the audit log shows that line only for the karte or for the export, not a line per karte in
between everything else. Alice is an admin; Bob a member of 営業1課; Carol of 営業2課; Erin
manages 営業1課."""

import pytest
from django.urls import reverse

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.transfer import services
from enishi.transfer.models import Export
from enishi.transfer.vcard import parse_vcards

pytestmark = pytest.mark.django_db

URL = reverse("cards:selection")


@pytest.fixture
def kartes(bob, carol):
    made = [testing.make_customer(bob, name=f"名簿 太郎{i}", rank="A") for i in range(12)]
    testing.make_customer(bob, name="名簿 外れ", rank="B")
    testing.make_customer(carol, name="機密 顧客", rank="A")
    return made


def export_vcards(client, query="rank=A", file_format="vcard3"):
    response = client.post(f"{URL}?{query}", {"format": file_format})
    assert response.status_code == 200, response.content.decode()[:2000]
    return response


def per_karte(record: Export):
    return HistoryEntry.objects.filter(
        action="export", model="customers.customer", batch=services.export_batch(record)
    )


def test_a_vcard_selection_is_one_export_in_the_history(client, bob, kartes):
    client.force_login(bob)
    response = export_vcards(client)
    assert len(parse_vcards(response.content, max_cards=50).cards) == 12

    record = Export.objects.get()
    assert (record.kind, record.format, record.status) == ("vcard", "vcard3", "done")
    assert (record.created_by, record.via, record.background) == (bob, "ui", False)
    assert (record.row_count, record.done, record.total) == (12, 12, 12)
    assert record.filters == {"rank": "A", "sort": "updated"}
    assert record.file_name.endswith(".vcf") and not record.path

    entry = HistoryEntry.objects.get(model="transfer.export")
    assert (entry.object_id, entry.actor, entry.customer_id) == (record.pk, bob, None)
    assert entry.batch == f"export:{record.pk}"
    assert entry.changes["kind"] == [None, "vcard"]
    assert entry.changes["format"] == [None, "vcard3"]
    assert entry.changes["row_count"] == [None, 12]
    assert entry.changes["filters"][1]  # the list's filters, kept as a message

    # Each karte's history still says it left as a vCard, in the export's batch.
    assert sorted(per_karte(record).values_list("customer_id", flat=True)) == sorted(
        k.pk for k in kartes
    )
    changes = list(per_karte(record).values_list("changes", flat=True))
    assert changes == [{"format": [None, "vcard 3.0"]}] * 12


def test_vcard_4_is_recorded_as_such(client, bob, kartes):
    client.force_login(bob)
    export_vcards(client, file_format="vcard4")
    assert Export.objects.get().format == "vcard4"


def test_the_export_history_lists_it_with_its_filters_and_count(client, bob, kartes):
    client.force_login(bob)
    export_vcards(client)
    record = Export.objects.get()
    body = client.get(reverse("transfer:export_list")).content.decode()
    assert f'data-export="{record.pk}"' in body
    assert "vCards" in body and "vCard 3.0 (.vcf)" in body
    assert "Downloaded at once" in body
    only = client.get(reverse("transfer:export_list"), {"kind": "vcard"}).content.decode()
    assert f'data-export="{record.pk}"' in only

    page = client.get(reverse("transfer:export_detail", args=[record.pk])).content.decode()
    assert "Rank: A" in page
    assert "12 kartes in one .vcf file" in page
    assert "Downloaded at once." in page and "12 kartes" in page
    assert reverse("cards:selection") + "?rank=A" in page  # export again


def test_nobody_else_sees_it_but_an_administrator(client, bob, carol, alice, kartes):
    client.force_login(bob)
    export_vcards(client)
    record = Export.objects.get()
    client.force_login(carol)
    assert client.get(reverse("transfer:export_detail", args=[record.pk])).status_code == 404
    assert (
        f'data-export="{record.pk}"'
        not in client.get(reverse("transfer:export_list")).content.decode()
    )
    client.force_login(alice)
    assert client.get(reverse("transfer:export_detail", args=[record.pk])).status_code == 200


def test_a_pdf_printed_at_once_is_one_export_too(client, bob, kartes, settings):
    settings.ENISHI_PRINT_BACKGROUND_KARTES = 10
    client.force_login(bob)
    response = client.post(f"{URL}?q=太郎1", {"format": "pdf"})  # 太郎1, 太郎10, 太郎11
    assert response["Content-Type"] == "application/pdf"
    record = Export.objects.get()
    assert (record.kind, record.format, record.background) == ("print", "pdf", False)
    assert record.row_count == 3 and record.filters == {"q": "太郎1", "sort": "updated"}
    assert per_karte(record).count() == 3
    entry = HistoryEntry.objects.get(model="transfer.export")
    assert entry.changes["kind"] == [None, "print"] and entry.changes["row_count"] == [None, 3]
    page = client.get(reverse("transfer:export_detail", args=[record.pk])).content.decode()
    assert "Printable kartes" in page and "Downloaded at once." in page and "3 kartes" in page


def test_a_background_print_puts_each_kartes_line_in_its_batch(client, bob, kartes, settings):
    settings.ENISHI_PRINT_BACKGROUND_KARTES = 2
    client.force_login(bob)
    response = client.post(f"{URL}?q=太郎1", {"format": "pdf"})
    assert response.status_code == 302
    record = Export.objects.get()
    assert record.background and record.status == "done"
    assert per_karte(record).count() == 3
    entry = HistoryEntry.objects.get(model="transfer.export")
    assert entry.batch == f"export:{record.pk}"


def test_a_refused_or_empty_selection_is_no_export(client, bob, kartes):
    client.force_login(bob)
    assert client.post(f"{URL}?q=誰もいない", {"format": "vcard3"}).status_code == 400
    assert client.post(f"{URL}?rank=A", {"format": "nonsense"}).status_code == 400
    assert not Export.objects.exists() and not HistoryEntry.objects.filter(action="export")


def test_one_kartes_vcard_stays_a_line_of_its_own(client, bob, kartes):
    client.force_login(bob)
    client.get(reverse("cards:vcard", args=[kartes[0].pk]))
    assert not Export.objects.exists()
    entry = HistoryEntry.objects.get(action="export")
    assert (entry.customer_id, entry.batch) == (kartes[0].pk, "")


def test_the_audit_log_shows_the_export_once_not_a_line_per_karte(client, alice, bob, kartes):
    client.force_login(bob)
    export_vcards(client)
    client.get(reverse("cards:pdf", args=[kartes[0].pk]))  # one karte: its own line
    record = Export.objects.get()
    client.force_login(alice)

    def karte_links(body: str) -> set[int]:
        return {
            k.pk for k in kartes if f'href="{reverse("customers:detail", args=[k.pk])}"' in body
        }

    exported = {"action": "export"}
    log = client.get(reverse("history:log"), exported).content.decode()
    assert karte_links(log) == {kartes[0].pk}  # the one karte's PDF, not the twelve vCards
    assert log.count('class="h-meta"') == 2  # that PDF and the vCard export, once
    assert record.file_name in log
    assert f'href="?batch=export%3A{record.pk}" data-export-kartes="{record.pk}"' in log

    body = client.get(
        reverse("history:log"), {**exported, "batch": f"export:{record.pk}"}
    ).content.decode()
    assert body.count('class="h-meta"') == 13  # the export and its twelve kartes
    assert karte_links(body) == {k.pk for k in kartes}
    one = client.get(reverse("history:log"), {"customer": kartes[5].pk}).content.decode()
    assert record.file_name in one  # the karte's line names the export it was in


def test_a_kartes_history_names_and_links_the_export(client, bob, erin, kartes):
    client.force_login(bob)
    export_vcards(client)
    record = Export.objects.get()
    karte = client.get(reverse("customers:detail", args=[kartes[3].pk])).content.decode()
    assert reverse("transfer:export_detail", args=[record.pk]) in karte
    assert record.file_name in karte
    # A manager sees the karte's line, named, but may not open Bob's export.
    client.force_login(erin)
    karte = client.get(reverse("customers:detail", args=[kartes[3].pk])).content.decode()
    assert record.file_name in karte
    assert reverse("transfer:export_detail", args=[record.pk]) not in karte


def test_the_api_lists_it(client, bob, kartes):
    client.force_login(bob)
    export_vcards(client, file_format="vcard4")
    record = Export.objects.get()
    api = ApiClient(client, issue_token(bob), language="en")
    described = api.get(f"/exports/{record.pk}").json()
    assert (described["kind"], described["format"], described["row_count"]) == (
        "vcard",
        "vcard4",
        12,
    )
    assert described["download_url"] is None
    listed = api.get("/exports", {"kind": "vcard"}).json()["results"]
    assert [e["id"] for e in listed] == [record.pk]


def test_recording_the_export_costs_the_same_for_any_number_of_kartes(
    client, bob, django_assert_max_num_queries
):
    for i in range(40):
        testing.make_customer(bob, name=f"社員 {i}", rank="A")
    client.force_login(bob)
    # The page's own reads (session, user, the kartes, their companies), the export's row and
    # entry, the kartes' entries in one bulk insert, savepoints.
    with django_assert_max_num_queries(12):
        response = client.post(f"{URL}?rank=A", {"format": "vcard3"})
    assert response.content.decode().count("BEGIN:VCARD") == 40
