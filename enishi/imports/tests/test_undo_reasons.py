"""What an undo says about the records it leaves, and when it leaves them.

- The reasons are kept for later (msgid and params, `core.later`): the result page, the API's
  `undo_report` and the plan read in the reader's language, whoever undid the import; the
  moment a karte was changed is written in the reader's date style when read. Reports stored
  before as text still show what they said.
- A company the import created that keeps a contact person of the same import (kept for its
  own reason) is not said to have had contacts "added since the import".
- A record the import created that a merge moved to another karte, and the merge's undo moved
  back, was not changed by anyone: the undo takes it back like the others.
"""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from enishi.activities.models import Activity, Task
from enishi.api.tests.conftest import ApiClient, issue_token
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
from enishi.quality.merge import customer_merge
from enishi.quality.merge_undo import customer_merge_undo

from .conftest import check, csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db

FILE = """氏名,会社名,電話番号
鈴木 二郎,株式会社縁テスト,03-1234-5678
佐藤 花子,,03-1234-9999
"""

ADDED = {
    "en": "Records were added to it since the import",
    "ja": "インポート後に記録が追加されています",
}


def change(actor, karte, **data):
    karte = Customer.objects.get(pk=karte.pk)
    return customer_services.customer_update(
        actor=actor, customer=karte, data=data, version=karte.version
    )


def speaking(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return user


def changed_since(who, at) -> dict:
    return {
        "m": "Changed since the import (by %(who)s, %(when)s).",
        "p": {"who": who.label, "when": {"t": at.isoformat()}},
    }


def in_each(value) -> dict[str, str]:
    found = {}
    for language in ("ja", "en"):
        with translation.override(language):
            found[language] = translated(value)
    return found


def kanji_dates():
    HouseStyle.objects.update_or_create(pk=1, defaults={"dates": house_style.KANJI})
    house_style.forget()


def imported_and_worked_on(bob, erin, language: str = "en"):
    """鈴木 二郎 (with the company the import made for him) is edited by Erin; 佐藤 花子 gets
    a call logged. Returns the run, 二郎, the company, 花子 and the moment of Erin's edit."""
    with translation.override(language):
        run = run_import(bob, check(bob, upload(bob, csv_bytes(FILE))))
    jiro = Customer.objects.get(name="鈴木 二郎")
    company = Customer.objects.get(name="株式会社縁テスト")
    hanako = Customer.objects.get(name="佐藤 花子")
    assert jiro.company_id == company.pk
    change(erin, jiro, notes="後から")
    edit = HistoryEntry.objects.filter(object_id=jiro.pk, actor=erin).latest("id")
    testing.log_call(erin, hanako, subject="電話した")
    return run, jiro, company, hanako, edit.at


# --- A: the reasons read in the reader's language ----------------------------------------------


def test_the_reasons_are_stored_as_msgid_and_params_and_read_in_each_language(bob, erin):
    kanji_dates()
    run, jiro, company, hanako, at = imported_and_worked_on(bob, erin, "ja")
    with translation.override("ja"):
        services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.UNDONE
    kept = {k["id"]: k for k in run.undo_report["kept"]}
    assert sorted(kept) == sorted([jiro.pk, company.pk, hanako.pk])

    reason = kept[jiro.pk]["reason"]
    assert reason == changed_since(erin, at)
    with translation.override("ja"):
        ja_moment = moment(at)
    with translation.override("en"):
        en_moment = moment(at)
    assert "年" in ja_moment and "年" not in en_moment  # the house style, as each reads it
    assert in_each(reason) == {
        "ja": f"インポート後に変更されています（{erin.label}、{ja_moment}）。",
        "en": f"Changed since the import (by {erin.label}, {en_moment}).",
    }
    assert in_each(kept[hanako.pk]["reason"])["en"].startswith(ADDED["en"])
    assert in_each(kept[hanako.pk]["reason"])["ja"].startswith(ADDED["ja"])

    # The rows too: the result's message is kept for later.
    row = run.rows.get(result_id=jiro.pk)
    assert row.result == "kept" and row.result_message.startswith('{"m":')
    for language, text in in_each(reason).items():
        with translation.override(language):
            assert row.result_text == text


def test_the_plan_keeps_its_reasons_for_later_too(bob, erin):
    run, jiro, _company, _hanako, _at = imported_and_worked_on(bob, erin, "ja")
    with translation.override("ja"):
        plan = services.import_undo_plan(actor=bob, run=run)
    reason = {k["id"]: k["reason"] for k in plan.kept}[jiro.pk]
    assert reason["m"] == "Changed since the import (by %(who)s, %(when)s)."
    assert in_each(reason)["en"].startswith("Changed since the import (by ")


def result_page(client, reader, run) -> str:
    client.force_login(reader)
    response = client.get(reverse("imports:result", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("undoer", "reader"), [("ja", "en"), ("en", "ja")])
def test_the_result_page_and_the_api_read_the_reasons_in_the_readers_language(
    client, alice, bob, erin, undoer, reader
):
    kanji_dates()
    speaking(bob, undoer)
    run, jiro, company, hanako, at = imported_and_worked_on(bob, erin, undoer)
    speaking(alice, reader)  # an administrator reads everyone's imports
    changed = in_each(changed_since(erin, at))
    changed, changed_undoer = changed[reader], changed[undoer]
    with translation.override(reader):
        assert moment(at) in changed and changed != changed_undoer

    # Before: the plan, as the API answers it.
    api = ApiClient(client, issue_token(alice), language=reader)
    asked = api.post(f"/imports/{run.pk}/undo")
    assert asked.status_code == 409
    planned = {k["id"]: k["reason"] for k in asked.json()["undo_plan"]["kept"]}
    assert planned[jiro.pk] == changed
    assert planned[hanako.pk].startswith(ADDED[reader])

    with translation.override(undoer):
        services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.UNDONE

    body = result_page(client, alice, run)
    assert escape(changed) in body and escape(changed_undoer) not in body
    assert ADDED[reader] in body and ADDED[undoer] not in body
    assert escape(jiro.name) in body

    report = api.get(f"/imports/{run.pk}").json()["undo_report"]
    reasons = {k["id"]: k["reason"] for k in report["kept"]}
    assert reasons[jiro.pk] == changed
    assert reasons[hanako.pk].startswith(ADDED[reader])
    assert all(isinstance(k["reason"], str) for k in report["kept"])
    assert (report["removed"], report["kept_count"]) == (0, 3)


def test_a_report_stored_before_as_text_shows_what_it_said(client, alice, bob, erin):
    run, jiro, _company, _hanako, _at = imported_and_worked_on(bob, erin, "ja")
    services.import_undo_start(actor=bob, run=run)
    old = "インポート後に変更されています（エリン、2026年4月1日 10:00）。"
    report = {"removed": 1, "restored": 0, "kept_count": 1,
              "kept": [{"row": 2, "id": jiro.pk, "name": "鈴木 二郎", "reason": old}]}  # fmt: skip
    ImportRun.objects.filter(pk=run.pk).update(undo_report=report)
    run.refresh_from_db()
    speaking(alice, "en")
    assert escape(old) in result_page(client, alice, run)
    api = ApiClient(client, issue_token(alice), language="en")
    assert api.get(f"/imports/{run.pk}").json()["undo_report"]["kept"][0]["reason"] == old


# --- B: a contact person of the same import is not "added since" ------------------------------


def test_a_company_the_import_made_stays_for_its_kept_contact_not_for_one_added_since(bob, erin):
    run, jiro, company, _hanako, _at = imported_and_worked_on(bob, erin)
    plan = services.import_undo_plan(actor=bob, run=run)
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    kept = {k["id"]: k["reason"] for k in run.undo_report["kept"]}
    planned = {k["id"]: k["reason"] for k in plan.kept}
    assert planned == kept
    assert Customer.objects.filter(pk__in=[jiro.pk, company.pk]).count() == 2
    assert in_each(kept[company.pk]) == {
        "en": "Kartes from this import still belong to it and stay for their own reasons: "
        "鈴木 二郎.",
        "ja": "このインポートで登録したカルテ（鈴木 二郎）が所属したまま、それぞれの理由で"
        "残るため、残しました。",
    }
    assert "added" not in in_each(kept[company.pk])["en"]
    # The company's own row (made for the persons) has none; 二郎's row says why he stays.
    assert run.rows.get(result_id=jiro.pk).result_text.startswith("Changed since the import")


def test_a_contact_person_added_after_the_import_still_keeps_the_company(bob, erin):
    run = run_import(bob, check(bob, upload(bob, csv_bytes(FILE))))
    company = Customer.objects.get(name="株式会社縁テスト")
    testing.make_customer(erin, name="高橋 三郎", company=company)
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    kept = {k["id"]: translated(k["reason"]) for k in run.undo_report["kept"]}
    assert list(kept) == [company.pk]
    assert kept[company.pk].startswith(ADDED["en"])
    assert not Customer.objects.filter(name__in=["鈴木 二郎", "佐藤 花子"]).exists()


def test_a_karte_the_import_linked_to_the_company_it_made_and_kept_since(bob, erin):
    """An existing karte the file put under a new company, changed since: it stays (under the
    company), and so does the company, for it."""
    karte = testing.make_customer(bob, name="山田 太郎", code="C001", phone="03-1111-2222")
    text = "顧客コード,氏名,会社名\nC001,山田 太郎,株式会社縁テスト\n"
    run = run_import(bob, check(bob, upload(bob, text.encode())))
    company = Customer.objects.get(name="株式会社縁テスト")
    karte.refresh_from_db()
    assert karte.company_id == company.pk and run.rows.get().result == "updated"
    change(erin, karte, notes="後から")
    plan = services.import_undo_plan(actor=bob, run=run)
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    kept = {k["id"]: translated(k["reason"]) for k in run.undo_report["kept"]}
    assert {k["id"]: translated(k["reason"]) for k in plan.kept} == kept
    assert kept[company.pk].startswith("Kartes from this import still belong to it")
    assert kept[karte.pk].startswith("Changed since the import")


def test_a_contact_the_import_made_and_nobody_touched_goes_with_its_company(bob):
    run = run_import(bob, check(bob, upload(bob, csv_bytes(FILE))))
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.undo_report["kept"] == [] and not Customer.objects.exists()


# --- C: moved by a merge and back by its undo: not changed ------------------------------------

ACTIVITIES = "顧客コード,日時,種別,件名,次回アクション,次回予定日\nC001,2024/4/1 10:00,電話,見積の件,見積送付,2024/4/5\nC001,2024/4/2,訪問,,,\n"


def imported_activities(bob):
    karte = testing.make_customer(bob, name="山田 太郎", code="C001", phone="03-1111-2222")
    twin = testing.make_customer(bob, name="山田 太郎", phone="03-1111-2222")
    run = run_import(bob, check(bob, upload(bob, ACTIVITIES.encode(), target="activities")))
    assert run.counts["created"] == 2
    return run, karte, twin


def test_activities_moved_by_a_merge_and_back_by_its_undo_are_undone(bob):
    run, karte, twin = imported_activities(bob)
    call = Activity.objects.get(subject="見積の件")
    merge = customer_merge(actor=bob, survivor=twin, others=[karte])
    call.refresh_from_db()
    assert call.customer_id == twin.pk and call.version == 2
    customer_merge_undo(actor=bob, merge=merge)
    call.refresh_from_db()
    task = Task.objects.get(activity=call)
    assert (call.customer_id, call.version, task.customer_id, task.version) == (
        karte.pk, 3, karte.pk, 3,
    )  # fmt: skip

    plan = services.import_undo_plan(actor=bob, run=run)
    assert (plan.remove, plan.keep) == (2, 0)
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.undo_report["kept"] == [] and run.undo_report["removed"] == 2
    assert not Activity.objects.exists() and not Task.objects.exists()


def test_an_activity_still_on_the_merged_karte_or_edited_after_is_kept(bob, erin):
    run, karte, twin = imported_activities(bob)
    call = Activity.objects.get(subject="見積の件")
    visit = Activity.objects.get(type="visit")
    merge = customer_merge(actor=bob, survivor=twin, others=[karte])
    customer_merge_undo(actor=bob, merge=merge)
    # Erin edits the visit after the merge and its undo.
    visit.refresh_from_db()
    Activity.objects.filter(pk=visit.pk).update(outcome="後から", version=visit.version + 1)
    HistoryEntry.objects.create(
        actor=erin, action="update", model="activities.activity", object_id=visit.pk,
        customer_id=karte.pk, changes={"outcome": ["", "後から"]},
    )  # fmt: skip
    # The call goes to the twin again, by a merge not undone.
    karte.refresh_from_db()
    customer_merge(actor=bob, survivor=twin, others=[karte])

    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    kept = {
        k["line"]: (translated(k["name"]), translated(k["reason"])) for k in run.undo_report["kept"]
    }
    assert kept == {
        2: ("見積の件", "Changed since the import."),
        3: ("Visit", "Changed since the import."),
    }
    assert Activity.objects.filter(pk__in=[call.pk, visit.pk]).count() == 2


def test_an_activity_changed_after_the_import_is_kept_whatever_the_merges(bob, erin):
    run, karte, twin = imported_activities(bob)
    call = Activity.objects.get(subject="見積の件")
    Activity.objects.filter(pk=call.pk).update(body="黙って", version=2)  # no history
    merge = customer_merge(actor=bob, survivor=twin, others=[karte])
    customer_merge_undo(actor=bob, merge=merge)
    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert [k["line"] for k in run.undo_report["kept"]] == [2]


def test_the_name_of_an_activity_without_a_subject_reads_in_the_readers_language(bob, erin):
    run, karte, _twin = imported_activities(bob)
    visit = Activity.objects.get(type="visit")
    Activity.objects.filter(pk=visit.pk).update(version=2)
    with translation.override("ja"):
        services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    (kept,) = run.undo_report["kept"]
    assert kept["id"] == karte.pk
    assert in_each(kept["name"]) == {"ja": "訪問", "en": "Visit"}
