"""Undoing an import after kartes it created were merged: nothing is lost, the merge stays
undoable, and the person is told what was left and why."""

import pytest

from enishi.core import testing
from enishi.customers.models import Customer
from enishi.imports import services
from enishi.imports.models import ImportRun
from enishi.imports.tests.conftest import check, csv_bytes, run_import, upload
from enishi.quality.merge import customer_merge
from enishi.quality.merge_undo import customer_merge_undo

pytestmark = pytest.mark.django_db

FILE = """氏名,フリガナ,電話番号
佐藤 花子,サトウ ハナコ,03-1234-9999
鈴木 一郎,スズキ イチロウ,03-5555-0000
"""


def imported(bob):
    run = run_import(bob, check(bob, upload(bob, csv_bytes(FILE))))
    assert run.status == ImportRun.Status.DONE
    return run, Customer.objects.get(name="佐藤 花子"), Customer.objects.get(name="鈴木 一郎")


def test_a_created_karte_merged_into_an_older_one_is_left_and_the_merge_stays_undoable(bob):
    older = testing.make_customer(bob, name="佐藤 英子", phone="06-1111-2222")
    run, hanako, ichiro = imported(bob)
    done = customer_merge(actor=bob, survivor=older, others=[hanako])
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.UNDONE
    assert not Customer.objects.filter(pk=ichiro.pk).exists()
    assert Customer.objects.filter(pk=older.pk).exists()
    kept = {k["id"]: k["line"] for k in run.undo_report["kept"]}
    assert kept[hanako.pk] == 2  # the line in the file (the header is line 1)
    customer_merge_undo(actor=bob, merge=done)
    assert Customer.objects.filter(pk=hanako.pk, deleted_at__isnull=True).exists()


def test_a_created_karte_that_absorbed_an_older_one_is_left(bob):
    older = testing.make_customer(bob, name="佐藤 英子", phone="06-1111-2222")
    testing.log_call(bob, older, subject="前からの電話")
    run, hanako, _ichiro = imported(bob)
    customer_merge(actor=bob, survivor=hanako, others=[older])
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert Customer.objects.filter(pk=hanako.pk).exists()
    assert hanako.activities.filter(subject="前からの電話").exists()
    assert hanako.pk in {k["id"] for k in run.undo_report["kept"]}


def test_kartes_the_file_gave_to_another_team_are_taken_back_too(bob, carol):
    """Bob's file named Carol (営業2課) as the owner: Bob no longer sees those kartes, but they
    are his own upload, untouched since, so the undo removes them."""
    text = "氏名,担当者\n山田 一郎,carol\n佐藤 二郎,bob\n"
    run = run_import(bob, check(bob, upload(bob, text.encode())))
    assert dict(Customer.objects.values_list("name", "owner__username")) == {
        "山田 一郎": "carol", "佐藤 二郎": "bob",
    }  # fmt: skip
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.UNDONE and run.undo_report["kept"] == []
    assert not Customer.objects.exists()


def test_a_karte_the_other_team_worked_on_since_is_kept(bob, carol):
    text = "氏名,担当者\n山田 一郎,carol\n"
    run = run_import(bob, check(bob, upload(bob, text.encode())))
    karte = Customer.objects.get()
    testing.log_call(carol, karte, subject="引き継ぎの電話")
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert [k["id"] for k in run.undo_report["kept"]] == [karte.pk]
    assert Customer.objects.filter(pk=karte.pk).exists()
