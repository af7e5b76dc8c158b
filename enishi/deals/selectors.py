"""Reads of deals. A deal is visible exactly when its karte is (`customer_visible`); every
function takes the acting user. Totals, forecasts and stage metrics are computed in SQL
(Count / Sum / TruncMonth / subqueries), so that they cost the same for 100 or 100,000 deals
in Python terms: only the grouped rows come back.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from enishi.accounts.models import User
from enishi.activities.models import Activity, Task
from enishi.core.permissions import can_write
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_visible
from enishi.deals.models import Deal, DealStageChange, Pipeline, Stage
from enishi.deals.services import CURRENCIES
from enishi.history.models import HistoryEntry

OPEN, WON, LOST = Stage.Outcome.OPEN, Stage.Outcome.WON, Stage.Outcome.LOST
BOARD_CARDS_PER_COLUMN = 50
# Won and lost columns of the board show the deals closed in the last days only.
BOARD_CLOSED_DAYS = 30
WEIGHTED = DecimalField(max_digits=22, decimal_places=2)
CARD_FIELDS = (
    "id",
    "customer_id",
    "pipeline_id",
    "stage_id",
    "title",
    "amount",
    "currency",
    "expected_close_on",
    "owner_id",
    "stage_entered_at",
    "version",
    "customer__id",
    "customer__name",
    "customer__kind",
    "owner__id",
    "owner__username",
    "owner__display_name",
    "owner__first_name",
    "owner__last_name",
)


def deals_visible(user: User, *, per_row: bool = False) -> QuerySet[Deal]:
    """The one permission filter for deals: those on kartes the user may see (not in trash).

    per_row: for queries whose other filters pick few deals (the board: one pipeline's
    stages), test each deal's karte with EXISTS. With `customer IN (visible kartes)` SQLite
    walks every visible karte's deals through the customer index instead of taking the few
    wanted by the board index: four times slower for 2,000 open deals among 100k. Over most
    of the table (forecasts, reports) the IN form is the faster one.
    """
    visible = customer_visible(user)
    if per_row:
        return Deal.objects.filter(
            Exists(visible.filter(pk=OuterRef("customer_id"))), deleted_at__isnull=True
        )
    return Deal.objects.filter(deleted_at__isnull=True, customer__in=visible)


def deal_get(user: User, pk: int) -> Deal:
    """A deal the user may see, or 404 (never a hint that it exists)."""
    try:
        return (
            deals_visible(user)
            .select_related("customer", "pipeline", "stage", "owner", "created_by", "updated_by")
            .get(pk=pk)
        )
    except (Deal.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def deal_get_for_edit(user: User, pk: int) -> Deal:
    """A deal the user may change, or 404 (read-only users change nothing)."""
    if not can_write(user):
        raise Http404
    return deal_get(user, pk)


# --- pipelines --------------------------------------------------------------------------------


def pipeline_list(*, active_only: bool = True) -> list[Pipeline]:
    """Pipelines with their stages (settings, not customer data: the same for every user)."""
    qs = Pipeline.objects.prefetch_related("stages").order_by("position", "id")
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs)


def pipeline_get(pk: int, *, active_only: bool = False) -> Pipeline:
    try:
        qs = Pipeline.objects.all()
        if active_only:
            qs = qs.filter(is_active=True)
        return qs.get(pk=pk)
    except (Pipeline.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def pipeline_find(pk: int) -> Pipeline | None:
    return Pipeline.objects.filter(pk=pk).first()


def pipeline_first() -> Pipeline | None:
    return Pipeline.objects.filter(is_active=True).order_by("position", "id").first()


def stage_get(pk: int | None) -> Stage | None:
    if pk is None:
        return None
    try:
        return Stage.objects.select_related("pipeline").filter(pk=pk).first()
    except (ValueError, OverflowError):
        return None


def stage_choices(*, pipeline: Pipeline | None = None) -> list[tuple[Pipeline, list[Stage]]]:
    """Stages in use, grouped by pipelines in use (for a select with optgroups)."""
    stages = Stage.objects.filter(is_active=True, pipeline__is_active=True).select_related(
        "pipeline"
    )
    if pipeline is not None:
        stages = stages.filter(pipeline=pipeline)
    grouped: dict[int, tuple[Pipeline, list[Stage]]] = {}
    for stage in stages.order_by("pipeline__position", "pipeline_id", "position", "id"):
        grouped.setdefault(stage.pipeline_id, (stage.pipeline, []))[1].append(stage)
    return list(grouped.values())


def contact_choices(user: User, customer: Customer) -> QuerySet[Customer]:
    """Persons at the deal's company the user may see: who can be a deal's contact."""
    if not customer.is_company:
        return Customer.objects.none()
    return (
        customer_visible(user)
        .filter(company=customer, kind=Customer.Kind.PERSON)
        .order_by("-is_key_person", "-is_decision_maker", "kana_key", "id")
    )


def owner_choices() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("username")


# --- lists ------------------------------------------------------------------------------------


STATUSES = (OPEN, WON, LOST)


@dataclass
class DealFilters:
    pipeline: int | None = None
    stage: int | None = None
    owner: int | None = None
    customer: int | None = None
    status: str = ""
    close_from: datetime.date | None = None
    close_to: datetime.date | None = None
    q: str = ""
    amount_min: Decimal | None = None

    def active(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


def _filtered(qs: QuerySet[Deal], filters: DealFilters) -> QuerySet[Deal]:
    if filters.pipeline:
        qs = qs.filter(pipeline_id=filters.pipeline)
    if filters.stage:
        qs = qs.filter(stage_id=filters.stage)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    if filters.status in STATUSES:
        qs = qs.filter(stage__outcome=filters.status)
    if filters.close_from:
        qs = qs.filter(expected_close_on__gte=filters.close_from)
    if filters.close_to:
        qs = qs.filter(expected_close_on__lte=filters.close_to)
    if filters.q:
        q = filters.q.strip()
        qs = qs.filter(
            Q(title__icontains=q)
            | Q(customer__name__icontains=q)
            | Q(customer__name_kana__icontains=q)
        )
    if filters.amount_min is not None:
        qs = qs.filter(amount__gte=filters.amount_min)
    return qs


def deal_list(user: User, filters: DealFilters) -> QuerySet[Deal]:
    """Deals the user may see, filtered; open ones closing soonest first, then by id."""
    return (
        _filtered(deals_visible(user), filters)
        .select_related("customer", "stage", "pipeline", "owner")
        .order_by(F("expected_close_on").asc(nulls_last=True), "-id")
    )


def deal_page(
    user: User, filters: DealFilters, *, after: int | None = None, limit: int
) -> list[Deal]:
    """One page in id order (the API's: stable while others add deals)."""
    qs = _filtered(deals_visible(user), filters)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return list(qs.order_by("pk").prefetch_related("contacts")[:limit])


def stage_changes_for(deal: Deal) -> list[DealStageChange]:
    """A deal's stage history, oldest first, each with how long the deal stayed in `to_stage`
    (`duration`; for the current stage of an open deal: so far)."""
    changes = list(
        deal.stage_changes.select_related("from_stage", "to_stage", "changed_by").order_by(
            "changed_at", "id"
        )
    )
    now = timezone.now()
    for change, following in zip(changes, [*changes[1:], None], strict=True):
        if following is not None:
            change.duration = following.changed_at - change.changed_at
            change.ongoing = False
        elif not change.to_stage.is_closed:
            change.duration = now - change.changed_at
            change.ongoing = True
        else:
            change.duration = None
            change.ongoing = False
    return changes


@dataclass
class DealRelated:
    activities: list[Activity]
    tasks: list[Task]
    history: list[HistoryEntry]
    contacts: list[Customer]


def deal_related(user: User, deal: Deal, *, limit: int = 50) -> DealRelated:
    """What the deal page shows beside the deal (the deal itself is already checked)."""
    visible_contacts = deal.contacts.filter(pk__in=customer_visible(user).values("pk"))
    return DealRelated(
        activities=list(
            Activity.objects.filter(deal=deal, deleted_at__isnull=True)
            .select_related("staff")
            .order_by("-occurred_at", "-id")[:limit]
        ),
        tasks=list(
            Task.objects.filter(deal=deal, deleted_at__isnull=True)
            .select_related("assignee", "customer")
            .order_by(F("done_at").asc(nulls_first=True), F("due_on").asc(nulls_last=True), "id")[
                :limit
            ]
        ),
        history=list(
            HistoryEntry.objects.filter(model="deals.deal", object_id=deal.pk)
            .select_related("actor")
            .order_by("-at", "-id")[:limit]
        ),
        contacts=list(
            visible_contacts.order_by("-is_key_person", "-is_decision_maker", "kana_key", "id")
        ),
    )


# --- money ------------------------------------------------------------------------------------


def money_rounded(value: Decimal | None, currency: str) -> Decimal:
    """A sum rounded (half up) to the currency's minor unit: whole yen, cents."""
    places = CURRENCIES.get(currency, 2)
    return (value or Decimal(0)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass
class Money:
    """Counts and sums per currency (deals in different currencies are never added up).

    Sums are kept exact and rounded to the currency's minor unit only when read, so that a
    total is the rounded sum, not a sum of rounded parts.
    """

    count: int = 0
    raw_value: dict[str, Decimal] = field(default_factory=dict)
    raw_weighted: dict[str, Decimal] = field(default_factory=dict)

    def add(self, currency: str, count: int, value, weighted) -> None:
        self.count += count
        self.raw_value[currency] = self.raw_value.get(currency, Decimal(0)) + Decimal(value)
        self.raw_weighted[currency] = self.raw_weighted.get(currency, Decimal(0)) + Decimal(
            weighted
        )

    def merge(self, other: Money) -> None:
        for currency, value in other.raw_value.items():
            self.add(currency, 0, value, other.raw_weighted.get(currency, 0))
        self.count += other.count

    @property
    def value(self) -> dict[str, Decimal]:
        return {c: money_rounded(v, c) for c, v in self.raw_value.items()}

    @property
    def weighted(self) -> dict[str, Decimal]:
        return {c: money_rounded(v, c) for c, v in self.raw_weighted.items()}

    def items(self) -> list[tuple[str, Decimal, Decimal]]:
        """(currency, value, weighted), yen first."""
        order = sorted(self.raw_value, key=lambda c: (c != "JPY", c))
        return [
            (c, money_rounded(self.raw_value[c], c), money_rounded(self.raw_weighted.get(c), c))
            for c in order
        ]


def _weighted_sum() -> Sum:
    # amount × probability summed in SQL (exact for whole amounts on SQLite, which stores them
    # as integers); the division by 100 happens in Python, in Decimal.
    return Sum(F("amount") * F("probability"), output_field=WEIGHTED)


# --- the board --------------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    cards: list[Deal]
    total: Money

    @property
    def more(self) -> int:
        return self.total.count - len(self.cards)


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]
    closed_since: datetime.date

    @property
    def stages(self) -> list[Stage]:
        return [c.stage for c in self.columns]


def board(
    user: User,
    pipeline: Pipeline,
    *,
    owner: int | None = None,
    limit: int = BOARD_CARDS_PER_COLUMN,
    closed_days: int = BOARD_CLOSED_DAYS,
) -> Board:
    """The pipeline's stages as columns with their cards (at most `limit` per column, soonest
    expected close first), each with its count and sum. Won and lost columns hold the deals
    closed in the last `closed_days` days. Three queries, whatever the number of deals."""
    stages = list(pipeline.stages.order_by("position", "id"))
    closed_since = timezone.localdate() - datetime.timedelta(days=closed_days)
    open_ids = [s.pk for s in stages if s.outcome == OPEN]
    closed_ids = [s.pk for s in stages if s.outcome != OPEN]
    # Every stage of the pipeline first (the board index: pipeline, stage), then the date
    # condition for the closed ones; an OR of the two would keep SQLite off that index.
    on_board = deals_visible(user, per_row=True).filter(
        pipeline=pipeline, stage_id__in=open_ids + closed_ids, deleted_at__isnull=True
    )
    if closed_ids:
        on_board = on_board.filter(Q(stage_id__in=open_ids) | Q(closed_on__gte=closed_since))
    if owner:
        on_board = on_board.filter(owner_id=owner)
    totals: dict[int, Money] = defaultdict(Money)
    for row in (
        on_board.values("stage_id", "currency")
        .annotate(n=Count("id"), value=Sum("amount"), weighted=_weighted_sum())
        .order_by()
    ):
        totals[row["stage_id"]].add(
            row["currency"], row["n"], row["value"] or 0, Decimal(row["weighted"] or 0) / 100
        )
    # One query for every column's first cards: a row number per stage, cut at `limit`.
    cards = (
        on_board.annotate(
            column_rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("expected_close_on").asc(nulls_last=True), F("id").asc()],
            )
        )
        .filter(column_rank__lte=limit)
        .select_related("customer", "owner")
        # What a card shows: a karte has some sixty columns, the board needs its name.
        .only(*CARD_FIELDS)
        .order_by("stage_id", "column_rank")
    )
    by_stage: dict[int, list[Deal]] = defaultdict(list)
    stage_by_id = {s.pk: s for s in stages}
    now = timezone.now()
    for deal in cards:
        deal.stage = stage_by_id[deal.stage_id]
        deal.pipeline = pipeline
        deal.days_in_stage = max(0, (now - deal.stage_entered_at).days)
        by_stage[deal.stage_id].append(deal)
    columns = [
        Column(stage=s, cards=by_stage.get(s.pk, []), total=totals.get(s.pk, Money()))
        for s in stages
        # A retired stage keeps its column while deals are still in it.
        if s.is_active or totals.get(s.pk)
    ]
    return Board(pipeline=pipeline, columns=columns, closed_since=closed_since)


# --- forecast ---------------------------------------------------------------------------------


@dataclass
class ForecastRow:
    key: str  # "2026-04", "earlier", "later", "none"; or an owner's id ("none": no owner)
    label: str
    money: Money
    month: datetime.date | None = None


@dataclass
class Forecast:
    by: str
    rows: list[ForecastRow]
    total: Money
    start: datetime.date | None = None
    months: int = 0


def _month_add(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def forecast(
    user: User,
    *,
    filters: DealFilters | None = None,
    by: str = "month",
    start: datetime.date | None = None,
    months: int = 12,
) -> Forecast:
    """Pipeline value (the sum of open deals' amounts) and the probability-weighted forecast
    (Σ amount × probability / 100), per currency, grouped by expected-close month or by owner.

    Only open deals count (among those `filters` selects). By month the rows are the `months`
    months from `start` (default: this month), plus rows for open deals expected earlier
    (overdue), later, and without a date, so that the rows add up to the total.
    """
    filters = filters or DealFilters()
    # Open stages by id, not by a join to the stage table.
    open_stages = Stage.objects.filter(outcome=OPEN).values("pk")
    base = _filtered(deals_visible(user), filters).filter(stage_id__in=open_stages)
    total = Money()
    if by == "owner":
        grouped: dict[int | None, Money] = defaultdict(Money)
        for row in (
            base.values("owner_id", "currency")
            .annotate(n=Count("id"), value=Sum("amount"), weighted=_weighted_sum())
            .order_by()
        ):
            args = (
                row["currency"],
                row["n"],
                row["value"] or 0,
                Decimal(row["weighted"] or 0) / 100,
            )
            grouped[row["owner_id"]].add(*args)
            total.add(*args)
        users = {u.pk: u for u in User.objects.filter(pk__in=[k for k in grouped if k])}
        rows = [
            ForecastRow(
                key=str(pk) if pk else "none", label=users[pk].label if pk else "", money=money
            )
            for pk, money in grouped.items()
        ]
        rows.sort(key=lambda r: (r.key == "none", -r.money.weighted.get("JPY", 0), r.label))
        return Forecast(by="owner", rows=rows, total=total)

    start = (start or timezone.localdate()).replace(day=1)
    end = _month_add(start, months)
    buckets: dict[str, Money] = defaultdict(Money)
    # Grouped by day, not by TruncMonth: SQLite truncates through a Python function called on
    # every row (twice the time over 60k open deals); days are at most a few thousand rows.
    for row in (
        base.values("expected_close_on", "currency")
        .annotate(n=Count("id"), value=Sum("amount"), weighted=_weighted_sum())
        .order_by()
    ):
        day = row["expected_close_on"]
        month = day.replace(day=1) if day is not None else None
        if month is None:
            key = "none"
        elif month < start:
            key = "earlier"
        elif month >= end:
            key = "later"
        else:
            key = month.strftime("%Y-%m")
        args = (
            row["currency"],
            row["n"],
            row["value"] or 0,
            Decimal(row["weighted"] or 0) / 100,
        )
        buckets[key].add(*args)
        total.add(*args)
    rows = [ForecastRow(key="earlier", label="", money=buckets.get("earlier", Money()))]
    for i in range(months):
        month = _month_add(start, i)
        key = month.strftime("%Y-%m")
        rows.append(ForecastRow(key=key, label=key, money=buckets.get(key, Money()), month=month))
    rows.append(ForecastRow(key="later", label="", money=buckets.get("later", Money())))
    rows.append(ForecastRow(key="none", label="", money=buckets.get("none", Money())))
    return Forecast(by="month", rows=rows, total=total, start=start, months=months)


# --- stage metrics: conversion and time in stage ---------------------------------------------


@dataclass
class StageMetric:
    stage: Stage
    reached: int = 0  # deals that got at least this far
    advanced: int = 0  # of those, deals that got further (a later stage or won)
    won: int = 0  # of those, deals won
    closed: int = 0  # of those, deals won or lost
    avg_days: float | None = None  # average stay in this stage, over stays that ended
    stays: int = 0

    @property
    def conversion(self) -> float | None:
        """Share of the deals that reached this stage that went on to the next step."""
        return self.advanced / self.reached if self.reached else None

    @property
    def win_rate(self) -> float | None:
        """Of the closed deals that reached this stage, the share won."""
        return self.won / self.closed if self.closed else None


def stage_metrics(
    user: User, pipeline: Pipeline, *, since: datetime.date | None = None
) -> list[StageMetric]:
    """Per open stage, in order, then the won stages: how many deals reached it, how many went
    on, how many were won (conversion and win rate from that stage onward), and the average
    time deals stayed in it — from the DealStageChange rows. `since`: deals created since.

    A deal counts as having reached every open stage up to the furthest it entered (a deal
    that skipped ヒアリング still passed it); entering a won stage is the furthest step.
    """
    stages = list(pipeline.stages.order_by("position", "id"))
    open_stages = [s for s in stages if s.outcome == OPEN]
    won_stages = [s for s in stages if s.outcome == WON]
    top = len(open_stages)
    step = {s.pk: i for i, s in enumerate(open_stages)} | {s.pk: top for s in won_stages}
    deals = deals_visible(user).filter(pipeline=pipeline)
    if since is not None:
        # A moment, not created_at__date: SQLite would cast every row through Python.
        start = timezone.make_aware(datetime.datetime.combine(since, datetime.time()))
        deals = deals.filter(created_at__gte=start)
    furthest = Subquery(
        DealStageChange.objects.filter(deal=OuterRef("pk"))
        .values("deal")
        .annotate(
            furthest=Max(
                Case(
                    *[When(to_stage_id=pk, then=Value(i)) for pk, i in step.items()],
                    default=Value(-1),
                    output_field=IntegerField(),
                )
            )
        )
        .values("furthest")[:1],
        output_field=IntegerField(),
    )
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for row in (
        deals.annotate(furthest=furthest)
        .values("furthest", "stage__outcome")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if row["furthest"] is not None:
            counts[(row["furthest"], row["stage__outcome"])] += row["n"]

    stays = {
        row["to_stage"]: row
        for row in DealStageChange.objects.filter(
            deal__in=deals.values("pk"), duration__isnull=False
        )
        .values("to_stage")
        .annotate(n=Count("id"), avg=Avg("duration"))
        .order_by()
    }

    def at_least(i: int, outcomes: tuple[str, ...]) -> int:
        return sum(n for (f, o), n in counts.items() if f >= i and o in outcomes)

    metrics = []
    everything = (OPEN, WON, LOST)
    for i, stage in enumerate([*open_stages, *won_stages]):
        i = min(i, top)
        stay = stays.get(stage.pk)
        avg = stay["avg"] if stay else None
        metrics.append(
            StageMetric(
                stage=stage,
                reached=at_least(i, everything),
                advanced=at_least(i + 1, everything) if i < top else 0,
                won=at_least(i, (WON,)),
                closed=at_least(i, (WON, LOST)),
                avg_days=_days(avg),
                stays=stay["n"] if stay else 0,
            )
        )
    return metrics


def _days(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds() / 86400
    # Some backends answer the average of a duration in microseconds.
    return float(value) / 86_400_000_000
