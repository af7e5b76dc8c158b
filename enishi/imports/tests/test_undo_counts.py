"""What an undo counts, and how it numbers what it kept: the same everywhere.

- `counts.kept` is the rows of the file whose records stayed: as many as
  GET /rows?show=kept and the result page's "kept" filter list; `undo_report.kept_count`
  counts records (a company the import made for the persons of the file is one, without a
  row), `kept_rows` and `kept_companies` say which; `counts.written` after an undo is what of
  the import is still there.
- Each kept record carries its row's `number` (as /rows numbers the rows) and its `line` in
  the file, and the list is in the order of the file (the companies last).
- A karte kept because records were added to it says which, how many of each.
- The result page's heading does not say every record "changed after the import".
"""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.core.later import translated
from enishi.customers.models import Customer
from enishi.deals.models import Deal
from enishi.deals.services import default_pipeline_ensure
from enishi.imports import services
from enishi.imports.models import ImportRun

from .test_undo_reasons import imported_and_worked_on, speaking

pytestmark = pytest.mark.django_db


def undone_with_three_kept(bob, erin):
    """鈴木 二郎 (line 2) edited, 佐藤 花子 (line 3) given two calls and a deal, and the
    company the import made for 二郎, which stays with him."""
    run, jiro, company, hanako, _at = imported_and_worked_on(bob, erin, "ja")
    testing.log_call(erin, hanako, subject="また電話した")
    pipeline = default_pipeline_ensure()
    Deal.objects.create(
        customer=hanako, pipeline=pipeline, stage=pipeline.stages.first(), title="空調更新"
    )
    with translation.override("ja"):
        services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.UNDONE
    return run, jiro, company, hanako


def test_the_counts_say_rows_and_the_report_records_and_both_agree(bob, erin):
    run, jiro, company, hanako = undone_with_three_kept(bob, erin)
    report = run.undo_report
    assert (report["kept_count"], report["kept_rows"], report["kept_companies"]) == (3, 2, 1)
    assert run.rows.filter(result="kept").count() == 2
    assert (run.counts["kept"], run.counts["undone"], run.counts["written"]) == (2, 0, 3)
    assert run.counts["created"] == 3 - 1  # what the run did: 2 rows (and 1 company)
    assert Customer.objects.filter(pk__in=[jiro.pk, company.pk, hanako.pk]).count() == 3


def test_the_kept_records_carry_number_and_line_in_the_order_of_the_file(bob, erin):
    run, jiro, company, hanako = undone_with_three_kept(bob, erin)
    rows = dict(run.rows.values_list("result_id", "number"))
    from enishi.imports.undo import report_of

    kept = [(k["number"], k["line"], k["id"]) for k in report_of(run)["kept"]]
    assert kept == [(rows[jiro.pk], 2, jiro.pk), (rows[hanako.pk], 3, hanako.pk), (None, None, company.pk)]  # fmt: skip
    assert rows[jiro.pk] == 1  # the rows API's number, not the line


def test_a_karte_kept_for_what_was_added_says_what_how_many_of_each(bob, erin):
    run, _jiro, _company, hanako = undone_with_three_kept(bob, erin)
    (reason,) = [k["reason"] for k in run.undo_report["kept"] if k["id"] == hanako.pk]
    assert reason["m"] == "Records were added to it since the import: %(what)s."
    read = {}
    for language in ("ja", "en"):
        with translation.override(language):
            read[language] = translated(reason)
    assert read == {
        "en": "Records were added to it since the import: 2 activities, 1 deal.",
        "ja": "インポート後に記録が追加されています（対応記録2件、商談1件）。",
    }


def test_the_api_counts_agree_with_the_rows_it_lists(client, bob, erin):
    run, jiro, company, hanako = undone_with_three_kept(bob, erin)
    api = ApiClient(client, issue_token(bob), language="en")
    found = api.get(f"/imports/{run.pk}").json()
    rows = api.get(f"/imports/{run.pk}/rows", {"show": "kept"}).json()["results"]
    assert found["counts"]["kept"] == len(rows) == found["undo_report"]["kept_rows"] == 2
    assert found["counts"]["written"] == 3 and found["counts"]["undone"] == 0
    report = found["undo_report"]
    assert (report["kept_count"], report["kept_companies"]) == (3, 1)
    by_row = {r["number"]: r["line"] for r in rows}
    listed = [(k["number"], k["line"]) for k in report["kept"]]
    assert listed[:2] == sorted(by_row.items()) and listed[2] == (None, None)
    assert "row" not in report["kept"][0]
    assert report["kept"][1]["reason"] == (
        "Records were added to it since the import: 2 activities, 1 deal."
    )
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert {"number", "line"} <= set(schema["KeptOut"]["properties"])
    assert {"kept_rows", "kept_companies"} <= set(schema["UndoReportOut"]["properties"])


@pytest.mark.parametrize(
    ("language", "heading", "rows_note", "company", "not_said"),
    [
        (
            "ja",
            "3件はそのまま残しました（それぞれの理由は次のとおり）：",
            "ファイルでは2行にあたります",
            "インポートで作成した会社",
            "インポート後に変更されたため",
        ),
        (
            "en",
            "3 records were kept as they are, each for the reason given:",
            "2 rows of the file belong to them",
            "Company the import created",
            "because they changed after the import",
        ),
    ],
)
def test_the_result_page_counts_alike_and_lists_by_line(
    client, bob, erin, language, heading, rows_note, company, not_said
):
    run, jiro, _company, hanako = undone_with_three_kept(bob, erin)
    speaking(bob, language)
    client.force_login(bob)
    body = client.get(reverse("imports:result", args=[run.pk])).content.decode()
    assert escape(heading) in body and not_said not in body
    assert escape(rows_note) in body
    assert 'href="?show=kept"' in body and "(2)</a>" in body
    kept = body[body.index('class="import-kept"') :]
    kept = kept[: kept.index("</ul>")]
    assert kept.index(escape(jiro.name)) < kept.index(escape(hanako.name)) < kept.index(company)
    with translation.override(language):
        added = translated(
            next(k["reason"] for k in run.undo_report["kept"] if k["id"] == hanako.pk)
        )
    assert escape(added) in kept
