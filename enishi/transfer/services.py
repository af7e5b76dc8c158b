"""Exports as use cases: check the choice, write (or prepare to stream) the file, record it.

Who may export: everyone who may see kartes exports exactly what they see on the customer
list (same permission filter, same filters and search), read-only users included, with the
sensitive-field rule of the karte. The full-data export is for administrators only. Every
export is recorded in the history (who, when, rows, columns, format, filters) and shown in
the audit log, and listed on the export history page (the `Export` rows).

Small exports (up to ENISHI_EXPORT_BACKGROUND_ROWS) are answered at once. Bigger ones, and
every full-data export, are written by a background task into DATA_DIR/exports: first as a
`.part` file, renamed when complete, so a file that is there is always whole. The task keeps
its progress on the `Export` row; the page polls it. A failed or cancelled export leaves no
file behind. Kept files are removed after ENISHI_EXPORT_KEEP_DAYS.
"""

from __future__ import annotations

import datetime
import errno
import itertools
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from enishi.accounts.models import User
from enishi.core.later import Message, as_text, error_message, join, later, translated
from enishi.core.permissions import can_view_sensitive, is_admin
from enishi.customers.models import Customer
from enishi.customers.selectors import CustomerFilters, customer_list
from enishi.history.models import HistoryEntry
from enishi.history.services import history_batch, history_record
from enishi.transfer import selectors
from enishi.transfer.card_services import (
    PrintedKartes,
    card_pdf_record,
    card_pdf_write,
    print_background_limit,
    too_many_error,
)
from enishi.transfer.export import (
    CP932,
    UTF8_BOM,
    XLSX_MAX_ROWS,
    Column,
    EncodingReport,
    ExportRow,
    csv_chunks,
    customer_rows,
    export_columns,
    write_csv,
    write_xlsx,
)
from enishi.transfer.models import STALE_AFTER, Export

logger = logging.getLogger("enishi.transfer")

CONTENT_TYPES = {
    Export.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Export.Format.CSV_UTF8: "text/csv; charset=utf-8",
    Export.Format.CSV_CP932: "text/csv; charset=Windows-31J",
    Export.Format.ZIP: "application/zip",
    Export.Format.PDF: "application/pdf",
    Export.Format.VCARD3: "text/vcard; charset=utf-8",
    Export.Format.VCARD4: "text/vcard; charset=utf-8",
}
EXTENSIONS = {
    Export.Format.XLSX: "xlsx",
    Export.Format.CSV_UTF8: "csv",
    Export.Format.CSV_CP932: "csv",
    Export.Format.ZIP: "zip",
    Export.Format.PDF: "pdf",
    Export.Format.VCARD3: "vcf",
    Export.Format.VCARD4: "vcf",
}
# The task backend exports are queued on (tests of the real queue switch it to "database").
TASK_BACKEND = "default"
# Exports one person may have waiting or running at once.
MAX_ACTIVE_PER_USER = 3
# Files in the export folder that no export row points to are removed after this long.
ORPHAN_AFTER = datetime.timedelta(days=1)
# Refuse to start a background export when the disk is this close to full.
MIN_FREE_BYTES = 200 * 1024 * 1024


def background_threshold() -> int:
    """Exports with more rows than this are prepared in the background."""
    return int(getattr(settings, "ENISHI_EXPORT_BACKGROUND_ROWS", 5000))


def keep_days() -> int:
    """How long a prepared file stays available for download."""
    return int(getattr(settings, "ENISHI_EXPORT_KEEP_DAYS", 7))


def export_dir() -> Path:
    return Path(settings.DATA_DIR) / "exports"


class UnencodableCharacters(ValidationError):
    """cp932 cannot hold some characters and the user did not choose to replace them."""

    def __init__(self, report: EncodingReport) -> None:
        super().__init__(
            gettext_lazy(
                "Shift_JIS (cp932) cannot hold %(count)s characters in this export. Export as "
                "CSV in UTF-8 with BOM (Excel opens it too), or replace them with 〓."
            ),
            code="unencodable",
            params={"count": report.characters},
        )
        self.report = report


class ExportCancelled(Exception):
    """The export's row was cancelled while the task was writing it."""


@dataclass
class ExportFile:
    """A finished export: either a file already written (xlsx, cp932, a kept background file)
    or bytes made while they are sent (UTF-8 CSV, any size, constant memory)."""

    record: Export
    filename: str
    content_type: str
    file: IO[bytes] | None = None
    chunks: Iterator[bytes] | None = None
    report: EncodingReport | None = None


@dataclass
class ExportPlan:
    """A checked choice: the columns, the filters and how many kartes it will write."""

    columns: list[Column]
    filters: CustomerFilters
    file_format: str
    count: int

    @property
    def background(self) -> bool:
        return self.count > background_threshold()


def export_columns_pick(user: User, keys: list[str]) -> list[Column]:
    """The chosen columns in the order given; a key the user may not export is an error."""
    available = {column.key: column for column in export_columns(user)}
    unknown = [key for key in keys if key not in available]
    if unknown:
        raise ValidationError(
            {
                "columns": [
                    _("Unknown columns: %(keys)s.") % {"keys": ", ".join(unknown[:20])},
                ]
            }
        )
    chosen = list(dict.fromkeys(keys))
    if not chosen:
        raise ValidationError({"columns": [_("Choose at least one column.")]})
    return [available[key] for key in chosen]


def export_file_name(file_format: str, day=None, *, kind: str = Export.Kind.CUSTOMERS) -> str:
    day = day or timezone.localdate()
    if kind == Export.Kind.FULL:
        stem = pgettext("export file name", "enishi-full-data")
    elif kind in (Export.Kind.PRINT, Export.Kind.VCARD):
        stem = pgettext("file name", "kartes")
    else:
        stem = pgettext("export file name", "customers")
    return f"{stem}-{day.isoformat()}.{EXTENSIONS[file_format]}"


def filters_from_record(filters: dict[str, Any]) -> CustomerFilters:
    known = CustomerFilters.__dataclass_fields__
    return CustomerFilters(**{k: v for k, v in filters.items() if k in known})


def filters_message(filters: CustomerFilters) -> Message | None:
    """The list's filters as a message kept for later ("Kind: Company、Owner: 山田"), for the
    history, where each reader reads it in their own language; None without filters. Names of
    owners and tags are kept as they were then."""
    labels = {
        "kind": dict(Customer.Kind.choices),
        "status": dict(Customer.Status.choices),
        "channel": dict(Customer.Channel.choices),
    }
    names = {
        "kind": gettext_lazy("Kind"),
        "status": gettext_lazy("Status"),
        "rank": gettext_lazy("Rank"),
        "owner": gettext_lazy("Owner"),
        "tag": gettext_lazy("Tag"),
        "prefecture": gettext_lazy("Prefecture"),
        "channel": gettext_lazy("Acquisition channel"),
        "q": gettext_lazy("Search"),
    }
    parts = []
    for key, value in filters.active().items():
        if key == "owner":
            shown = selectors.user_label(value)
        elif key == "tag":
            shown = selectors.tag_name(value)
        else:
            shown = labels.get(key, {}).get(value, value)
        parts.append(join([names.get(key, key), shown], ": "))
    return join(parts) if parts else None


def describe_filters(filters: CustomerFilters) -> str:
    """The list's filters as people read them (for the export page)."""
    message = filters_message(filters)
    return translated(message) if message is not None else ""


def _filters_for_history(filters: CustomerFilters) -> Any:
    message = filters_message(filters) or later(gettext_lazy("none (all customers you can see)"))
    return message.stored


def customer_export_plan(
    *, actor: User, filters: CustomerFilters, column_keys: list[str], file_format: str
) -> ExportPlan:
    """Check a customer export before anything is written. Raises ValidationError."""
    if file_format not in (Export.Format.XLSX, Export.Format.CSV_UTF8, Export.Format.CSV_CP932):
        raise ValidationError({"format": [_("Choose a file format.")]})
    columns = export_columns_pick(actor, column_keys)
    count = selectors.export_count(actor, filters)
    if file_format == Export.Format.XLSX and count > XLSX_MAX_ROWS:
        raise ValidationError(
            _(
                "Excel sheets hold at most %(max)s rows; this export has %(count)s. "
                "Export as CSV instead, or narrow the list."
            )
            % {"max": f"{XLSX_MAX_ROWS:,}", "count": f"{count:,}"},
            code="too_many_rows",
        )
    return ExportPlan(columns=columns, filters=filters, file_format=file_format, count=count)


# --- small exports: answered at once -------------------------------------------------------------


def customer_export(
    *,
    actor: User,
    filters: CustomerFilters,
    column_keys: list[str],
    file_format: str,
    replace_unencodable: bool = False,
    via: str = HistoryEntry.Via.UI,
) -> ExportFile:
    """Export the kartes of the user's customer list with these filters, at once.

    xlsx and cp932 CSV are written to a temporary file first (cp932 must be checked whole
    before anything is sent); UTF-8 CSV is produced while it is sent. Raises ValidationError
    for a bad choice and UnencodableCharacters when cp932 cannot hold the data.
    """
    plan = customer_export_plan(
        actor=actor, filters=filters, column_keys=column_keys, file_format=file_format
    )
    columns = plan.columns
    rows = customer_rows(actor, customer_list(actor, filters), columns)
    filename = export_file_name(file_format)
    result = ExportFile(record=Export(), filename=filename, content_type=CONTENT_TYPES[file_format])
    count, replaced = plan.count, 0
    if file_format == Export.Format.CSV_UTF8:
        result.chunks = csv_chunks(rows, columns, encoding=UTF8_BOM)
    else:
        result.file = tempfile.TemporaryFile(prefix="enishi-export-")  # noqa: SIM115 - sent, then closed by the response
        try:
            if file_format == Export.Format.XLSX:
                count = write_xlsx(rows, columns, result.file, sheet_title=_("Customers"))
            else:
                result.report = write_csv(rows, columns, result.file, encoding=CP932)
                count = result.report.rows
                if result.report.count and not replace_unencodable:
                    raise UnencodableCharacters(result.report)
                replaced = result.report.characters
        except BaseException:
            result.file.close()
            raise
        result.file.seek(0)
    record = Export(
        created_by=actor,
        via=via,
        kind=Export.Kind.CUSTOMERS,
        format=file_format,
        status=Export.Status.DONE,
        language=translation.get_language() or "",
        row_count=count,
        done=count,
        total=count,
        columns=[column.key for column in columns],
        filters=_filters_json(filters),
        replace_unencodable=replace_unencodable and file_format == Export.Format.CSV_CP932,
        replaced=replaced,
        file_name=filename,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    result.record = _export_record(record, columns=columns, filters=filters)
    return result


def card_export_record(
    *,
    actor: User,
    kind: str,
    file_format: str,
    count: int,
    filters: CustomerFilters,
    file_name: str,
    via: str = HistoryEntry.Via.UI,
) -> Export:
    """The export row and its history entry for the customer list's kartes sent at once as
    one PDF or one .vcf (`card_services`): listed in the export history like a list export,
    with the list's filters, the format and how many kartes. Each karte's own entry is
    written by the caller, in the export's batch (`export_batch`)."""
    now = timezone.now()
    record = Export(
        created_by=actor,
        via=via,
        kind=kind,
        format=file_format,
        status=Export.Status.DONE,
        language=translation.get_language() or "",
        row_count=count,
        done=count,
        total=count,
        filters=_filters_json(filters),
        file_name=file_name[:200],
        started_at=now,
        finished_at=now,
    )
    return _export_record(record, columns=[], filters=filters)


def _filters_json(filters: CustomerFilters) -> dict[str, Any]:
    return {**filters.active(), "sort": filters.sort}


@transaction.atomic
def _export_record(record: Export, *, columns: list[Column], filters: CustomerFilters) -> Export:
    """Save a small export's row and its history entry together."""
    record.save()
    _export_history(record, columns=columns, filters=filters)
    return record


def export_batch(record: Export) -> str:
    """The history batch of an export: its own entry, and what it wrote into each karte's
    history (the kartes printed or sent as vCards, sensitive fields that left in it)."""
    return f"export:{record.pk}"


def _export_history(record: Export, *, columns: list[Column], filters: CustomerFilters) -> None:
    changes: dict[str, Any] = {
        "format": [None, record.format],
        "row_count": [None, record.row_count],
    }
    if record.kind == Export.Kind.FULL:
        changes = {"kind": [None, record.kind], **changes, "file_size": [None, record.file_size]}
    elif record.of_kartes:
        changes = {"kind": [None, record.kind], **changes}
        changes["filters"] = [None, _filters_for_history(filters)]
        left_out = sum(p.get("left_out", 0) for p in record.problems)
        if left_out:
            changes["left_out"] = [None, left_out]
    else:
        # Kept as keys and messages: each reader reads them in their own language.
        changes["columns"] = [None, [column.key for column in columns]]
        changes["filters"] = [None, _filters_for_history(filters)]
    if record.replaced:
        changes["replaced"] = [None, record.replaced]
    if record.background:
        changes["background"] = [None, True]
    history_record(
        actor=record.created_by,
        via=record.via,
        action=HistoryEntry.Action.EXPORT,
        instance=record,
        customer_id=None,
        changes=changes,
        batch=export_batch(record),
    )
    sensitive = [column.label for column in columns if column.sensitive]
    if record.kind == Export.Kind.CUSTOMERS and sensitive:
        _sensitive_history(record, sensitive, filters)


SENSITIVE_HISTORY_CHUNK = 2000


def _sensitive_history(record: Export, labels: list[str], filters: CustomerFilters) -> None:
    """Sensitive fields (要配慮個人情報) that leave in a file are a view of each karte in it:
    every karte's history says who took which of them, when, and in which export."""
    kartes = (
        customer_list(record.created_by, filters).order_by().values_list("pk", "name").iterator()
    )
    changes = {"custom_fields": [None, "、".join(labels)]}
    batch = export_batch(record)
    while chunk := list(itertools.islice(kartes, SENSITIVE_HISTORY_CHUNK)):
        HistoryEntry.objects.bulk_create(
            HistoryEntry(
                actor=record.created_by,
                via=record.via,
                action=HistoryEntry.Action.VIEW_SENSITIVE,
                model="customers.customer",
                object_id=pk,
                customer_id=pk,
                object_repr=name[:200],
                changes=changes,
                batch=batch,
            )
            for pk, name in chunk
        )


# --- big exports: a background task -------------------------------------------------------------


def _check_can_start(actor: User) -> None:
    active = selectors.exports_active_count(actor)
    if active >= MAX_ACTIVE_PER_USER:
        raise ValidationError(
            _(
                "You already have %(count)s exports being prepared. Wait until one is ready "
                "(or cancel one) before starting another."
            )
            % {"count": active},
            code="too_many_exports",
        )
    directory = export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        stat = os.statvfs(directory)
    except (AttributeError, OSError):
        return
    free = stat.f_bavail * stat.f_frsize
    if free < MIN_FREE_BYTES:
        raise ValidationError(
            _("The server's disk is almost full: the export cannot be prepared now."),
            code="disk_full",
        )


def _enqueue(record: Export) -> Export:
    """Queue the task for a saved row. The row is committed first (callers are not inside a
    transaction), so a worker in another thread or process finds it."""
    from enishi.transfer.tasks import export_run_task

    try:
        result = export_run_task.using(backend=TASK_BACKEND).enqueue(record.pk)
    except Exception:
        logger.exception("could not queue export %s", record.pk)
        Export.objects.filter(pk=record.pk).update(
            status=Export.Status.FAILED,
            error=as_text(gettext_lazy("The export could not be queued. Try again later.")),
            finished_at=timezone.now(),
        )
        raise
    Export.objects.filter(pk=record.pk, task_id="").update(task_id=str(result.id)[:64])
    record.refresh_from_db()
    return record


def customer_export_start(
    *,
    actor: User,
    filters: CustomerFilters,
    column_keys: list[str],
    file_format: str,
    replace_unencodable: bool = False,
    via: str = HistoryEntry.Via.UI,
) -> Export:
    """Check the choice and queue the export as a background task; returns its row.

    The kartes are read when the task runs, with the user's permissions at that moment.
    """
    plan = customer_export_plan(
        actor=actor, filters=filters, column_keys=column_keys, file_format=file_format
    )
    return _queue(
        actor,
        via=via,
        kind=Export.Kind.CUSTOMERS,
        format=file_format,
        total=plan.count,
        columns=[column.key for column in plan.columns],
        filters=_filters_json(filters),
        replace_unencodable=replace_unencodable and file_format == Export.Format.CSV_CP932,
        file_name=export_file_name(file_format),
    )


def _queue(actor: User, *, via: str, **fields: Any) -> Export:
    """A new background export row of `actor`, queued (within the per-person cap)."""
    _check_can_start(actor)
    exports_expire()
    try:
        with transaction.atomic():
            record = Export.objects.create(
                created_by=actor,
                via=via,
                status=Export.Status.QUEUED,
                language=translation.get_language() or "",
                background=True,
                **fields,
            )
    except IntegrityError:
        # Another full-data export was queued at the same moment (export_one_full_active).
        active = Export.objects.filter(kind=Export.Kind.FULL, status__in=selectors.ACTIVE)
        if fields.get("kind") == Export.Kind.FULL and active.exists():
            raise _full_export_running() from None
        raise
    return _enqueue(record)


def _full_export_running() -> ValidationError:
    return ValidationError(
        _("A full-data export is already being prepared. Wait until it is ready."),
        code="already_running",
    )


def full_export_start(*, actor: User, via: str = HistoryEntry.Via.UI) -> Export:
    """Queue a full-data export (administrators only; one at a time)."""
    if not is_admin(actor):
        raise ValidationError(_("Only administrators may export all data."), code="forbidden")
    if selectors.full_export_running():
        raise _full_export_running()
    return _queue(
        actor,
        via=via,
        kind=Export.Kind.FULL,
        format=Export.Format.ZIP,
        file_name=export_file_name(Export.Format.ZIP, kind=Export.Kind.FULL),
    )


def print_export_start(
    *,
    actor: User,
    filters: CustomerFilters,
    customer_ids: list[int],
    base_url: str,
    via: str = HistoryEntry.Via.UI,
) -> Export:
    """Queue the printing of these kartes (the list's selection, in its order) as one PDF.

    The kartes are checked again when the task runs, with the person's permissions then.
    """
    limit = print_background_limit()
    if not customer_ids:
        raise ValidationError(_("There is no karte to print."), code="empty")
    if len(customer_ids) > limit:
        raise too_many_error(limit, what=_("printed"))
    return _queue(
        actor,
        via=via,
        kind=Export.Kind.PRINT,
        format=Export.Format.PDF,
        total=len(customer_ids),
        filters={**_filters_json(filters), "ids": list(customer_ids), "base_url": base_url},
        file_name=export_file_name(Export.Format.PDF, kind=Export.Kind.PRINT),
    )


class _Progress:
    """Writes progress to the row every chunk; notices a cancellation there."""

    def __init__(self, record: Export) -> None:
        self.pk = record.pk
        self.done = 0

    def __call__(self, rows: int) -> None:
        self.done += rows
        updated = Export.objects.filter(pk=self.pk, status=Export.Status.RUNNING).update(
            done=self.done, heartbeat_at=timezone.now()
        )
        if not updated:
            raise ExportCancelled

    def counting(self, rows: Iterable[ExportRow], every: int = 2000) -> Iterator[ExportRow]:
        pending = 0
        for row in rows:
            yield row
            pending += 1
            if pending == every:
                self(pending)
                pending = 0
        if pending:
            self(pending)


def export_run(*, export_id: int) -> Export | None:
    """The background task's work: write the file of a queued export, keeping progress.

    Runs once: an export that is no longer waiting (cancelled, or already run by another
    worker) is left alone. Whatever happens, either a whole file is kept and the row says
    "ready", or no file is left and the row says why.
    """
    claimed = Export.objects.filter(pk=export_id, status=Export.Status.QUEUED).update(
        status=Export.Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    if not claimed:
        return None
    record = Export.objects.select_related("created_by").get(pk=export_id)
    directory = export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{record.pk}-{get_random_string(16)}.{EXTENSIONS[record.format]}"
    part = directory / (name + ".part")
    progress = _Progress(record)
    language = record.language or settings.LANGUAGE_CODE
    columns: list[Column] = []
    printed = None
    try:
        with translation.override(language):
            if record.kind == Export.Kind.FULL:
                rows, report = _write_full(record, part, progress), None
            elif record.kind == Export.Kind.PRINT:
                printed = _write_print(record, part, progress)
                rows, report = printed.count, None
            else:
                columns, rows, report = _write_customers(record, part, progress)
    except ExportCancelled:
        part.unlink(missing_ok=True)
        return Export.objects.get(pk=export_id)
    except UnencodableCharacters as exc:
        part.unlink(missing_ok=True)
        with translation.override(language):
            _fail(record, error_message(exc), problems=_problems_json(exc.report))
        return Export.objects.get(pk=export_id)
    except ValidationError as exc:
        part.unlink(missing_ok=True)
        _fail(record, error_message(exc))
        return Export.objects.get(pk=export_id)
    except OSError as exc:
        part.unlink(missing_ok=True)
        logger.exception("export %s could not be written", export_id)
        with translation.override(language):
            if exc.errno == errno.ENOSPC:
                message = later(
                    gettext_lazy("The server's disk is full: the export could not be written.")
                )
            else:
                message = later(
                    gettext_lazy("The file could not be written (%(error)s)."),
                    error=exc.strerror or exc.__class__.__name__,
                )
            _fail(record, message)
        return Export.objects.get(pk=export_id)
    except Exception as exc:
        part.unlink(missing_ok=True)
        logger.exception("export %s failed", export_id)
        with translation.override(language):
            _fail(
                record,
                later(
                    gettext_lazy(
                        "The export failed unexpectedly (%(error)s). Try again; if it fails "
                        "again, tell your administrator."
                    ),
                    error=exc.__class__.__name__,
                ),
            )
        return Export.objects.get(pk=export_id)

    final = directory / name
    os.replace(part, final)
    now = timezone.now()
    finished = {
        "status": Export.Status.DONE,
        "path": name,
        "file_size": final.stat().st_size,
        "row_count": rows,
        "done": rows,
        "replaced": report.characters if report else 0,
        "finished_at": now,
        "heartbeat_at": now,
        "expires_at": now + datetime.timedelta(days=keep_days()),
    }
    if printed is not None and printed.left_out:
        finished["problems"] = [{"left_out": printed.left_out}]
    with transaction.atomic():
        # Only a row still running becomes ready: one cancelled at the very end stays so.
        if not Export.objects.filter(pk=export_id, status=Export.Status.RUNNING).update(**finished):
            final.unlink(missing_ok=True)
            return Export.objects.get(pk=export_id)
        record = Export.objects.select_related("created_by").get(pk=export_id)
        with translation.override(language):
            _export_history(record, columns=columns, filters=filters_from_record(record.filters))
        if printed is not None:
            with history_batch(export_batch(record)):
                card_pdf_record(actor=record.created_by, printed=printed, via=record.via)
    _schedule_expiry(record)
    return record


def _write_customers(
    record: Export, part: Path, progress: _Progress
) -> tuple[list[Column], int, EncodingReport | None]:
    actor = record.created_by
    if not actor.is_active:
        raise ValidationError(
            gettext_lazy("The person who asked for this export can no longer log in.")
        )
    filters = filters_from_record(record.filters)
    columns = export_columns_pick(actor, list(record.columns))
    queryset = customer_list(actor, filters)
    total = queryset.order_by().count()
    if record.format == Export.Format.XLSX and total > XLSX_MAX_ROWS:
        raise ValidationError(
            gettext_lazy(
                "Excel sheets hold at most %(max)s rows; this export has %(count)s. "
                "Export as CSV instead, or narrow the list."
            ),
            params={"max": f"{XLSX_MAX_ROWS:,}", "count": f"{total:,}"},
        )
    Export.objects.filter(pk=record.pk).update(total=total)
    rows = progress.counting(customer_rows(actor, queryset, columns))
    with open(part, "wb") as out:
        if record.format == Export.Format.XLSX:
            return columns, write_xlsx(rows, columns, out, sheet_title=_("Customers")), None
        encoding = CP932 if record.format == Export.Format.CSV_CP932 else UTF8_BOM
        report = write_csv(rows, columns, out, encoding=encoding)
    if report.count and not record.replace_unencodable:
        raise UnencodableCharacters(report)
    return columns, report.rows, report


def _write_print(record: Export, part: Path, progress: _Progress) -> PrintedKartes:
    """Lay out the chosen kartes a batch at a time (progress and cancellation per batch) and
    write one PDF; returns what was printed, recorded once the file is complete."""
    actor = record.created_by
    if not actor.is_active:
        raise ValidationError(
            gettext_lazy("The person who asked for this export can no longer log in.")
        )
    ids = [int(pk) for pk in record.filters.get("ids", [])]
    with open(part, "wb") as out:
        return card_pdf_write(
            actor=actor,
            customer_ids=ids,
            base_url=record.filters.get("base_url") or "http://localhost/",
            out=out,
            progress=progress,
        )


def _write_full(record: Export, part: Path, progress: _Progress) -> int:
    from enishi.transfer import full_export

    actor = record.created_by
    if not is_admin(actor):
        raise ValidationError(gettext_lazy("Only administrators may export all data."))
    Export.objects.filter(pk=record.pk).update(total=full_export.row_total())
    result = full_export.write_full_export(
        part,
        actor_label=f"{actor.username} ({actor.label})",
        show_sensitive=can_view_sensitive(actor),
        progress=progress,
    )
    return result.rows


def _problems_json(report: EncodingReport) -> list[dict[str, Any]]:
    return [
        {
            "row": p.row,
            "column": p.column,
            "characters": p.characters,
            "code_points": p.code_points(),
            "customer_id": p.customer_id,
            "customer_name": p.customer_name,
        }
        for p in report.problems
    ] + (
        [{"more": report.count - len(report.problems)}]
        if report.count > len(report.problems)
        else []
    )


def _fail(record: Export, message: Any, *, problems: list[dict[str, Any]] | None = None) -> None:
    """The export failed: `message` is kept for later (`core.later`), read in each reader's
    language (the creator's, an administrator's)."""
    Export.objects.filter(pk=record.pk).update(
        status=Export.Status.FAILED,
        error=as_text(message),
        problems=problems or [],
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )


def _schedule_expiry(record: Export) -> None:
    """Ask the queue to remove the file when its time is up (a backend that cannot run a task
    later leaves it to the next export or to `enishi exports_expire`)."""
    from enishi.transfer.tasks import exports_expire_task

    task = exports_expire_task.using(backend=TASK_BACKEND)
    if not task.get_backend().supports_defer:
        return
    try:
        task.using(run_after=record.expires_at + datetime.timedelta(minutes=1)).enqueue()
    except Exception:
        logger.exception("could not schedule the removal of export %s", record.pk)


# --- afterwards: download, cancel, delete, expire -----------------------------------------------


def export_path(record: Export) -> Path:
    return export_dir() / record.path


def export_open(*, actor: User, record: Export, via: str = HistoryEntry.Via.UI) -> ExportFile:
    """The kept file of a background export, for its creator or an administrator.

    Raises ValidationError (code "not_ready" or "expired") when there is nothing to send.
    Someone other than the creator (an administrator) downloading it is recorded.
    """
    if record.has_expired:
        if record.error:  # removed by someone before its time: say who
            raise ValidationError(
                _("%(reason)s Export again.") % {"reason": record.error_text}, code="expired"
            )
        raise ValidationError(
            _("This file was kept for %(days)s days and has been removed. Export again.")
            % {"days": keep_days()},
            code="expired",
        )
    if not record.downloadable:
        raise ValidationError(_("This export has no file to download."), code="not_ready")
    try:
        handle = open(export_path(record), "rb")  # noqa: SIM115 - closed by the response
    except FileNotFoundError:
        Export.objects.filter(pk=record.pk).update(path="", status=Export.Status.EXPIRED)
        raise ValidationError(
            _("The file is no longer on the server. Export again."), code="expired"
        ) from None
    Export.objects.filter(pk=record.pk).update(download_count=F("download_count") + 1)
    if actor.pk != record.created_by_id:
        history_record(
            actor=actor,
            via=via,
            action=HistoryEntry.Action.EXPORT,
            instance=record,
            customer_id=None,
            changes={"download_count": [record.download_count, record.download_count + 1]},
        )
    record.download_count += 1
    return ExportFile(
        record=record,
        filename=record.file_name,
        content_type=CONTENT_TYPES[record.format],
        file=handle,
    )


def export_discard(*, actor: User, record: Export, cancel_only: bool = False) -> Export:
    """Cancel an export still being prepared, or remove a kept file before its time.
    `cancel_only`: the person asked to stop an export in progress; one that finished
    meanwhile keeps its file (removing it is a decision of its own)."""
    if record.status in (Export.Status.QUEUED, Export.Status.RUNNING):
        Export.objects.filter(
            pk=record.pk, status__in=[Export.Status.QUEUED, Export.Status.RUNNING]
        ).update(
            status=Export.Status.CANCELLED,
            error=as_text(later(gettext_lazy("Cancelled by %(name)s."), name=actor.label)),
            finished_at=timezone.now(),
        )
    elif record.path and not cancel_only:
        _remove_file(record)
        Export.objects.filter(pk=record.pk).update(
            path="",
            status=Export.Status.EXPIRED,
            error=as_text(later(gettext_lazy("Removed by %(name)s."), name=actor.label)),
            expires_at=timezone.now(),
        )
    record.refresh_from_db()
    return record


def _remove_file(record: Export) -> None:
    try:
        export_path(record).unlink(missing_ok=True)
    except OSError:
        logger.exception("could not remove the file of export %s", record.pk)


def exports_expire(now: datetime.datetime | None = None) -> int:
    """Remove kept files whose time is up, mark interrupted exports, and sweep files no
    export points to. Returns how many files were removed."""
    now = now or timezone.now()
    removed = 0
    for record in Export.objects.filter(expires_at__lte=now).exclude(path=""):
        _remove_file(record)
        Export.objects.filter(pk=record.pk).update(path="", status=Export.Status.EXPIRED)
        removed += 1
    Export.objects.filter(status=Export.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER).update(
        status=Export.Status.FAILED,
        error=as_text(
            gettext_lazy(
                "The export was interrupted (the server stopped while preparing it). Export again."
            )
        ),
        finished_at=now,
    )
    directory = export_dir()
    if directory.is_dir():
        kept = set(Export.objects.exclude(path="").values_list("path", flat=True))
        running = {
            str(pk)
            for pk in Export.objects.filter(
                status__in=[Export.Status.QUEUED, Export.Status.RUNNING]
            ).values_list("pk", flat=True)
        }
        cutoff = (now - ORPHAN_AFTER).timestamp()
        for entry in directory.iterdir():
            if not entry.is_file() or entry.name in kept:
                continue
            if entry.name.split("-", 1)[0] in running or entry.stat().st_mtime > cutoff:
                continue
            entry.unlink(missing_ok=True)
            removed += 1
    return removed
