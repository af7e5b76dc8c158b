"""Imports find kartes by reading as the karte form's hint does: long vowels written either way."""

import pytest

from enishi.core import testing
from enishi.customers.models import Customer

from .conftest import check, run_import, upload

pytestmark = pytest.mark.django_db


def test_a_reading_with_its_long_vowels_written_another_way_finds_the_karte(bob):
    karte = testing.make_customer(
        bob, name="佐藤 太郎", name_kana="サトウ タロウ", postal_code="100-0001",
        prefecture="東京都", city="千代田区", town="千代田", street="1-1",
    )  # fmt: skip
    # Another writing of the name (no name key in common) and no contact: only the reading
    # key brings the karte to the matching.
    text = "氏名,フリガナ,住所\n佐藤 太朗,サトー タロー,東京都千代田区千代田1-1\n"
    row = check(bob, upload(bob, text.encode())).rows.get()
    assert row.match_id == karte.pk
    assert {"same_kana", "name_variant"} <= set(row.match_reasons)


def test_a_karte_created_from_a_row_checked_before_reading_keys_gets_one(bob):
    run = check(bob, upload(bob, "氏名,フリガナ\n大野 優子,おおの ゆうこ\n".encode()))
    row = run.rows.get()
    assert row.data["reading_key"] == "オノユコ"
    row.data = {k: v for k, v in row.data.items() if k != "reading_key"}
    row.save(update_fields=["data"])
    run_import(bob, run)
    assert Customer.objects.get(name="大野 優子").reading_key == "オノユコ"
