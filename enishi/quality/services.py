"""Writes of the duplicates queue: starting and running a scan, deciding a candidate pair.

Merging itself lives in `merge.py` (`customer_merge`, `customer_merge_undo`).

A scan reads every karte, compares them with the matching engine (`scan.scan_customers`) and
then, in one short transaction, replaces the open candidate pairs with what it found: until
then the previous list stays as it was, and a scan that fails leaves it untouched. Pairs
someone marked "not a duplicate" (or merged) are never proposed again.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enishi.accounts.models import User
from enishi.core.permissions import can_write, is_manager_or_admin
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_visible
from enishi.history.models import HistoryEntry
from enishi.quality import match
from enishi.quality.models import DuplicatePair, ScanRun
from enishi.quality.scan import ScanPair, scan_customers

logger = logging.getLogger("enishi.quality")

STALE_AFTER = datetime.timedelta(minutes=30)
"""A queued or running scan whose row has not moved for this long has lost its worker."""

PROGRESS_EVERY = 0.5
"""Seconds between progress writes: often enough for the bar, rare enough for the database."""

INSERT_BATCH = 5000  # rows per executemany


# --- Starting a scan ----------------------------------------------------------------------------


def scan_active() -> ScanRun | None:
    """The scan waiting or running now, if any (one whose worker vanished is marked failed)."""
    scan = ScanRun.objects.filter(status__in=[ScanRun.Status.QUEUED, ScanRun.Status.RUNNING])
    scan = scan.order_by("-created_at").first()
    if scan is None:
        return None
    if timezone.now() - scan.updated_at > STALE_AFTER:
        ScanRun.objects.filter(pk=scan.pk).update(
            status=ScanRun.Status.FAILED,
            finished_at=timezone.now(),
            error=_("The scan stopped without finishing (the background worker was stopped)."),
        )
        return None
    return scan


def scan_create(
    *, actor: User | None, via: str = HistoryEntry.Via.UI, threshold: float | None = None
) -> tuple[ScanRun, bool]:
    """A new scan row, waiting to run (administrators and managers; `actor` None: the system).
    While one is waiting or running, that one is returned instead, with False."""
    if actor is not None and not is_manager_or_admin(actor):
        raise PermissionDenied
    with transaction.atomic():
        current = scan_active()
        if current is not None:
            return current, False
        scan = ScanRun.objects.create(
            started_by=actor if actor is not None and actor.pk else None,
            via=via,
            threshold=match.DEFAULT_THRESHOLD if threshold is None else threshold,
        )
    return scan, True


def scan_start(
    *,
    actor: User | None,
    via: str = HistoryEntry.Via.UI,
    threshold: float | None = None,
    workers: int | None = None,
) -> tuple[ScanRun, bool]:
    """Queue a scan of the whole database for the background worker (see `scan_create`)."""
    scan, created = scan_create(actor=actor, via=via, threshold=threshold)
    if not created:
        return scan, False
    # Enqueued after the row is committed: the immediate backend (tests) runs the scan here.
    from enishi.quality.tasks import duplicate_scan

    result = duplicate_scan.enqueue(scan.pk, workers)
    ScanRun.objects.filter(pk=scan.pk).update(task_id=str(result.id)[:64])
    scan.refresh_from_db()
    return scan, True


# --- Running a scan ------------------------------------------------------------------------------


class _Progress:
    """Writes done/total to the job row, at most every PROGRESS_EVERY seconds."""

    def __init__(self, scan_id: int, phase: str, echo: Callable[[int, int, str], None] | None):
        self.scan_id = scan_id
        self.phase = phase
        self.echo = echo
        self.last = 0.0

    def __call__(self, done: int, total: int, phase: str | None = None) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and done < total:
            return
        self.last = now
        ScanRun.objects.filter(pk=self.scan_id).update(
            done=max(0, int(done)),
            total=max(0, int(total)),
            phase=(phase or self.phase)[:40],
            updated_at=timezone.now(),
        )
        if self.echo is not None:
            self.echo(int(done), int(total), phase or self.phase)


def scan_execute(
    *,
    scan_id: int,
    workers: int | None = None,
    echo: Callable[[int, int, str], None] | None = None,
) -> ScanRun:
    """Run a queued scan (the background task's body, or the command's). A scan that is not
    waiting any more — a retried or duplicate task — is left alone. Failures are recorded on
    the row, with the previous candidates untouched. `echo` also gets the progress."""
    started = ScanRun.objects.filter(pk=scan_id, status=ScanRun.Status.QUEUED).update(
        status=ScanRun.Status.RUNNING,
        started_at=timezone.now(),
        updated_at=timezone.now(),
        phase="compare",
    )
    scan = ScanRun.objects.get(pk=scan_id)
    if not started:
        return scan
    try:
        queryset = Customer.objects.filter(deleted_at__isnull=True)
        pairs = scan_customers(
            queryset,
            threshold=scan.threshold,
            workers=workers,
            progress=_Progress(scan.pk, "compare", echo),
        )
        ScanRun.objects.filter(pk=scan.pk).update(phase="save", updated_at=timezone.now())
        counts = candidates_replace(scan=scan, pairs=pairs)
        counts["customers"] = queryset.count()
    except Exception as exc:
        logger.exception("duplicate scan %s failed", scan.pk)
        ScanRun.objects.filter(pk=scan.pk).update(
            status=ScanRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        scan.refresh_from_db()
        return scan
    ScanRun.objects.filter(pk=scan.pk).update(
        status=ScanRun.Status.DONE,
        finished_at=timezone.now(),
        phase="",
        **counts,
    )
    scan.refresh_from_db()
    return scan


def _existing(ids: Iterable[int]) -> set[int]:
    """Which of these kartes still exist outside the trash: one walk of the primary key over
    their range (far quicker than thousands of ids in IN lists)."""
    wanted = set(ids)
    if not wanted:
        return set()
    live = Customer.objects.filter(
        pk__gte=min(wanted), pk__lte=max(wanted), deleted_at__isnull=True
    ).values_list("pk", flat=True)
    return wanted.intersection(live.iterator(chunk_size=20000))


def candidates_replace(*, scan: ScanRun, pairs: list[ScanPair]) -> dict[str, int]:
    """Replace the open pairs with `pairs`, in one transaction. Pairs already decided (not a
    duplicate, merged) stay as they are; a pair found again keeps the time it was first found.
    Kartes deleted or merged while the scan ran are left out."""
    live = _existing(i for p in pairs for i in (p.a_id, p.b_id))
    now = timezone.now()
    with transaction.atomic():
        decided = set(
            DuplicatePair.objects.exclude(status=DuplicatePair.Status.OPEN).values_list(
                "a_id", "b_id"
            )
        )
        first_found = {
            (a, b): (pk, at)
            for pk, a, b, at in DuplicatePair.objects.filter(
                status=DuplicatePair.Status.OPEN
            ).values_list("pk", "a_id", "b_id", "found_at")
        }
        DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN).delete()
        rows, seen, groups, kept_dismissed, new = [], set(), set(), 0, 0
        for pair in pairs:
            a, b = sorted((pair.a_id, pair.b_id))
            if a == b or (a, b) in seen or a not in live or b not in live:
                continue
            seen.add((a, b))
            if (a, b) in decided:
                kept_dismissed += 1
                continue
            if (a, b) not in first_found:
                new += 1
            groups.add(pair.group)
            reasons = [r for r in pair.reasons if r in match.REASONS]
            # A pair found again keeps its id (links to it stay good) and when it was found.
            pk, found_at = first_found.get((a, b), (None, now))
            rows.append((a, b, round(float(pair.score), 4), reasons, pair.group, found_at, pk))
        _insert_pairs(scan, rows)
    return {
        "pairs": len(rows),
        "groups": len(groups),
        "new_pairs": new,
        "dismissed_kept": kept_dismissed,
    }


def _insert_pairs(scan: ScanRun, rows: list[tuple]) -> None:
    """Rows of (a, b, score, reasons, group, found_at, id or None): those found before go in
    again with their id, the new ones get one."""
    _insert_pair_rows(scan, [r for r in rows if r[6] is not None], with_id=True)
    _insert_pair_rows(scan, [r[:6] for r in rows if r[6] is None], with_id=False)


def _insert_pair_rows(scan: ScanRun, rows: list[tuple], *, with_id: bool) -> None:
    """The rows in the fastest way each database offers: COPY on PostgreSQL, one prepared
    INSERT run for all rows on SQLite. (`bulk_create` builds a model per row and, on SQLite,
    sends batches of about 100 rows: 20 s for 100,000 pairs here against a few seconds.)"""
    if not rows:
        return
    meta = DuplicatePair._meta
    names = ("a", "b", "score", "reasons", "group", "found_at", "status", "scan")
    names += ("id",) if with_id else ()
    fields = [meta.get_field(name) for name in names]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(meta.db_table)
    status = DuplicatePair.Status.OPEN
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Foreign keys checked as the rows go in, not queued for COMMIT (Django makes
            # them deferred).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for a, b, score, reasons, group, found_at, *pk in rows:
                    copy.write_row(
                        (a, b, score, json.dumps(reasons), group, found_at, status, scan.pk, *pk)
                    )
        return
    reasons_field, found_field = fields[3], fields[5]
    # Few distinct reason lists and times: each is adapted for the database once.
    prepared: dict[Any, Any] = {}

    def once(field, value):
        key = (field.name, tuple(value) if isinstance(value, list) else value)
        if key not in prepared:
            prepared[key] = field.get_db_prep_save(value, connection)
        return prepared[key]

    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            cursor.executemany(
                sql,
                [
                    (
                        a,
                        b,
                        score,
                        once(reasons_field, reasons),
                        group,
                        once(found_field, found_at),
                        status,
                        scan.pk,
                        *pk,
                    )
                    for a, b, score, reasons, group, found_at, *pk in rows[
                        start : start + INSERT_BATCH
                    ]
                ],
            )


# --- Deciding a pair ------------------------------------------------------------------------------


def _check_pair(actor: User, pair: DuplicatePair) -> None:
    if not can_write(actor):
        raise PermissionDenied
    if customer_visible(actor).filter(pk__in=[pair.a_id, pair.b_id]).count() != 2:
        raise PermissionDenied


@transaction.atomic
def pair_dismiss(*, actor: User, pair: DuplicatePair) -> DuplicatePair:
    """ "Not a duplicate": remembered, so no later scan proposes this pair again."""
    _check_pair(actor, pair)
    current = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if current.status == DuplicatePair.Status.MERGED:
        raise ValidationError(_("These kartes have been merged: undo the merge instead."))
    current.status = DuplicatePair.Status.DISMISSED
    current.decided_at = timezone.now()
    current.decided_by = actor
    current.save(update_fields=["status", "decided_at", "decided_by"])
    return current


@transaction.atomic
def pair_reopen(*, actor: User, pair: DuplicatePair) -> DuplicatePair:
    """Take back a "not a duplicate": the pair is in the queue again."""
    _check_pair(actor, pair)
    current = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if current.status != DuplicatePair.Status.DISMISSED:
        return current
    current.status = DuplicatePair.Status.OPEN
    current.decided_at = None
    current.decided_by = None
    current.save(update_fields=["status", "decided_at", "decided_by"])
    return current


def pairs_keep_current(pairs: Iterable[DuplicatePair]) -> None:
    """Save the scores and reasons `selectors.pair_reasons` worked out again for pairs whose
    kartes changed after the scan, so the queue's order and score bands follow what people
    see. Only pairs whose score or reasons differ are written (one UPDATE for them all);
    `found_at` stays the scan's."""
    changed = []
    for pair in pairs:
        current = getattr(pair, "current", None)
        if current is not None and current != (pair.score, pair.reasons):
            pair.score, pair.reasons = current
            changed.append(pair)
    if changed:
        DuplicatePair.objects.bulk_update(changed, ["score", "reasons"])
