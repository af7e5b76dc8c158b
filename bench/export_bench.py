#!/usr/bin/env python
"""Time exports of a generated database through the export service and its background task.

    .venv/bin/python bench/gen_customers.py --count 100000 \
        --database sqlite:////work/main/bench/out/export_100k.sqlite3
    .venv/bin/python bench/export_bench.py \
        --database sqlite:////work/main/bench/out/export_100k.sqlite3 [--columns default|all] \
        [--formats xlsx,csv_utf8,csv_cp932] [--full] [--runs 1]

Each export runs in its own child process (so that each peak memory figure is its own): the
child starts a background export with `customer_export_start` as the benchmark's admin user
(every karte of the database; tasks run at once, ENISHI_TASKS=immediate) and reports the
seconds from the call to the finished file, the rows, the file size, and memory: the
process's peak resident memory (ru_maxrss) against just before the export, split (sampled
every 50 ms) into the process's own memory (RssAnon: Python objects, SQLite's page cache of
at most 64 MiB) and pages of the database file that SQLite maps (RssFile, at most its
mmap_size of 256 MiB, dropped by the kernel when memory is wanted), and the peak of Python
allocations (tracemalloc is off by default: it slows the export ~2×; --tracemalloc).
cp932 exports are run with "replace with 〓" (generated names may hold characters outside
cp932; how many were replaced is reported). `--full` adds the full-data export (zip).
Files are written under bench/out/export_data/exports and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

DATA_DIR = benchlib.ROOT / "bench" / "out" / "export_data"


def memory_mb() -> dict[str, float]:
    """Resident memory now: all of it, the process's own (anonymous: Python objects, SQLite's
    page cache) and file-backed pages (the database file mapped by SQLite's mmap_size, which
    the kernel can drop at any time)."""
    found = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                found[key] = int(value.split()[0]) / 1024
    return found


class PeakSampler(threading.Thread):
    """Samples memory_mb() every 50 ms (the kernel keeps only the peak of the total)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for key, value in memory_mb().items():
                self.peak[key] = max(self.peak.get(key, 0.0), value)
            self.stop.wait(0.05)


def run_one(database: str, kind: str, columns: str, trace: bool) -> dict:
    """In the child: one export, measured."""
    os.environ["ENISHI_TASKS"] = "immediate"
    os.environ["ENISHI_DATA_DIR"] = str(DATA_DIR)
    benchlib.setup_django(database, migrate=True)
    import tracemalloc

    from django.utils import translation

    from enishi.customers.selectors import CustomerFilters
    from enishi.transfer import services
    from enishi.transfer.export import DEFAULT_COLUMNS, export_columns
    from enishi.transfer.models import Export

    translation.activate("ja")
    user = benchlib.bench_user()
    keys = list(DEFAULT_COLUMNS) if columns == "default" else [c.key for c in export_columns(user)]
    Export.objects.filter(status__in=["queued", "running"]).update(status="cancelled")
    before = memory_mb()
    sampler = PeakSampler()
    sampler.start()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if kind == "full":
        record = services.full_export_start(actor=user)
    else:
        record = services.customer_export_start(
            actor=user,
            filters=CustomerFilters(),
            column_keys=keys,
            file_format=kind,
            replace_unencodable=True,
        )
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] / 1024 / 1024 if trace else None
    sampler.stop.set()
    sampler.join()
    record.refresh_from_db()
    result = {
        "kind": kind,
        "status": record.status,
        "error": record.error,
        "rows": record.row_count,
        "columns": len(keys) if kind != "full" else None,
        "seconds": round(seconds, 2),
        "rows_per_s": round(record.row_count / seconds) if seconds else None,
        "file_mb": round(record.file_size / 1024 / 1024, 1),
        "replaced": record.replaced,
        "rss_before_mb": round(before["VmRSS"], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "anon_before_mb": round(before["RssAnon"], 1),
        "anon_peak_mb": round(sampler.peak.get("RssAnon", 0.0), 1),
        "file_peak_mb": round(sampler.peak.get("RssFile", 0.0), 1),
        "tracemalloc_peak_mb": round(traced, 1) if traced is not None else None,
    }
    if record.path:
        (services.export_dir() / record.path).unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a DATABASE_URL")
    parser.add_argument("--formats", default="xlsx,csv_utf8,csv_cp932")
    parser.add_argument("--columns", choices=["default", "all"], default="default")
    parser.add_argument("--full", action="store_true", help="also the full-data export")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        print(json.dumps(run_one(args.database, args.one, args.columns, args.tracemalloc)))
        return

    benchlib.setup_django(args.database, migrate=True)
    from enishi.customers.models import Customer

    print(f"machine:  {benchlib.machine()}  load {benchlib.loadavg()}")
    print(f"database: {benchlib.database_label()}  {Customer.objects.count():,} customers")
    print(f"columns:  {args.columns}")
    kinds = [k for k in args.formats.split(",") if k] + (["full"] if args.full else [])
    for kind in kinds:
        for _ in range(args.runs):
            command = [sys.executable, __file__, "--database", args.database, "--one", kind]
            command += ["--columns", args.columns] + (["--tracemalloc"] if args.tracemalloc else [])
            out = subprocess.run(command, capture_output=True, text=True, check=False)
            lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
            if out.returncode or not lines:
                print(out.stdout[-2000:], out.stderr[-4000:])
                raise SystemExit(f"{kind}: the child failed")
            r = json.loads(lines[-1])
            traced = (
                f"  python peak {r['tracemalloc_peak_mb']:6.1f} MB"
                if r["tracemalloc_peak_mb"] is not None
                else ""
            )
            print(
                f"{kind:<10} {r['status']:<6} {r['rows']:>9,} rows  {r['seconds']:7.2f} s  "
                f"{r['rows_per_s'] or 0:>8,} rows/s  file {r['file_mb']:7.1f} MB  "
                f"RSS {r['rss_before_mb']:6.1f} → peak {r['peak_rss_mb']:6.1f} MB "
                f"(own {r['anon_before_mb']:5.1f} → {r['anon_peak_mb']:5.1f} MB, "
                f"mapped file ≤ {r['file_peak_mb']:5.1f} MB){traced}"
                + (f"  replaced {r['replaced']}" if r["replaced"] else "")
                + (f"  error: {r['error']}" if r["error"] else "")
            )


if __name__ == "__main__":
    main()
