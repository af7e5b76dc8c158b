"""Two people edit the same karte: the second to save is told what the first changed after
their form was opened, and only that: not the changes they had seen, nor exports and views."""

import re

import pytest
from django.urls import reverse

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.customers.services import customer_update
from enishi.history.models import HistoryEntry
from enishi.history.selectors import karte_changes_since
from enishi.history.services import history_record_view_sensitive

pytestmark = pytest.mark.django_db


@pytest.fixture
def karte(alice, bob):
    return testing.make_customer(alice, name="山田 太郎", owner=bob)


def _form(client, karte) -> dict[str, str]:
    page = client.get(reverse("customers:edit", args=[karte.pk])).content.decode()
    return {
        "kind": "person",
        "name": "山田 太郎",
        "status": "lead",
        "version": re.search(r'name="version" value="(\d+)"', page).group(1),
        "opened_at": re.search(r'name="opened_at" value="([^"]+)"', page).group(1),
    }


def _panel(response) -> str:
    return response.content.decode().split('class="conflict card"')[1].split("</ol>")[0]


def _export(client, bob, karte):
    api = ApiClient(client, issue_token(bob))
    assert api.get(f"/customers/{karte.pk}/vcard").status_code == 200
    assert api.get(f"/customers/{karte.pk}/pdf").status_code == 200


@pytest.mark.parametrize(
    ("language", "exported", "updated", "heading"),
    [
        ("ja", "書き出し", "更新", "編集中に、他のユーザーがこのカルテを保存しました"),
        ("en", "Exported", "Updated", "Someone else saved this karte while you were editing"),
    ],
)
def test_the_conflict_lists_only_the_changes_saved_after_the_form_was_opened(
    client, alice, bob, karte, language, exported, updated, heading
):
    alice.language = language
    alice.save()
    customer_update(actor=bob, customer=karte, data={"notes": "前のメモ"}, version=1)
    _export(client, bob, karte)  # a vCard and a PDF, before the form is opened
    client.force_login(alice)
    form = _form(client, karte)
    assert form["version"] == "2"

    customer_update(actor=bob, customer=karte, data={"notes": "ボブのメモ"}, version=2)
    _export(client, bob, karte)  # and after: still no change to the karte's data
    history_record_view_sensitive(actor=bob, customer=karte, fields=["アレルギー"])
    testing.log_call(bob, karte, subject="電話しました")  # a record on the karte, not the karte

    client.force_login(alice)
    response = client.post(
        reverse("customers:edit", args=[karte.pk]), {**form, "notes": "アリスのメモ"}
    )
    assert response.status_code == 409
    assert heading in response.content.decode()
    panel = _panel(response)
    assert panel.count('class="h-meta"') == 1 and updated in panel
    assert "ボブのメモ" in panel and "前のメモ" in panel  # the change: before → after
    assert "<del>前のメモ</del> → <ins>ボブのメモ</ins>" in panel
    assert exported not in panel and "vcard" not in panel.lower() and "pdf" not in panel.lower()
    assert "アレルギー" not in panel and "電話しました" not in panel
    # Saving again on top of what was shown works, and the next conflict starts from there.
    again = re.search(r'name="opened_at" value="([^"]+)"', response.content.decode()).group(1)
    assert again != form["opened_at"]
    response = client.post(
        reverse("customers:edit", args=[karte.pk]),
        {**form, "version": "3", "opened_at": again, "notes": "アリスのメモ"},
    )
    assert response.status_code == 302
    karte.refresh_from_db()
    assert karte.notes == "アリスのメモ"


def test_a_form_sent_back_with_errors_keeps_the_time_it_was_opened(client, alice, karte):
    client.force_login(alice)
    form = _form(client, karte)
    response = client.post(reverse("customers:edit", args=[karte.pk]), {**form, "name": ""})
    assert response.status_code == 400
    assert f'name="opened_at" value="{form["opened_at"]}"' in response.content.decode()


def test_without_the_time_the_changes_since_the_version_are_listed(client, alice, bob, karte):
    for version, note in enumerate(["一", "二", "三"], start=1):
        customer_update(actor=bob, customer=karte, data={"notes": note}, version=version)
    _export(client, bob, karte)
    client.force_login(alice)
    response = client.post(
        reverse("customers:edit", args=[karte.pk]),
        {"kind": "person", "name": "山田 太郎", "status": "lead", "version": "2", "notes": "x"},
    )
    assert response.status_code == 409
    panel = _panel(response)
    assert panel.count('class="h-meta"') == 2  # versions 3 and 4, newest first
    assert panel.index("<ins>三</ins>") < panel.index("<ins>二</ins>")
    assert "<ins>一</ins>" not in panel and "書き出し" not in panel


def test_changes_since_leaves_out_views_exports_and_other_records(alice, bob, karte):
    import datetime

    from django.utils import timezone

    opened = timezone.now()
    history_record_view_sensitive(actor=bob, customer=karte, fields=["x"])
    testing.log_call(bob, karte)
    customer_update(actor=bob, customer=karte, data={"rank": "A"}, version=1)
    karte.refresh_from_db()
    found = karte_changes_since(customer=karte, since=opened, version=1)
    assert [(e.action, list(e.changes)) for e in found] == [("update", ["rank"])]
    later = opened + datetime.timedelta(hours=1)
    # A save that ended after the form was shown but began before: found by the version.
    assert [e.action for e in karte_changes_since(customer=karte, since=later, version=1)] == [
        "update"
    ]
    assert karte_changes_since(customer=karte, since=later, version=2) == []
    assert HistoryEntry.objects.filter(customer_id=karte.pk).count() == 4
