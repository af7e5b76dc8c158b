"""Check-then-insert races held by the database: one vCard import per preview (a double click
sends the preview twice at once) and one full-data export at a time (several requests at once).

Both requests of a race pass the early check; the tests make that happen deterministically
(the check answers "not yet"), then the unique key decides. The threaded tests do it for real,
each thread with its own connection."""

import threading

import pytest
from django.db import IntegrityError, connections, transaction
from django.urls import reverse

from enishi.api.tests.conftest import issue_token
from enishi.customers.models import Customer
from enishi.transfer import card_services, card_views, services
from enishi.transfer.models import CardImportBatch, Export

from .test_card_api import import_file
from .test_card_views import preview_batch, upload
from .test_vcard_samples import ANDROID_21, IPHONE


@pytest.fixture
def racing(monkeypatch):
    """Both requests passed the early check: it answers "not imported yet"."""
    monkeypatch.setattr(card_services, "card_import_taken", lambda batch: False)


@pytest.fixture
def full_running(monkeypatch):
    """Both requests passed the early check: it answers "no full export running"."""
    monkeypatch.setattr(services.selectors, "full_export_running", lambda: False)


def full_export_row(user, status=Export.Status.RUNNING, kind=Export.Kind.FULL):
    return Export.objects.create(
        created_by=user, via="ui", kind=kind, format="zip", status=status, file_name="x.zip"
    )


# --- vCard import ----------------------------------------------------------------------------


@pytest.mark.django_db
class TestOneImportPerPreview:
    def test_the_batch_is_unique_in_the_database(self, bob):
        CardImportBatch.objects.create(batch="vcard:abc", created_by=bob)
        with pytest.raises(IntegrityError), transaction.atomic():
            CardImportBatch.objects.create(batch="vcard:abc", created_by=bob)

    def test_a_commit_that_passed_the_check_late_creates_nothing(self, bob, racing):
        preview = card_services.card_import_read(actor=bob, data=IPHONE.encode())
        card_services.card_import_commit(actor=bob, preview=preview, create=[1])
        with pytest.raises(card_services.ValidationError) as caught:
            card_services.card_import_commit(actor=bob, preview=preview, create=[1])
        assert caught.value.code == "done"
        assert Customer.objects.count() == 1
        assert CardImportBatch.objects.get().batch == f"vcard:{preview.batch}"

    def test_a_failed_import_leaves_the_batch_free(self, bob, monkeypatch):
        preview = card_services.card_import_read(actor=bob, data=IPHONE.encode())

        def refuse(**kwargs):
            raise card_services.ValidationError({"name": ["no"]})

        monkeypatch.setattr(card_services, "customer_create", refuse)
        with pytest.raises(card_services.CardImportFailed):
            card_services.card_import_commit(actor=bob, preview=preview, create=[1])
        assert not CardImportBatch.objects.exists()
        monkeypatch.undo()
        card_services.card_import_commit(actor=bob, preview=preview, create=[1])
        assert Customer.objects.count() == 1

    def test_the_second_post_of_a_double_click_says_already_imported(self, client, bob, racing):
        client.force_login(bob)
        batch = preview_batch(upload(client, IPHONE.encode() + ANDROID_21.encode()))
        kept = client.session[card_views.SESSION_KEY]  # what the second request loaded
        url = reverse("cards:import_preview", args=[batch])
        first = client.post(url, {"card-1": "create"})
        assert first["Location"] == reverse("cards:import_done", args=[batch])
        session = client.session
        session[card_views.SESSION_KEY] = kept
        session.save()
        second = client.post(url, {"card-1": "create", "card-2": "create"})
        assert second.status_code == 302
        assert second["Location"] == reverse("cards:import_done", args=[batch])
        assert "already been imported" in client.get(second["Location"]).content.decode()
        assert Customer.objects.filter(owner=bob).count() == 1
        assert batch not in client.session[card_views.SESSION_KEY]

    def test_the_api_commit_is_guarded_the_same_way(self, client, bob, racing, monkeypatch):
        monkeypatch.setattr(card_services.secrets, "token_hex", lambda n: "0123456789ab")
        token = issue_token(bob)
        first = import_file(client, token, IPHONE.encode(), commit="true", create="all")
        assert first.status_code == 201, first.content
        second = import_file(client, token, IPHONE.encode(), commit="true", create="all")
        assert second.status_code == 422
        assert second.json()["errors"][0]["code"] == "done"
        assert Customer.objects.count() == 1


def _commit(actor, preview, results: list) -> None:
    try:
        card_services.card_import_commit(actor=actor, preview=preview, create=[1])
        results.append("created")
    except card_services.ValidationError as exc:
        results.append(exc.code)
    except Exception as exc:  # noqa: BLE001 - surfaced by the test
        results.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_commits_of_one_preview_at_once_create_one_import(bob, racing):
    preview = card_services.card_import_read(actor=bob, data=IPHONE.encode())
    results: list = []
    threads = [threading.Thread(target=_commit, args=(bob, preview, results)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(map(str, results)) == ["created", "done"]
    assert Customer.objects.count() == 1


# --- One full-data export at a time ----------------------------------------------------------


@pytest.mark.django_db
class TestOneFullExportAtATime:
    def test_the_database_holds_one_active_full_export(self, alice):
        full_export_row(alice, Export.Status.QUEUED)
        with pytest.raises(IntegrityError), transaction.atomic():
            full_export_row(alice, Export.Status.RUNNING)
        # Finished ones and other kinds are not limited.
        full_export_row(alice, Export.Status.DONE)
        full_export_row(alice, Export.Status.FAILED)
        full_export_row(alice, Export.Status.RUNNING, kind=Export.Kind.CUSTOMERS)
        assert Export.objects.count() == 4

    def test_the_service_turns_the_race_into_already_running(self, alice, full_running):
        running = full_export_row(alice)
        with pytest.raises(services.ValidationError) as caught:
            services.full_export_start(actor=alice)
        assert caught.value.code == "already_running"
        assert list(Export.objects.filter(kind=Export.Kind.FULL)) == [running]

    def test_the_api_answers_409(self, client, alice, full_running):
        from .test_api import api

        full_export_row(alice)
        response = api(client, alice).post("/exports/full")
        assert response.status_code == 409
        assert "already being prepared" in response.content.decode()
        assert Export.objects.filter(kind=Export.Kind.FULL).count() == 1

    def test_the_page_answers_409(self, client, alice, full_running):
        full_export_row(alice, Export.Status.QUEUED)
        client.force_login(alice)
        response = client.post(reverse("transfer:full_export"))
        assert response.status_code == 409
        assert "already being prepared" in response.content.decode()
        assert Export.objects.filter(kind=Export.Kind.FULL).count() == 1


def _start(actor, results: list) -> None:
    try:
        services.full_export_start(actor=actor, via="api")
        results.append("started")
    except services.ValidationError as exc:
        results.append(exc.code)
    except Exception as exc:  # noqa: BLE001 - surfaced by the test
        results.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_four_full_exports_at_once_start_one(alice, full_running, monkeypatch):
    monkeypatch.setattr(services, "_enqueue", lambda record: record)  # it stays queued
    results: list = []
    threads = [threading.Thread(target=_start, args=(alice, results)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(map(str, results)) == ["already_running"] * 3 + ["started"]
    assert Export.objects.filter(kind=Export.Kind.FULL).count() == 1
