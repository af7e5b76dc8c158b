"""Printing a big selection: above the in-request threshold the print page queues a background
export of kind "print" (run at once in tests), laid out a batch at a time, kept and offered
like the other background exports. Visibility is checked again when the task runs."""

import pytest
from django.urls import reverse

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.customers.selectors import CustomerFilters
from enishi.history.models import HistoryEntry
from enishi.transfer import card_services, services
from enishi.transfer.models import Export

from .test_print_pdf import footer, page_count, pdf_pages_text

pytestmark = pytest.mark.django_db

URL = reverse("cards:selection")


@pytest.fixture
def print_threshold(settings):
    """Up to 2 kartes are printed at once; more (up to 6) in the background."""
    settings.ENISHI_PRINT_BACKGROUND_KARTES = 2
    settings.ENISHI_PRINT_MAX_KARTES = 6
    return 2


@pytest.fixture
def kartes(bob, carol):
    made = [testing.make_customer(bob, name=f"印刷 太郎{i}", tags=["印刷"]) for i in range(4)]
    testing.make_customer(carol, name="機密 顧客花子", tags=["印刷"])
    return made


def start_print(client, query="") -> Export:
    response = client.post(f"{URL}?{query}", {"format": "pdf"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith(reverse("transfer:export_list"))
    return Export.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def kept_pdf(client, record) -> bytes:
    response = client.get(reverse("transfer:export_download", args=[record.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return b"".join(response.streaming_content)


def test_it_prints_a_small_selection_at_once(client, bob, kartes, print_threshold):
    client.force_login(bob)
    tag = kartes[0].tags.get().pk
    body = client.get(URL, {"tag": tag, "q": "太郎1"}).content.decode()
    assert 'id="selection-pdf"' in body and 'data-background="1"' not in body
    response = client.post(f"{URL}?q=太郎1", {"format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert page_count(response.content) == 1
    record = Export.objects.get()  # listed in the export history, nothing kept on the server
    assert (record.kind, record.background, record.row_count, record.path) == (
        "print",
        False,
        1,
        "",
    )


def test_the_page_says_a_big_selection_is_prepared_in_the_background(
    client, bob, kartes, print_threshold
):
    client.force_login(bob)
    body = client.get(URL).content.decode()
    assert 'data-background="1"' in body and 'id="selection-pdf-background"' in body
    assert "Prepare the PDF in the background (4 kartes)" in body


def test_it_prepares_a_big_selection_in_the_background(
    client, bob, kartes, print_threshold, data_dir
):
    client.force_login(bob)
    record = start_print(client)
    assert (record.kind, record.format, record.status) == ("print", "pdf", Export.Status.DONE)
    assert record.background and (record.row_count, record.done, record.total) == (4, 4, 4)
    assert record.file_name.endswith(".pdf")
    assert sorted(record.filters["ids"]) == sorted(k.pk for k in kartes)
    assert (data_dir / "exports" / record.path).is_file()

    page = client.get(reverse("transfer:export_detail", args=[record.pk])).content.decode()
    assert "Ready." in page and "4 kartes" in page and "Printable kartes" in page

    pdf = kept_pdf(client, record)
    pages = pdf_pages_text(pdf)
    assert page_count(pdf) >= 4 and len(pages) >= 4
    names = [f"印刷 太郎{i}" for i in range(4)]
    assert all(any(name in text for text in pages) for name in names)
    assert not any("機密" in text for text in pages)  # Carol's karte is not Bob's to print


def test_each_karte_counts_its_own_pages_across_batches(
    client, bob, kartes, print_threshold, monkeypatch
):
    """Kartes are handed out one by one: a page says where it is within its karte."""
    monkeypatch.setattr(card_services, "PRINT_BATCH", 3)
    kartes[1].notes = "長い記録です。\n" * 120
    kartes[1].save()
    client.force_login(bob)
    record = start_print(client)
    pages = pdf_pages_text(kept_pdf(client, record))
    long = len(pages) - 3
    assert long >= 2
    assert [footer(page) for page in pages if "印刷 太郎1" in page] == [
        f"{n} / {long}" for n in range(1, long + 1)
    ]
    assert [footer(page) for page in pages if "印刷 太郎1" not in page] == ["1 / 1"] * 3


def test_progress_is_written_per_batch(bob, kartes, print_threshold, monkeypatch):
    monkeypatch.setattr(card_services, "PRINT_BATCH", 3)
    steps = []
    real = services._Progress.__call__

    def spy(self, rows):
        steps.append(rows)
        return real(self, rows)

    monkeypatch.setattr(services._Progress, "__call__", spy)
    services.print_export_start(
        actor=bob,
        filters=CustomerFilters(),
        customer_ids=[k.pk for k in kartes],
        base_url="http://testserver/",
    )
    assert steps == [3, 1]


def test_it_records_the_same_history_as_printing_at_once(
    client, bob, kartes, print_threshold, allergy
):
    client.force_login(bob)
    record = start_print(client)
    per_karte = HistoryEntry.objects.filter(
        action="export", model="customers.customer", changes__format=[None, "pdf"]
    )
    assert sorted(per_karte.values_list("customer_id", flat=True)) == sorted(k.pk for k in kartes)
    assert set(per_karte.values_list("actor", flat=True)) == {bob.pk}
    entry = HistoryEntry.objects.get(model="transfer.export", object_id=record.pk)
    assert entry.changes["kind"] == [None, "print"] and entry.changes["background"] == [None, True]
    assert entry.changes["row_count"] == [None, 4]


def test_an_admin_printing_sensitive_fields_records_the_views(
    client, alice, bob, allergy, print_threshold
):
    for i in range(3):
        testing.make_customer(
            alice, owner=bob, name=f"来店 花子{i}", custom_fields={"allergies": "そば"}
        )
    client.force_login(alice)
    record = start_print(client)
    assert record.status == Export.Status.DONE
    assert "そば" in "".join(pdf_pages_text(kept_pdf(client, record)))
    assert HistoryEntry.objects.filter(action="view_sensitive", actor=alice).count() == 3


def test_a_karte_no_longer_visible_at_run_time_is_left_out(bob, carol, kartes, print_threshold):
    ids = [k.pk for k in kartes]
    hidden = kartes[1]
    hidden.owner = carol
    hidden.team = carol.team
    hidden.save(update_fields=["owner", "team"])
    record = services.print_export_start(
        actor=bob, filters=CustomerFilters(), customer_ids=ids, base_url="http://testserver/"
    )
    record.refresh_from_db()
    assert record.status == Export.Status.DONE
    assert record.row_count == 3 and record.problems == [{"left_out": 1}]
    printed = HistoryEntry.objects.filter(action="export", model="customers.customer")
    assert hidden.pk not in set(printed.values_list("customer_id", flat=True))
    entry = HistoryEntry.objects.get(model="transfer.export", object_id=record.pk)
    assert entry.changes["left_out"] == [None, 1]


def test_the_page_says_how_many_were_left_out(client, bob, carol, kartes, print_threshold):
    hidden = kartes[0]
    hidden.owner, hidden.team = carol, carol.team
    hidden.save(update_fields=["owner", "team"])
    record = services.print_export_start(
        actor=bob,
        filters=CustomerFilters(),
        customer_ids=[k.pk for k in kartes],
        base_url="http://testserver/",
    )
    client.force_login(bob)
    page = client.get(reverse("transfer:export_detail", args=[record.pk])).content.decode()
    assert 'id="export-left-out"' in page and "1 chosen karte was left out" in page


def test_it_fails_clearly_when_no_karte_is_visible_any_more(bob, carol, print_threshold):
    theirs = [testing.make_customer(carol, name=f"機密 {i}") for i in range(3)]
    record = services.print_export_start(
        actor=bob,
        filters=CustomerFilters(),
        customer_ids=[k.pk for k in theirs],
        base_url="http://testserver/",
    )
    record.refresh_from_db()
    assert record.status == Export.Status.FAILED and not record.path
    assert "閲覧できなくなった" in record.error_text
    assert not HistoryEntry.objects.filter(action="export").exists()


def test_cancelling_stops_it_after_the_current_batch(
    bob, kartes, print_threshold, data_dir, monkeypatch
):
    monkeypatch.setattr(card_services, "PRINT_BATCH", 2)
    record = Export.objects.create(
        created_by=bob,
        via="ui",
        kind=Export.Kind.PRINT,
        format=Export.Format.PDF,
        status=Export.Status.QUEUED,
        background=True,
        total=4,
        filters={"ids": [k.pk for k in kartes], "base_url": "http://testserver/"},
        file_name="kartes.pdf",
    )
    real_add = card_services.KarteBook.add
    batches = []

    def add_then_cancel(self, prints):
        batches.append(len(prints))
        services.export_discard(actor=bob, record=Export.objects.get(pk=record.pk))
        return real_add(self, prints)

    monkeypatch.setattr(card_services.KarteBook, "add", add_then_cancel)
    result = services.export_run(export_id=record.pk)
    assert result.status == Export.Status.CANCELLED and not result.path
    assert batches == [2]  # the second batch was never laid out
    assert not list((data_dir / "exports").iterdir())
    assert not HistoryEntry.objects.filter(action="export").exists()


def test_more_than_the_limit_is_refused(client, bob, print_threshold):
    for i in range(7):
        testing.make_customer(bob, name=f"ボブ 顧客{i}")
    client.force_login(bob)
    body = client.get(URL).content.decode()
    assert 'id="selection-pdf-too-many"' in body and 'id="selection-pdf"' not in body
    response = client.post(URL, {"format": "pdf"})
    assert response.status_code == 400 and "more than 6" in response.content.decode()
    assert not Export.objects.exists()


def test_the_per_user_cap_on_waiting_exports_applies(
    client, bob, kartes, print_threshold, monkeypatch
):
    monkeypatch.setattr(services, "MAX_ACTIVE_PER_USER", 1)
    Export.objects.create(
        created_by=bob, via="ui", format="csv_utf8", status=Export.Status.RUNNING, background=True
    )
    client.force_login(bob)
    response = client.post(URL, {"format": "pdf"})
    assert response.status_code == 400
    assert "exports being prepared" in response.content.decode()
    assert Export.objects.count() == 1


def test_a_read_only_user_may_print_what_they_see(client, dave, bob, kartes, print_threshold):
    client.force_login(dave)
    record = start_print(client)
    assert record.status == Export.Status.DONE and record.row_count == 4


def test_nobody_else_sees_or_downloads_it(client, bob, carol, kartes, print_threshold):
    client.force_login(bob)
    record = start_print(client)
    client.force_login(carol)
    for name in ("transfer:export_detail", "transfer:export_download"):
        assert client.get(reverse(name, args=[record.pk])).status_code == 404


def test_the_export_history_lists_it_with_its_labels(client, bob, kartes, print_threshold):
    client.force_login(bob)
    record = start_print(client)
    body = client.get(reverse("transfer:export_list")).content.decode()
    assert f'data-export="{record.pk}"' in body
    assert "Printable kartes" in body and "PDF (A4, one karte per page)" in body
    filtered = client.get(reverse("transfer:export_list"), {"kind": "print"}).content.decode()
    assert f'data-export="{record.pk}"' in filtered


def test_the_api_lists_it_and_sends_its_file(client, bob, kartes, print_threshold):
    client.force_login(bob)
    record = start_print(client)
    api = ApiClient(client, issue_token(bob), language="en")
    described = api.get(f"/exports/{record.pk}").json()
    assert (described["kind"], described["format"], described["status"]) == ("print", "pdf", "done")
    assert [e["id"] for e in api.get("/exports", {"kind": "print"}).json()["results"]] == [
        record.pk
    ]
    response = api.get(f"/exports/{record.pk}/file")
    assert response["Content-Type"] == "application/pdf"
    assert page_count(b"".join(response.streaming_content)) >= 4
