"""Undoing an import names, for a karte it leaves, the change made after the import (from the
karte's history, not its updated_at, which a house-style clean-up keeps), in the house date
style; a karte whose values are back to what the import wrote (a change and its undo since)
is undone like the others."""

import datetime

import pytest
from django.utils import timezone

from enishi.core import testing
from enishi.core.later import translated
from enishi.core.models import HouseStyle
from enishi.core.templatetags.house_style import moment
from enishi.customers import services as customer_services
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.imports import services
from enishi.imports.models import ImportRun
from enishi.quality import house_style

from .conftest import check, csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db

FILE = """顧客コード,会社名,氏名,フリガナ,電話番号
C001,株式会社山田商事,山田 太郎,ヤマダ タロウ,03-1234-5678
C002,,佐藤 花子,サトウ ハナコ,03-1234-9999
"""


def change(actor, karte, **data):
    karte = Customer.objects.get(pk=karte.pk)
    return customer_services.customer_update(
        actor=actor, customer=karte, data=data, version=karte.version
    )


def test_the_reason_names_the_change_that_made_the_karte_differ_and_a_reverted_one_is_undone(
    bob, erin
):
    HouseStyle.objects.update_or_create(pk=1, defaults={"dates": house_style.KANJI})
    house_style.forget()
    run = run_import(bob, check(bob, upload(bob, csv_bytes(FILE))))
    taro = Customer.objects.get(code="C001")
    hanako = Customer.objects.get(code="C002")
    company = Customer.objects.get(kind="company")
    imported_at = taro.updated_at

    # 山田 太郎: bob writes a note (the change that stays), later erin changes the reading and
    # puts it back. The karte's updated_at/updated_by still name the import (as a clean-up
    # leaves them).
    change(bob, taro, notes="後から")
    note = HistoryEntry.objects.filter(object_id=taro.pk, actor=bob).latest("id")
    HistoryEntry.objects.filter(pk=note.pk).update(at=note.at + datetime.timedelta(minutes=7))
    change(erin, taro, name_kana="ヤマダ タロ")
    change(erin, taro, name_kana="ヤマダ タロウ")
    Customer.objects.filter(pk=taro.pk).update(updated_at=imported_at, updated_by=bob)
    # 佐藤 花子 and the company the import made: changed and changed back.
    change(erin, hanako, phone="03-9999-0000")
    change(erin, hanako, phone="03-1234-9999")
    change(erin, company, name="山田商事")
    change(erin, company, name="株式会社山田商事")

    plan = services.import_undo_plan(actor=bob, run=run)
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.UNDONE
    report = run.undo_report
    assert (plan.remove, plan.keep) == (report["removed"], report["kept_count"])
    kept = {k["id"]: translated(k["reason"]) for k in report["kept"]}
    # The company stays for 山田 太郎, who stays under it; not for its name changed and back.
    assert sorted(kept) == sorted([taro.pk, company.pk])
    assert "Changed since" not in kept[company.pk]
    note.refresh_from_db()
    assert kept[taro.pk] == f"Changed since the import (by {bob.label}, {moment(note.at)})."
    assert moment(note.at) != moment(imported_at)
    assert not Customer.objects.filter(pk=hanako.pk).exists()
    assert timezone.localtime(note.at).strftime("%H:%M") in kept[taro.pk]


def test_a_restored_karte_changed_and_changed_back_gets_its_old_values(bob, erin):
    karte = testing.make_customer(bob, name="山田 太郎", code="C001", phone="03-1111-2222")
    run = run_import(bob, check(bob, upload(bob, csv_bytes(FILE))))
    change(erin, karte, notes="一時")
    change(erin, karte, notes="")
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    karte.refresh_from_db()
    assert run.undo_report["kept_count"] == 0 and run.undo_report["restored"] == 1
    assert karte.phone == "03-1111-2222"
