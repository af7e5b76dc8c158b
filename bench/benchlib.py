"""Shared helpers for the benchmark scripts: Django set-up, timing summaries, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_USERNAME = "bench"
BENCH_PASSWORD = "bench-password-2026"  # a local benchmark database only


def setup_django(database: str | None, *, migrate: bool = False) -> None:
    """Point Django at `database` (a DATABASE_URL) and set it up (and migrate it: the schema
    moves while the benchmark databases stay)."""
    if database:
        os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enishi.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": statistics.median(ms),
        "p95": percentile(ms, 95),
        "max": max(ms),
    }


def fmt_summary(s: dict[str, float]) -> str:
    return f"n={s['n']:>4}  p50={s['p50']:8.2f} ms  p95={s['p95']:8.2f} ms  max={s['max']:8.2f} ms"


def machine() -> str:
    import sqlite3

    cores = os.cpu_count()
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GB"
    except OSError:
        mem = "?"
    return (
        f"{cores} cores, {mem} RAM, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.machine()}"
    )


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: other work shows here)."""
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version} ({connection.settings_dict['NAME']})"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return f"PostgreSQL {version} ({connection.settings_dict['NAME']})"


def bench_user():
    from enishi.accounts.models import User

    return User.objects.get(username=BENCH_USERNAME)
