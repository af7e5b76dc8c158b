"""Field names in history read as labels: capitalised in English ("Family name", "Rows"), in
the audit log and in a karte's own history alike; Japanese is as it is."""

import re

import pytest
from django.urls import reverse

from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.history.selectors import field_label

pytestmark = pytest.mark.django_db


def _fields(page: str) -> list[str]:
    return re.findall(r'<span class="h-field">([^<]*)</span>', page)


@pytest.fixture
def karte(alice):
    return testing.make_customer(
        alice, name="山田 太郎", family_name="山田", name_kana="ヤマダ タロウ", owner=alice
    )


@pytest.fixture
def export_entry(alice):
    # As `transfer.services._export_history` writes a printed list's entry.
    return HistoryEntry.objects.create(
        actor=alice,
        action=HistoryEntry.Action.EXPORT,
        model="transfer.export",
        object_id=1,
        object_repr="kartes.pdf",
        changes={
            "kind": [None, "print"],
            "format": [None, "pdf"],
            "row_count": [None, 3],
            "filters": [None, {"q": "山田"}],
            "left_out": [None, 1],
        },
    )


def _in(client, user, language):
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    return client


def test_the_audit_log_names_fields_capitalised_in_english(client, alice, karte, export_entry):
    page = _in(client, alice, "en").get(reverse("history:log")).content.decode()
    fields = _fields(page)
    for label in ("Name", "Family name", "Kana reading", "Owner"):
        assert label in fields
    for label in ("Kind", "Format", "Rows", "Filters", "Kartes left out"):
        assert label in fields
    assert not [label for label in fields if label[:1].islower()], fields


def test_a_kartes_history_names_fields_capitalised_in_english(client, alice, karte):
    page = _in(client, alice, "en").get(reverse("customers:detail", args=[karte.pk]))
    fields = _fields(page.content.decode())
    assert {"Name", "Family name", "Kana reading", "Owner"} <= set(fields)
    assert not [label for label in fields if label[:1].islower()], fields


def test_japanese_labels_are_unchanged(client, alice, karte, export_entry):
    fields = _fields(_in(client, alice, "ja").get(reverse("history:log")).content.decode())
    for label in ("名前", "姓", "フリガナ", "担当者", "区分", "形式", "件数", "絞り込み条件"):
        assert label in fields
    assert "対象外になったカルテ" in fields
    assert "left_out" not in fields


def test_every_source_of_a_label_is_capitalised():
    from django.utils import translation

    with translation.override("en"):
        assert field_label("customers.customer", "family_name") == "Family name"
        assert field_label("transfer.export", "row_count") == "Rows"
        assert field_label("accounts.user", "two_factor") == "Two-factor log-in"
        assert field_label("customers.customer", "moved_counts") == "Records moved"
