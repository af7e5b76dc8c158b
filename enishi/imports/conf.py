"""Limits and places of imports, from the environment (overridable in settings for tests).

ENISHI_IMPORT_MAX_MB     largest file accepted (default 100 MB)
ENISHI_IMPORT_MAX_ROWS   most data rows in one import (default 200,000)
ENISHI_IMPORT_WORKERS    processes that check rows in parallel for big files (default: cores)
ENISHI_IMPORT_KEEP_DAYS  uploaded files and row details are kept this long (undo, downloads)
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from enishi.core.env import env_int

_MB = 1024 * 1024


def max_bytes() -> int:
    return getattr(settings, "ENISHI_IMPORT_MAX_BYTES", env_int("ENISHI_IMPORT_MAX_MB", 100) * _MB)


def max_rows() -> int:
    return getattr(settings, "ENISHI_IMPORT_MAX_ROWS", env_int("ENISHI_IMPORT_MAX_ROWS", 200_000))


def workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    default = max(1, cores or 1)
    return max(
        1, getattr(settings, "ENISHI_IMPORT_WORKERS", env_int("ENISHI_IMPORT_WORKERS", default))
    )


def parallel_min_rows() -> int:
    """Below this many rows, starting worker processes costs more than it saves."""
    return getattr(settings, "ENISHI_IMPORT_PARALLEL_MIN_ROWS", 6000)


def keep_days() -> int:
    return getattr(settings, "ENISHI_IMPORT_KEEP_DAYS", env_int("ENISHI_IMPORT_KEEP_DAYS", 30))


def stale_seconds() -> int:
    """A running import that has not reported progress for this long was interrupted."""
    return getattr(settings, "ENISHI_IMPORT_STALE_SECONDS", 300)


def chunk_rows() -> int:
    """Rows written per transaction: short enough that other people's saves never wait long."""
    return getattr(settings, "ENISHI_IMPORT_CHUNK_ROWS", 2000)


def storage_dir() -> Path:
    path = Path(getattr(settings, "ENISHI_IMPORT_DIR", settings.DATA_DIR / "imports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_mb_text(limit: int | None = None) -> str:
    limit = max_bytes() if limit is None else limit
    return f"{limit / _MB:,.0f} MB" if limit >= _MB else f"{limit / 1024:,.0f} KB"
