"""Checking big files on every core: chunks of rows go to worker processes, results come back in
file order while the parent writes the previous chunks.

Workers are *spawned* (a fresh interpreter that sets Django up), never forked: the parent may be
`enishi serve`, whose web and task threads could hold locks at the moment of a fork. Spawning
costs about a second, so files below `conf.parallel_min_rows()` are checked in-process.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from enishi.imports import conf
from enishi.imports.checking import CheckContext, Checked, check_rows
from enishi.imports.files import SourceRow

WORKER_CHUNK = 1000


def _worker_init(settings_module: str, style) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()
    from enishi.quality import house_style

    # The house style as it was when the check started, for the whole check: workers then
    # never need the database for it.
    house_style.remember(style, seconds=None)


def _chunks(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def checked_chunks(
    ctx: CheckContext, rows: Iterable[SourceRow], *, parallel: bool, size: int = WORKER_CHUNK
) -> Iterator[list[Checked]]:
    """The rows checked, chunk by chunk, in file order."""
    if not parallel:
        number = 1
        for chunk in _chunks(rows, size):
            yield check_rows(ctx, chunk, number)
            number += len(chunk)
        return
    from enishi.quality import house_style

    workers = conf.workers()
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "enishi.settings")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(settings_module, house_style.current()),
    ) as executor:
        pending: deque[Future] = deque()
        number = 1
        try:
            for chunk in _chunks(rows, size):
                pending.append(executor.submit(check_rows, ctx, chunk, number))
                number += len(chunk)
                # A few chunks in flight per worker: enough to keep them busy, bounded memory.
                while len(pending) >= workers * 3:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
