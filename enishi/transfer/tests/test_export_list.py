"""The export history's filters: every status it shows can be chosen ("Downloaded at once"
beside "Ready"), and a filter that matches nothing says so, with a way back to everything."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from enishi.transfer.models import Export

pytestmark = pytest.mark.django_db

URL = reverse("transfer:export_list")


@pytest.fixture
def exports(bob):
    now = timezone.now()

    def make(name, **fields):
        fields.setdefault("status", Export.Status.DONE)
        return Export.objects.create(
            created_by=bob, via="ui", format=Export.Format.XLSX, file_name=name, **fields
        )

    return {
        "at_once": make("at-once.xlsx"),
        "kept": make(
            "kept.xlsx",
            background=True,
            path="kept.xlsx",
            expires_at=now + datetime.timedelta(days=3),
        ),
        "past": make(
            "past.xlsx",
            background=True,
            path="past.xlsx",
            expires_at=now - datetime.timedelta(days=1),
        ),
        "expired": make("expired.xlsx", background=True, status=Export.Status.EXPIRED),
        "running": make("running.xlsx", background=True, status=Export.Status.RUNNING),
    }


def _listed(client, **query) -> set[str]:
    body = client.get(URL, query).content.decode()
    return set(re.findall(r'<span class="ex-name">([\w-]+)\.xlsx</span>', body))


@pytest.mark.parametrize("language", ["en", "ja"])
def test_each_status_shown_can_be_chosen(client, bob, exports, language):
    bob.language = language
    bob.save(update_fields=["language"])
    client.force_login(bob)
    body = client.get(URL).content.decode()
    at_once = "Downloaded at once" if language == "en" else "その場でダウンロード済み"
    assert f'<option value="at_once" >{at_once}</option>' in body
    assert _listed(client) == {"at-once", "kept", "past", "expired", "running"}
    assert _listed(client, status="at_once") == {"at-once"}
    assert _listed(client, status="done") == {"kept"}
    assert _listed(client, status="expired") == {"past", "expired"}
    assert _listed(client, status="running") == {"running"}
    chosen = client.get(URL, {"status": "at_once"}).content.decode()
    assert '<option value="at_once" selected>' in chosen


@pytest.mark.parametrize(
    ("language", "none_match", "clear", "nothing_yet"),
    [
        ("en", "No exports match these filters.", "Clear filters", "No exports yet."),
        (
            "ja",
            "条件に一致する書き出しはありません。",
            "絞り込みを解除",
            "書き出しはまだありません。",
        ),
    ],
)
def test_a_filter_without_matches_says_so_and_offers_to_clear_it(
    client, bob, exports, language, none_match, clear, nothing_yet
):
    bob.language = language
    bob.save(update_fields=["language"])
    client.force_login(bob)
    body = client.get(URL, {"status": "failed"}).content.decode()
    assert none_match in body
    assert f'<a href="{URL}">{clear}</a>' in body
    assert nothing_yet not in body

    Export.objects.all().delete()
    body = client.get(URL).content.decode()
    assert none_match not in body
    assert clear not in body
