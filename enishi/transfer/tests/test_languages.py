"""An export's error and its history entry are kept for later: the person who asked for the
file, an administrator, the audit log each read them in their own language, whoever's language
they were written in. Errors stored before show what they said."""

import pytest
from django.urls import reverse
from django.utils import translation

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.history.selectors import value_label
from enishi.transfer import services
from enishi.transfer.models import Export

pytestmark = pytest.mark.django_db


def speaking(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return user


def queued(actor) -> Export:
    return Export.objects.create(
        created_by=actor,
        via="ui",
        format=Export.Format.CSV_UTF8,
        status=Export.Status.QUEUED,
        background=True,
        file_name="customers.csv",
        language=actor.language,
    )


def status_page(client, reader, record) -> str:
    client.force_login(reader)
    return client.get(reverse("transfer:export_detail", args=[record.pk])).content.decode()


def test_a_cancel_said_in_english_reads_in_japanese_for_the_creator(client, alice, bob):
    record = queued(speaking(bob, "ja"))
    with translation.override("en"):
        services.export_discard(actor=alice, record=record)  # an administrator, in English
    record.refresh_from_db()
    assert record.status == Export.Status.CANCELLED
    assert "有栖 アリスが中止しました。" in status_page(client, bob, record)
    client.logout()
    answer = ApiClient(client, issue_token(alice), language="en").get(f"/exports/{record.pk}")
    assert answer.json()["error"] == "Cancelled by 有栖 アリス."


def test_a_failure_reads_in_each_readers_language(client, alice, bob):
    record = queued(speaking(bob, "ja"))
    bob.is_active = False  # the task finds its creator can no longer log in
    bob.save(update_fields=["is_active"])
    services.export_run(export_id=record.pk)
    record.refresh_from_db()
    assert record.status == Export.Status.FAILED
    with translation.override("en"):
        assert record.error_text == "The person who asked for this export can no longer log in."
    page = status_page(client, speaking(alice, "en"), record)
    assert "The person who asked for this export can no longer log in." in page


def test_an_error_stored_before_shows_what_it_said(client, bob):
    record = queued(speaking(bob, "en"))
    Export.objects.filter(pk=record.pk).update(
        status=Export.Status.CANCELLED, error="有栖 アリスが中止しました。"
    )
    record.refresh_from_db()
    assert "有栖 アリスが中止しました。" in status_page(client, bob, record)


def test_the_history_of_an_export_names_columns_and_filters_in_the_readers_language(
    client, alice, bob
):
    testing.make_customer(bob, name="山田 太郎", phone="03-1234-5678")
    client.force_login(speaking(bob, "ja"))
    response = client.post(
        reverse("transfer:customer_export") + "?kind=person",
        {"format": "csv_utf8", "columns": ["name", "phone"]},
    )
    assert response.status_code == 200
    entry = HistoryEntry.objects.get(action=HistoryEntry.Action.EXPORT)
    shown = {}
    for language in ("ja", "en"):
        with translation.override(language):
            shown[language] = [
                value_label(entry.model, name, entry.changes[name][1])
                for name in ("columns", "filters")
            ]
    assert shown == {"ja": ["名前、電話番号", "区分: 個人"], "en": ["Name, Phone", "Kind: Person"]}

    client.force_login(speaking(alice, "en"))
    log = client.get(reverse("history:log")).content.decode()
    assert "Name, Phone" in log and "Kind: Person" in log
    assert "名前、電話番号" not in log


def test_history_values_stored_before_show_what_they_said():
    with translation.override("en"):
        assert value_label("transfer.export", "columns", "名前、電話番号") == "名前、電話番号"
        assert value_label("transfer.export", "filters", "区分: 個人") == "区分: 個人"
