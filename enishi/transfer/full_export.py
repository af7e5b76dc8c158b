"""The full-data export: every record of every table, as JSON Lines and CSV in one zip.

For backup and for moving to another system. Each table is written twice: `<table>.jsonl`
(one JSON object per line, exact values: the file to read back) and `<table>.csv` (UTF-8 with
BOM, for people and spreadsheets; a cell a spreadsheet would take for a formula starts with an
apostrophe, as in every CSV Enishi writes). `manifest.json` says what is inside: the schema
version, when and by whom, each table's columns and row count, and what was left out.

All tables are read in one snapshot (a read transaction: DEFERRED on SQLite, whose WAL lets
writers go on beside it; REPEATABLE READ READ ONLY on PostgreSQL), so a customer saved while
the export runs is either in every file that concerns it or in none: the history never names a
karte the customers file lacks. Progress is written from a helper thread on its own
connection, outside that snapshot.

Memory stays flat whatever the size: rows are read in primary-key order 2,000 at a time
(keyset pagination, no long-running cursor), the JSON Lines go straight into the zip, the CSV
is spooled to a temporary file on disk and copied in afterwards (a zip can be written one
member at a time only), and the zip itself is a file on disk.

Left out on purpose: password hashes, session generations, API-token and calendar-feed
hashes, the search documents and match keys (derived from the data, rebuilt on import), and
the tables of Django and of the task queue. Sensitive custom fields are left out when the
administrator's role may not see them (ENISHI_SENSITIVE_ROLES).
"""

from __future__ import annotations

import csv
import datetime
import importlib.metadata
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, connections
from django.db.models import Model
from django.utils import timezone
from django.utils.duration import duration_iso_string

from enishi.transfer.export import csv_text

SCHEMA_VERSION = 1
FORMAT_NAME = "enishi-full-export"
CHUNK = 2000
# zlib level 1: about three times faster than the default 6 for 10–15 % more bytes; the
# export is read by machines, and the time matters more at a million customers.
COMPRESS_LEVEL = 1
CUSTOM_PREFIX = "custom_fields."


@dataclass(frozen=True)
class Table:
    """One table of the export: the file name, the model and the columns written."""

    name: str
    model: str  # app_label.ModelName, or app_label.ModelName.m2m_field for a link table
    exclude: tuple[str, ...] = ()
    # Customers: each custom field also as its own CSV column (the JSON column stays too).
    expand_custom_fields: bool = False
    # JSON columns holding {"custom_fields": …} with before/after values (history, merges):
    # sensitive values inside are scrubbed like the customers' own.
    scrub: tuple[str, ...] = ()

    def model_class(self) -> type[Model]:
        parts = self.model.split(".")
        model = apps.get_model(parts[0], parts[1])
        if len(parts) == 3:
            return model._meta.get_field(parts[2]).remote_field.through
        return model

    def columns(self) -> list[str]:
        return [
            f.attname
            for f in self.model_class()._meta.concrete_fields
            if f.attname not in self.exclude
        ]


CUSTOMER_DERIVED = (
    "name_key",
    "kana_key",
    "reading_key",
    "email_key",
    "email_alt_key",
    "search_text",
    "search_bigrams",
)

# Parents before children, so a reader can load the files in this order.
TABLES: tuple[Table, ...] = (
    Table("teams", "accounts.Team"),
    Table("users", "accounts.User", exclude=("password", "session_generation")),
    Table("house_style", "core.HouseStyle"),
    Table("field_definitions", "customers.FieldDefinition"),
    Table("tags", "customers.Tag"),
    Table("customers", "customers.Customer", exclude=CUSTOMER_DERIVED, expand_custom_fields=True),
    Table("customer_tags", "customers.Customer.tags"),
    Table("activities", "activities.Activity"),
    Table("pipelines", "deals.Pipeline"),
    Table("stages", "deals.Stage"),
    Table("deals", "deals.Deal"),
    Table("deal_contacts", "deals.Deal.contacts"),
    Table("deal_stage_changes", "deals.DealStageChange"),
    Table("inquiry_categories", "inquiries.InquiryCategory"),
    Table("inquiries", "inquiries.Inquiry"),
    Table("inquiry_answers", "inquiries.InquiryAnswer"),
    Table("products", "sales.Product"),
    Table("orders", "sales.Order"),
    Table("order_lines", "sales.OrderLine"),
    Table("contracts", "sales.Contract"),
    Table("tasks", "activities.Task"),
    Table("merges", "quality.Merge", scrub=("fields",)),
    Table("merged_customers", "quality.MergedCustomer"),
    Table("duplicate_pairs", "quality.DuplicatePair"),
    Table("import_templates", "imports.ImportTemplate"),
    Table("imports", "imports.ImportRun", exclude=("stored_name",)),
    Table("import_companies", "imports.ImportCompany"),
    Table("history", "history.HistoryEntry", scrub=("changes",)),
    Table("exports", "transfer.Export", exclude=("path", "task_id")),
    Table("style_cleanups", "core.StyleCleanup"),
)

# Models of Enishi's own apps that are not exported, and why (a test checks that every
# model is either exported or listed here, so a new table cannot be forgotten).
EXCLUDED_MODELS: dict[str, str] = {
    "activities.CalendarFeed": "secret feed token hashes",
    "api.ApiToken": "secret API token hashes",
    "quality.ScanRun": "progress of duplicate scans (the pairs they found are exported)",
    "transfer.CardImportBatch": "which vCard previews were imported, to refuse a second "
    "import of one (the kartes it made and their history are exported)",
    "imports.ImportRow": "the rows of uploaded files, kept for the preview and the undo (the "
    "records they made and the history of each are exported)",
}
ENISHI_APPS = (
    "core",
    "accounts",
    "customers",
    "activities",
    "deals",
    "inquiries",
    "sales",
    "history",
    "quality",
    "transfer",
    "imports",
    "api",
)


@dataclass
class TableResult:
    name: str
    model: str
    rows: int
    columns: list[str]
    files: list[str]


@dataclass
class FullExportResult:
    tables: list[TableResult] = field(default_factory=list)
    rows: int = 0


def tables_present() -> list[Table]:
    """The tables of TABLES whose app is installed and whose table exists in the database
    (one whose migration has not been applied yet is named in the manifest instead)."""
    installed = {config.label for config in apps.get_app_configs()}
    existing = set(connection.introspection.table_names())
    return [
        table
        for table in TABLES
        if table.model.split(".")[0] in installed and table.model_class()._meta.db_table in existing
    ]


def tables_missing() -> list[str]:
    present = {table.name for table in tables_present()}
    return [table.name for table in TABLES if table.name not in present]


def row_total() -> int:
    """How many rows the export will write, for the progress bar."""
    return sum(t.model_class()._base_manager.order_by().count() for t in tables_present())


# --- values -------------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """Any value as JSON holds it exactly (for values whose column type is not known)."""
    if isinstance(value, datetime.datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_iso_string(value)
    if isinstance(value, Decimal):
        return str(value)  # exact, never a float
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return csv_text(json.dumps(value, ensure_ascii=False))
    return csv_text(json_value(value))


Convert = Callable[[Any], Any]


def _converters(
    model: type[Model], columns: list[str]
) -> tuple[list[tuple[int, Convert]], list[Convert | None]]:
    """Per column, decided once from its field type rather than per value (a million
    customers × 60 columns): what turns a non-null value into JSON, and into a CSV cell.

    Returns the JSON converters as (index, function) for the columns that need one, and one
    CSV converter (or None: written as it is) per column."""
    from django.db import models

    zone = timezone.get_current_timezone()
    fields = {f.attname: f for f in model._meta.concrete_fields}

    def moment(v: datetime.datetime) -> str:
        return (v.astimezone(zone) if timezone.is_aware(v) else v).isoformat()

    def yes_no(v: bool) -> str:
        return "true" if v else "false"

    def json_text(v: Any) -> str:
        return csv_text(json.dumps(v, ensure_ascii=False))

    to_json: list[tuple[int, Convert]] = []
    to_csv: list[Convert | None] = []
    for index, name in enumerate(columns):
        field = fields[name]
        if isinstance(field, models.DateTimeField):
            to_json.append((index, moment))
            to_csv.append(moment)
        elif isinstance(field, models.DateField):
            to_json.append((index, datetime.date.isoformat))
            to_csv.append(datetime.date.isoformat)
        elif isinstance(field, models.DurationField):
            to_json.append((index, duration_iso_string))
            to_csv.append(duration_iso_string)
        elif isinstance(field, models.DecimalField):
            to_json.append((index, str))
            to_csv.append(str)
        elif isinstance(field, models.JSONField):
            to_csv.append(json_text)
        elif isinstance(field, models.BooleanField):
            to_csv.append(yes_no)
        elif isinstance(field, models.CharField | models.TextField):
            to_csv.append(csv_text)
        elif isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey):
            to_csv.append(None)
        else:
            to_json.append((index, json_value))
            to_csv.append(csv_value)
    return to_json, to_csv


def _rows(model: type[Model], columns: list[str]) -> Iterator[list[tuple]]:
    """The table in primary-key order, a chunk at a time (keyset pagination)."""
    pk = model._meta.pk.attname
    index = columns.index(pk)
    manager = model._base_manager
    last = None
    while True:
        qs = manager.order_by(pk)
        if last is not None:
            qs = qs.filter(**{f"{pk}__gt": last})
        chunk = list(qs.values_list(*columns)[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1][index]


def _scrub_custom_fields(value: Any, hidden: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in hidden}
    return value


def _scrub_changes(changes: Any, hidden: frozenset[str]) -> Any:
    """{"custom_fields": [before, after]} (history) or {"custom_fields": {key: …}} (merges)
    without the hidden keys."""
    if not isinstance(changes, dict) or "custom_fields" not in changes:
        return changes
    value = changes["custom_fields"]
    if isinstance(value, list):
        value = [_scrub_custom_fields(v, hidden) for v in value]
    else:
        value = _scrub_custom_fields(value, hidden)
    return {**changes, "custom_fields": value}


# --- writing ------------------------------------------------------------------------------------


def _entry(name: str) -> zipfile.ZipInfo:
    """A file of the archive dated now (ZipFile.open(name) would date it 1980-01-01)."""
    info = zipfile.ZipInfo(name, date_time=timezone.localtime().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    # The level the archive was opened with (Python 3.13 renamed the attribute).
    level = "compress_level" if "compress_level" in zipfile.ZipInfo.__slots__ else "_compresslevel"
    setattr(info, level, COMPRESS_LEVEL)
    return info


def _write_table(
    zf: zipfile.ZipFile,
    table: Table,
    *,
    hidden: frozenset[str],
    custom_keys: list[str],
    progress: Callable[[int], None],
) -> TableResult:
    model = table.model_class()
    columns = table.columns()
    expand = custom_keys if table.expand_custom_fields else []
    header = columns + [CUSTOM_PREFIX + key for key in expand]
    cf_index = columns.index("custom_fields") if "custom_fields" in columns else -1
    scrub = [columns.index(name) for name in table.scrub]
    to_json, to_csv = _converters(model, columns)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    rows = 0
    with tempfile.TemporaryFile(prefix="enishi-full-") as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(header)
        with zf.open(_entry(f"{table.name}.jsonl"), "w", force_zip64=True) as jsonl:
            for chunk in _rows(model, columns):
                lines = []
                for values in chunk:
                    values = list(values)
                    if hidden:
                        if cf_index >= 0:
                            values[cf_index] = _scrub_custom_fields(values[cf_index], hidden)
                        for index in scrub:
                            values[index] = _scrub_changes(values[index], hidden)
                    record = values.copy()
                    for index, convert in to_json:
                        if record[index] is not None:
                            record[index] = convert(record[index])
                    lines.append(dumps(dict(zip(columns, record, strict=True))))
                    cells = [
                        "" if v is None else (convert(v) if convert else v)
                        for v, convert in zip(values, to_csv, strict=True)
                    ]
                    if expand:
                        custom = values[cf_index] if isinstance(values[cf_index], dict) else {}
                        cells += [csv_value(custom.get(key)) for key in expand]
                    writer.writerow(cells)
                jsonl.write(("\n".join(lines) + "\n").encode())
                rows += len(chunk)
                progress(len(chunk))
        text.flush()
        spool.seek(0)
        with zf.open(_entry(f"{table.name}.csv"), "w", force_zip64=True) as out:
            shutil.copyfileobj(spool, out, 1024 * 1024)
        text.detach()
    return TableResult(
        name=table.name,
        model=table.model.lower() if table.model.count(".") == 1 else table.model,
        rows=rows,
        columns=header,
        files=[f"{table.name}.jsonl", f"{table.name}.csv"],
    )


def write_full_export(
    path: Path,
    *,
    actor_label: str,
    show_sensitive: bool,
    progress: Callable[[int], None],
) -> FullExportResult:
    """Write the whole database's records into a zip at `path`; `progress(n)` after each chunk.

    `show_sensitive` False leaves sensitive custom fields out of customers and history.
    """
    from enishi.customers.models import FieldDefinition

    started = timezone.now()
    definitions = list(
        FieldDefinition.objects.order_by("position", "pk").values("key", "sensitive")
    )
    hidden = (
        frozenset()
        if show_sensitive
        else frozenset(d["key"] for d in definitions if d["sensitive"])
    )
    custom_keys = [d["key"] for d in definitions if d["key"] not in hidden]
    result = FullExportResult()
    with (
        read_snapshot() as own_transaction,
        _beside(progress, own_transaction) as progress,
        zipfile.ZipFile(
            path,
            "w",
            compression=zipfile.ZIP_DEFLATED,
            compresslevel=COMPRESS_LEVEL,
            allowZip64=True,
        ) as zf,
    ):
        for table in tables_present():
            done = _write_table(
                zf, table, hidden=hidden, custom_keys=custom_keys, progress=progress
            )
            result.tables.append(done)
            result.rows += done.rows
        manifest = _manifest(
            result, started=started, actor_label=actor_label, hidden=sorted(hidden)
        )
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return result


@contextmanager
def read_snapshot() -> Iterator[bool]:
    """Every read inside sees the database as it was at the first one; yields whether it
    opened a transaction of its own. Inside a transaction already (an atomic block, as in
    tests) that transaction is the snapshot; an in-memory SQLite database has no WAL to give
    one beside writers, so it reads as it goes."""
    if connection.in_atomic_block or (
        connection.vendor == "sqlite" and connection.is_in_memory_db()
    ):
        yield False
        return
    connection.ensure_connection()
    begin = (
        "BEGIN DEFERRED"
        if connection.vendor == "sqlite"
        else ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    )
    with connection.cursor() as cursor:
        cursor.execute(begin)
    try:
        yield True
    finally:
        # Nothing was written in it: ending it keeps and loses nothing.
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")


@contextmanager
def _beside(progress: Callable[[int], None], needed: bool) -> Iterator[Callable[[int], None]]:
    """`progress` run in a helper thread with its own database connection (and waited for,
    so a cancellation it notices still stops the export): its writes must not join the
    snapshot's read transaction."""
    if not needed:
        yield progress
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-progress")
    try:
        yield lambda rows: pool.submit(progress, rows).result()
    finally:
        pool.submit(connections.close_all).result()
        pool.shutdown()


def _manifest(
    result: FullExportResult, *, started: datetime.datetime, actor_label: str, hidden: list[str]
) -> dict[str, Any]:
    try:
        version = importlib.metadata.version("enishi")
    except importlib.metadata.PackageNotFoundError:
        version = ""
    return {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "enishi_version": version,
        "created_at": json_value(started),
        "finished_at": json_value(timezone.now()),
        "created_by": actor_label,
        "database": connection.vendor,
        "time_zone": settings.TIME_ZONE,
        "tables": [
            {
                "name": t.name,
                "model": t.model,
                "rows": t.rows,
                "files": t.files,
                "columns": t.columns,
            }
            for t in result.tables
        ],
        "total_rows": result.rows,
        "omitted": {
            "fields": {
                "users": ["password", "session_generation"],
                "customers": list(CUSTOMER_DERIVED),
                "exports": ["path", "task_id"],
                "imports": ["stored_name"],
            },
            "tables": EXCLUDED_MODELS,
            "not_in_database": tables_missing(),
            "sensitive_custom_fields": hidden,
        },
        "notes": [
            "Each table is in <name>.jsonl (one JSON object per line, exact values) and "
            "<name>.csv (UTF-8 with BOM, the same columns).",
            "Times are ISO 8601 in the server's time zone with their offset; durations are "
            "ISO 8601 durations; money and other decimals are strings, never floats.",
            "In the CSV files, a cell that a spreadsheet would take for a formula "
            "(=, +, -, @ …) starts with an apostrophe; the JSON Lines hold the exact text.",
            "customers.csv also has one column per custom field (custom_fields.<key>).",
            "customer_tags and deal_contacts link customers to their tags and deals to their "
            "contact persons.",
            "All tables are read in one snapshot of the database: a record saved while the "
            "export ran is in every file or in none, and links between tables hold.",
        ],
    }
