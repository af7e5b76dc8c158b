"""The background tasks of imports: thin wrappers that call the step and record how it ended.

A step that fails records a message on the run for the page to show, kept for later
(`core.later.as_text`: shown through `ImportRun.error_text` in the reader's language). A failed *run* is taken
back at once (`undo.undo(automatic=True)`): nothing of it stays, and the page says so; if even
that fails, the page offers the undo.
"""

from __future__ import annotations

import logging

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from enishi.core.later import as_text, later
from enishi.imports import analysis, undo, writing
from enishi.imports.models import ImportRun

logger = logging.getLogger("enishi.imports")


def _load(run_id: int) -> ImportRun | None:
    return ImportRun.objects.select_related("created_by", "undone_by").filter(pk=run_id).first()


@task()
def import_analyse_task(run_id: int) -> None:
    run = _load(run_id)
    if run is None or run.status != ImportRun.Status.ANALYSING:
        return
    try:
        analysis.analyse(run)
    except Exception:
        logger.exception("import %s: checking the rows failed", run_id)
        message = as_text(
            _(
                "Checking the rows stopped because of an error on our side. Nothing was "
                "imported. Try again; if it happens again, tell your administrator."
            )
        )
        run.rows.all().delete()
        ImportRun.objects.filter(pk=run_id).update(
            status=ImportRun.Status.MAPPING, phase="", error=message, heartbeat_at=timezone.now()
        )


@task()
def import_run_task(run_id: int) -> None:
    run = _load(run_id)
    if run is None or run.status != ImportRun.Status.RUNNING:
        return
    try:
        writing.execute(run)
    except Exception:
        logger.exception("import %s: writing failed", run_id)
        _take_back(run)


def _take_back(run: ImportRun) -> None:
    run.refresh_from_db()
    with translation.override(run.language):
        try:
            report = undo.undo(run, actor=run.created_by, automatic=True)
        except Exception:
            logger.exception("import %s: taking back the failed import failed", run.pk)
            message = as_text(
                _(
                    "The import stopped because of an error on our side, and what it had "
                    "written could not be taken back automatically. Use “Undo this import” "
                    "below."
                )
            )
            ImportRun.objects.filter(pk=run.pk).update(
                status=ImportRun.Status.FAILED, phase="", error=message, heartbeat_at=timezone.now()
            )
            return
        if report["kept_count"]:
            message = as_text(
                later(
                    _(
                        "The import stopped because of an error on our side. What it had written "
                        "was taken back, except %(kept)s records someone changed in the meantime "
                        "(listed below)."
                    ),
                    kept=report["kept_count"],
                )
            )
        else:
            message = as_text(
                _(
                    "The import stopped because of an error on our side. Everything it had "
                    "written was taken back: nothing was imported. Try again; if it happens "
                    "again, tell your administrator."
                )
            )
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.FAILED, error=message)


@task()
def import_undo_task(run_id: int) -> None:
    run = _load(run_id)
    if run is None or run.status != ImportRun.Status.UNDOING:
        return
    try:
        undo.undo(run, actor=run.undone_by or run.created_by)
    except Exception:
        logger.exception("import %s: undo failed", run_id)
        message = as_text(
            _(
                "The undo stopped because of an error on our side; part of the import may "
                "still be there. Start the undo again: it continues where it stopped."
            )
        )
        ImportRun.objects.filter(pk=run_id).update(
            status=ImportRun.Status.FAILED,
            phase="",
            error=message,
            heartbeat_at=timezone.now(),
            counts={**run.counts, "written": max(1, run.counts.get("written", 0))},
        )
