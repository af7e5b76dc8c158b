"""The duplicate scan over the whole database (名寄せ), for the duplicates queue.

``scan_customers`` reads the customers in chunks (only the columns matching needs), builds
their keys in worker processes, finds and scores candidate pairs and groups them with
``quality.match``. It returns plain pairs: the caller (the background task behind the
duplicates queue) stores them, the UI shows them. Nothing here writes to the database.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from . import match
from .match import DEFAULT_THRESHOLD

__all__ = ["SCAN_FIELDS", "ScanPair", "scan_customers", "scan_record"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScanPair:
    """Two customers that look like one: ids (``a_id < b_id``), score in 0–1, reason codes
    (keys of ``match.REASONS``) and the group both belong to (1 = the strongest group)."""

    a_id: int
    b_id: int
    score: float
    reasons: tuple[str, ...]
    group: int


# The columns matching reads: a values_list, never model instances (a million of those
# would take minutes and gigabytes).
SCAN_FIELDS = (
    "pk",
    "kind",
    "name",
    "name_kana",
    "company__name",
    "company__name_kana",
    "postal_code",
    "prefecture",
    "city",
    "town",
    "street",
    "building",
    "phone",
    "mobile",
    "email",
    "email_alt",
    "birthday",
    "corporate_number",
)


def scan_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """The matching record of one ``SCAN_FIELDS`` row (runs in the worker processes)."""
    (
        pk,
        kind,
        name,
        name_kana,
        company,
        company_kana,
        postal_code,
        prefecture,
        city,
        town,
        street,
        building,
        phone,
        mobile,
        email,
        email_alt,
        birthday,
        corporate_number,
    ) = row
    # As Customer.address writes it.
    address = "".join(p for p in (prefecture, city, town, street) if p)
    if building:
        address = f"{address} {building}"
    if isinstance(birthday, str):  # a backend that hands dates back as text
        birthday = datetime.date.fromisoformat(birthday) if birthday else None
    return {
        "id": pk,
        "kind": kind,
        "name": name,
        "name_kana": name_kana,
        "company": company or "",
        "company_kana": company_kana or "",
        "postal_code": postal_code,
        "address": address,
        "phones": [p for p in (phone, mobile) if p],
        "emails": [e for e in (email, email_alt) if e],
        "birth_date": birthday,
        "corporate_number": corporate_number,
    }


class _Progress:
    """One monotone scale for the phases: reading and normalising each customer is one
    unit, scoring all candidate pairs as many units again, grouping the last unit."""

    def __init__(self, report: Callable[[int, int], None] | None, customers: int) -> None:
        self.report = report
        self.total = 2 * customers + 1
        self.customers = customers
        self.last = -1

    def _send(self, done: int) -> None:
        done = min(done, self.total)
        if self.report is not None and done > self.last:
            self.last = done
            self.report(done, self.total)

    def keys(self, done: int, _total: int) -> None:
        self._send(min(done, self.customers))

    def scoring(self, done: int, total: int) -> None:
        share = done * self.customers // total if total else self.customers
        self._send(self.customers + share)

    def finished(self) -> None:
        self._send(self.total)


def scan_customers(
    queryset: QuerySet | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ScanPair]:
    """Every pair of customers in ``queryset`` that the engine groups as one customer.

    ``queryset``: the customers to compare (default: all not in the trash; pass
    ``customer_visible(user)`` to scan what one user may see). ``threshold``: pairs scoring at
    or above it are linked and grouped (groups never join two records that clearly differ).
    ``workers``: processes (default: every core; small sets run in this process).
    ``progress(done, total)`` is called now and then with monotone work units; the last call
    has ``done == total``.

    Pairs come grouped, strongest group first (group 1), strongest pair first in a group.
    Read-only: the caller stores what it needs.
    """
    from enishi.customers.models import Customer

    qs = Customer.objects.filter(deleted_at__isnull=True) if queryset is None else queryset
    workers = match.default_workers() if workers is None else max(1, workers)
    total = qs.count()
    steps = _Progress(progress, total)
    steps.keys(0, total)
    started = time.perf_counter()
    rows = qs.order_by("pk").values_list(*SCAN_FIELDS).iterator(chunk_size=2000)
    keys_list = match.build_keys(
        rows, workers=workers, convert=scan_record, progress=steps.keys, total=total
    )
    match.prepare_keys(keys_list)
    keyed = time.perf_counter()
    with match.keys_pool(keys_list, workers) as pool:
        pairs = match.candidate_pairs(keys_list, pool=pool)
        blocked = time.perf_counter()
        scored = match.score_pairs(keys_list, pairs, pool=pool, progress=steps.scoring)
    scored_at = time.perf_counter()
    groups = match.group_pairs(keys_list, scored, threshold)
    logger.info(
        "duplicate scan: %d customers, %d workers; keys %.1f s, %d candidate pairs %.1f s, "
        "%d scored pairs kept %.1f s, %d groups %.1f s",
        len(keys_list),
        workers,
        keyed - started,
        len(pairs),
        blocked - keyed,
        len(scored),
        scored_at - blocked,
        len(groups),
        time.perf_counter() - scored_at,
    )
    found: list[ScanPair] = []
    for number, group in enumerate(groups, start=1):
        for a, b, m in sorted(group.pairs, key=lambda p: (-p[2].score, min(p[0], p[1]))):
            low, high = (a, b) if a < b else (b, a)
            found.append(ScanPair(low, high, m.score, tuple(m.reasons), number))
    steps.finished()
    return found
