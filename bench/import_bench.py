#!/usr/bin/env python
"""Import of a cp932 CSV of customers, end to end through the import tasks.

    .venv/bin/python bench/import_bench.py --rows 100000 \
        --database sqlite:////work/main/bench/out/import_bench.sqlite3 [--workers 2] [--keep]

Builds the CSV from the development set (/work/shared/data/jp_customers_dev_100k.csv.gz: names,
readings, companies, postal codes, addresses, phones, e-mails and birth dates in the many ways
people write them, with true duplicates), re-encoded to cp932 as Japanese Excel saves it. Then,
on a fresh database: upload (encoding, delimiter and header detection, column guessing) → the
check task (normalisation with the karte form's rules, duplicate flagging against the database
and within the file) → the run task (bulk writes, search index, history). Tasks run in-process
(ENISHI_TASKS=immediate), exactly the code `enishi serve`'s worker runs.

Prints rows/s for each step and end to end, the peak memory (RSS) of the process and of its
worker processes, and how long the undo's confirmation takes to say what an undo would do.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

SOURCE = Path("/work/shared/data/jp_customers_dev_100k.csv.gz")
HEADERS = [
    "氏名",
    "フリガナ",
    "会社名",
    "会社名フリガナ",
    "〒",
    "住所",
    "電話番号",
    "メール",
    "生年月日",
]
COLUMNS = [
    "name",
    "name_kana",
    "company",
    "company_kana",
    "postal_code",
    "address",
    "phone",
    "email",
    "birth_date",
]


def build_csv(rows: int, source: Path) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    written = 0
    while written < rows:
        with gzip.open(source, "rt", encoding="utf-8") as fh:
            for record in csv.DictReader(fh):
                writer.writerow([record[c] for c in COLUMNS])
                written += 1
                if written >= rows:
                    break
    # As Japanese Excel saves it; the few characters cp932 lacks become "?" (rejected rows).
    return out.getvalue().encode("cp932", errors="replace")


def cpu_seconds() -> float:
    """CPU time of this process and its (finished) worker processes: on a shared machine the
    wall time also holds the time others took."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", default="sqlite:////work/main/bench/out/import_bench.sqlite3")
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    parser.add_argument("--keep", action="store_true", help="keep the database's rows (no reset)")
    args = parser.parse_args()

    os.environ["ENISHI_TASKS"] = "immediate"
    os.environ.setdefault("ENISHI_IMPORT_MAX_ROWS", str(max(args.rows, 200_000)))
    if args.workers:
        os.environ["ENISHI_IMPORT_WORKERS"] = str(args.workers)
    if args.database.startswith("sqlite:///") and not args.keep:
        path = Path(args.database.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    benchlib.setup_django(args.database, migrate=True)

    from django.conf import settings
    from django.db import connection

    from enishi.accounts.models import User
    from enishi.customers.models import Customer
    from enishi.history.models import HistoryEntry
    from enishi.imports import conf, services
    from enishi.imports.models import ImportRun

    settings.ENISHI_IMPORT_DIR = Path(tempfile.mkdtemp(prefix="enishi-import-bench-"))
    if not args.keep and connection.vendor == "postgresql":
        Customer.objects.all().delete()
    user = User.objects.filter(username=benchlib.BENCH_USERNAME).first()
    if user is None:
        user = User.objects.create_superuser(
            benchlib.BENCH_USERNAME, password=benchlib.BENCH_PASSWORD, role="admin"
        )
    before = Customer.objects.count()

    print(f"machine: {benchlib.machine()}; load {benchlib.loadavg()}")
    print(f"database: {benchlib.database_label()}; kartes before: {before:,}")
    started = time.perf_counter()
    data = build_csv(args.rows, args.source)
    print(
        f"CSV: {args.rows:,} rows, {len(data) / 1e6:.1f} MB cp932 ({time.perf_counter() - started:.1f} s to build)"
    )

    c0 = cpu_seconds()
    t0 = time.perf_counter()
    run = services.import_upload(actor=user, file=io.BytesIO(data), file_name="顧客一覧.csv")
    t1 = time.perf_counter()
    print(
        f"upload: {t1 - t0:.2f} s — encoding {run.encoding}, delimiter {run.delimiter!r}, header row {run.header_row}"
    )
    print(f"        columns: {dict(zip(run.headers, run.mapping, strict=True))}")
    services.import_check(actor=user, run=run)
    t2 = time.perf_counter()
    run.refresh_from_db()
    if run.status != ImportRun.Status.PREVIEW:
        sys.exit(f"check failed: {run.status} {run.error}")
    c2 = cpu_seconds()
    print(
        f"check:  {t2 - t1:.2f} s ({args.rows / (t2 - t1):,.0f} rows/s; workers {conf.workers()}; CPU {c2 - c0:.1f} s) — {run.summary}"
    )
    services.import_start(actor=user, run=run)
    t3 = time.perf_counter()
    run.refresh_from_db()
    if run.status != ImportRun.Status.DONE:
        sys.exit(f"run failed: {run.status} {run.error}")
    c3 = cpu_seconds()
    print(
        f"run:    {t3 - t2:.2f} s ({args.rows / (t3 - t2):,.0f} rows/s; CPU {c3 - c2:.1f} s) — {run.counts}"
    )
    total = t3 - t0
    me, children = peak_rss_mb()
    print(f"END TO END: {total:.2f} s for {args.rows:,} rows = {args.rows / total:,.0f} rows/s")
    print(
        f"CPU: {c3 - c0:.1f} s in all processes = {(c3 - c0) / args.rows * 1e6:,.0f} µs per row; load {benchlib.loadavg()}"
    )
    print(f"peak RSS: {me:,.0f} MB (this process), {children:,.0f} MB (largest worker process)")
    # What the undo's confirmation shows (the same checks as the undo, nothing written).
    t4 = time.perf_counter()
    plan = services.import_undo_plan(actor=user, run=run)
    print(
        f"undo plan: {time.perf_counter() - t4:.2f} s — {plan.remove:,} to delete, "
        f"{plan.restore:,} to put back, {plan.keep:,} to keep"
    )
    print(
        f"kartes after: {Customer.objects.count():,}; history entries of the import: "
        f"{HistoryEntry.objects.filter(batch=run.batch).count():,}"
    )


if __name__ == "__main__":
    main()
