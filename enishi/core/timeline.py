"""The karte's one timeline: activities, deals, inquiries, orders and contracts, newest first.

Each app contributes a *source* (its `karte.timeline_source`) that returns its next items before a
cursor, already sorted; the karte merges them. Items are ordered by (at, rank, id) descending:
`rank` breaks ties between kinds at the same instant, `id` within a kind. Dates without a time
(orders, contracts) are placed at local midnight. Each source reads at most `size + 1` rows by an
index, so page 100 costs what page 1 costs, whatever the timeline's length.
"""

import datetime
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone


@dataclass(frozen=True)
class Cursor:
    at: datetime.datetime
    rank: int
    id: int


@dataclass
class TimelineItem:
    kind: str  # activity, deal, deal_stage, inquiry, order, contract
    at: datetime.datetime
    rank: int
    id: int
    obj: Any
    all_day: bool = False

    @property
    def key(self) -> tuple[datetime.datetime, int, int]:
        return (self.at, self.rank, self.id)

    @property
    def template(self) -> str:
        return f"customers/timeline/_{self.kind}.html"


Source = Callable[[Cursor | None, int], list[TimelineItem]]


def before_q(field: str, rank: int, cursor: Cursor | None, *, pk: str = "pk") -> Q:
    """Rows of a datetime column that sort strictly after `cursor` (i.e. are older)."""
    if cursor is None:
        return Q()
    older = Q(**{f"{field}__lt": cursor.at})
    if rank < cursor.rank:
        return older | Q(**{field: cursor.at})
    if rank == cursor.rank:
        return older | Q(**{field: cursor.at, f"{pk}__lt": cursor.id})
    return older


def midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def before_day_q(field: str, rank: int, cursor: Cursor | None, *, pk: str = "pk") -> Q:
    """The same for a date column, whose rows sit at local midnight."""
    if cursor is None:
        return Q()
    day = timezone.localtime(cursor.at).date()
    if cursor.at > midnight(day):
        return Q(**{f"{field}__lte": day})
    older = Q(**{f"{field}__lt": day})
    if rank < cursor.rank:
        return older | Q(**{field: day})
    if rank == cursor.rank:
        return older | Q(**{field: day, f"{pk}__lt": cursor.id})
    return older


def merge(sources: Iterable[Source], *, before: Cursor | None, size: int):
    """One page from all sources: (items, cursor of the next page or None)."""
    runs = [source(before, size + 1) for source in sources]
    merged = list(heapq.merge(*runs, key=lambda item: item.key, reverse=True))
    page = merged[:size]
    more = len(merged) > size
    cursor = Cursor(page[-1].at, page[-1].rank, page[-1].id) if more and page else None
    return page, cursor


def cursor_from(at: str, rank: str, pk: str) -> Cursor | None:
    """A cursor from request parameters; anything malformed starts from the top."""
    try:
        parsed = datetime.datetime.fromisoformat(at)
        cursor = Cursor(parsed, int(rank), int(pk))
    except (TypeError, ValueError):
        return None
    if timezone.is_naive(cursor.at) or not 0 <= cursor.id < 2**63 or not 0 <= cursor.rank < 100:
        return None
    return cursor
