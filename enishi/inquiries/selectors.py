"""Reads of inquiries. Every read starts from the customers the user may see: an inquiry on a karte
the user may not see does not exist for them (404), in lists, counts, figures and the API alike.
"""

import datetime
import statistics
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from enishi.accounts.models import User
from enishi.core.permissions import can_write
from enishi.customers.selectors import customer_visible
from enishi.history.models import HistoryEntry
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory

QUEUES = ("mine", "unassigned", "overdue", "open", "all")
SORTS = {"newest": ("-received_at", "-id"), "oldest": ("received_at", "id")}


def response_target() -> datetime.timedelta:
    """How soon a first answer is due (ENISHI_INQUIRY_RESPONSE_HOURS)."""
    return datetime.timedelta(hours=settings.ENISHI_INQUIRY_RESPONSE_HOURS)


def overdue_q(now: datetime.datetime) -> Q:
    """Open, never answered, and received longer ago than the response target."""
    return Q(
        status__in=Inquiry.OPEN_STATUSES,
        first_response_at__isnull=True,
        received_at__lt=now - response_target(),
    )


def is_overdue(inquiry: Inquiry, now: datetime.datetime | None = None) -> bool:
    """The same rule as `overdue_q`, for one inquiry already in memory."""
    now = now or timezone.now()
    return (
        inquiry.is_open
        and inquiry.first_response_at is None
        and inquiry.received_at < now - response_target()
    )


def inquiries_visible(user: User) -> QuerySet[Inquiry]:
    """The one permission filter for inquiries: those on kartes the user may see."""
    return Inquiry.objects.filter(deleted_at__isnull=True, customer__in=customer_visible(user))


def inquiry_get(user: User, pk: int) -> Inquiry:
    """An inquiry the user may see, or 404 (never a hint that it exists)."""
    try:
        return (
            inquiries_visible(user)
            .select_related("customer", "category", "assignee", "created_by", "updated_by")
            .get(pk=pk)
        )
    except (Inquiry.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def inquiry_get_for_edit(user: User, pk: int) -> Inquiry:
    """An inquiry the user may change, or 404 (read-only users cannot change anything)."""
    if not can_write(user):
        raise Http404
    return inquiry_get(user, pk)


def inquiry_thread(user: User, inquiry: Inquiry) -> list[InquiryAnswer]:
    """The answers and internal notes of a visible inquiry, oldest first."""
    return list(
        InquiryAnswer.objects.filter(inquiry=inquiry)
        .select_related("author")
        .order_by("created_at", "id")
    )


def inquiry_history(
    user: User, inquiry: Inquiry, answers: list[InquiryAnswer], *, limit: int = 50
) -> list[HistoryEntry]:
    """Changes of the inquiry and the creation of its answers, newest first."""
    return list(
        HistoryEntry.objects.filter(
            Q(model="inquiries.inquiry", object_id=inquiry.pk)
            | Q(model="inquiries.inquiryanswer", object_id__in=[a.pk for a in answers])
        )
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


# --- queues ------------------------------------------------------------------------------------


@dataclass
class InquiryFilters:
    status: str = ""
    category: int | None = None
    channel: str = ""
    assignee: int | None = None
    unassigned: bool = False
    customer: int | None = None
    q: str = ""
    sort: str = "newest"

    @property
    def active(self) -> bool:
        return bool(
            self.status
            or self.category
            or self.channel
            or self.assignee
            or self.unassigned
            or self.customer
            or self.q
            or self.sort != "newest"
        )


def _queue_q(user: User, queue: str, now: datetime.datetime) -> Q:
    open_ = Q(status__in=Inquiry.OPEN_STATUSES)
    if queue == "mine":
        return open_ & Q(assignee_id=user.pk)
    if queue == "unassigned":
        return open_ & Q(assignee__isnull=True)
    if queue == "overdue":
        return overdue_q(now)
    if queue == "open":
        return open_
    return Q()


def _filtered(qs: QuerySet[Inquiry], filters: InquiryFilters) -> QuerySet[Inquiry]:
    if filters.status == "open":
        qs = qs.filter(status__in=Inquiry.OPEN_STATUSES)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.category:
        qs = qs.filter(category_id=filters.category)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.unassigned:
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        qs = qs.filter(assignee_id=filters.assignee)
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    if filters.q:
        qs = qs.filter(Q(subject__icontains=filters.q) | Q(customer__name__icontains=filters.q))
    return qs


def with_overdue(qs: QuerySet[Inquiry], now: datetime.datetime) -> QuerySet[Inquiry]:
    """Each row carries `is_overdue`, computed in the same query."""
    return qs.annotate(
        is_overdue=Case(
            When(overdue_q(now), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def inquiry_queue(
    user: User,
    queue: str = "mine",
    filters: InquiryFilters | None = None,
    *,
    now: datetime.datetime | None = None,
) -> QuerySet[Inquiry]:
    """One queue (mine, unassigned, overdue, open, all), filtered and sorted, rows marked
    `is_overdue`; a queryset to page."""
    now = now or timezone.now()
    filters = filters or InquiryFilters()
    qs = inquiries_visible(user).filter(_queue_q(user, queue if queue in QUEUES else "all", now))
    qs = with_overdue(_filtered(qs, filters), now)
    return qs.select_related("customer", "category", "assignee").order_by(
        *SORTS.get(filters.sort, SORTS["newest"])
    )


def queue_counts(user: User, *, now: datetime.datetime | None = None) -> dict[str, int]:
    """The badge of each queue tab, in one query."""
    now = now or timezone.now()
    return inquiries_visible(user).aggregate(
        **{name: Count("pk", filter=_queue_q(user, name, now)) for name in QUEUES}
    )


def inquiry_page(
    user: User,
    filters: InquiryFilters,
    *,
    overdue: bool | None = None,
    after: int | None = None,
    limit: int,
    now: datetime.datetime | None = None,
) -> list[Inquiry]:
    """One page of inquiries in id order (stable under concurrent edits), for the API."""
    now = now or timezone.now()
    qs = _filtered(inquiries_visible(user), filters)
    if overdue is True:
        qs = qs.filter(overdue_q(now))
    elif overdue is False:
        qs = qs.exclude(overdue_q(now))
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return list(with_overdue(qs, now).order_by("pk")[:limit])


def answer_page(
    user: User, inquiry: Inquiry, *, after: int | None = None, limit: int
) -> list[InquiryAnswer]:
    qs = InquiryAnswer.objects.filter(inquiry=inquiry)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return list(qs.order_by("pk")[:limit])


# --- response figures --------------------------------------------------------------------------


@dataclass
class ResponseStats:
    since: datetime.datetime
    target: datetime.timedelta
    received: int = 0
    first_response_median: datetime.timedelta | None = None
    first_response_average: datetime.timedelta | None = None
    resolution_median: datetime.timedelta | None = None
    resolution_average: datetime.timedelta | None = None
    # Of the inquiries whose first answer is due by now: how many were answered in time.
    measured: int = 0
    within_target: int = 0
    by_status: list[tuple[str, str, int]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_channel: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def share_within_target(self) -> float | None:
        return self.within_target / self.measured if self.measured else None


def _median_and_mean(
    values: list[datetime.timedelta],
) -> tuple[datetime.timedelta | None, datetime.timedelta | None]:
    if not values:
        return None, None
    seconds = [v.total_seconds() for v in values]
    return (
        datetime.timedelta(seconds=round(statistics.median(seconds))),
        datetime.timedelta(seconds=round(statistics.fmean(seconds))),
    )


def response_stats(
    user: User, since: datetime.datetime, *, now: datetime.datetime | None = None
) -> ResponseStats:
    """First response and resolution times of the inquiries received since `since` (medians and
    averages), the share answered within the target, and counts by status, category and channel.
    Two queries; the times are reduced in Python so that SQLite and PostgreSQL agree."""
    now = now or timezone.now()
    target = response_target()
    stats = ResponseStats(since=since, target=target)
    window = inquiries_visible(user).filter(received_at__gte=since)
    first, resolution = [], []
    for received_at, first_at, resolved_at in window.values_list(
        "received_at", "first_response_at", "resolved_at"
    ):
        stats.received += 1
        if first_at is not None:
            first.append(first_at - received_at)
            stats.measured += 1
            stats.within_target += first_at - received_at <= target
        elif received_at + target < now:
            stats.measured += 1  # unanswered past the target: missed
        if resolved_at is not None:
            resolution.append(resolved_at - received_at)
    stats.first_response_median, stats.first_response_average = _median_and_mean(first)
    stats.resolution_median, stats.resolution_average = _median_and_mean(resolution)

    by_status: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    for row in window.values("status", "channel", "category__name").annotate(n=Count("pk")):
        by_status[row["status"]] += row["n"]
        by_channel[row["channel"]] += row["n"]
        by_category[row["category__name"] or ""] += row["n"]
    stats.by_status = [
        (value, str(label), by_status[value])
        for value, label in Inquiry.Status.choices
        if by_status[value]
    ]
    stats.by_channel = [
        (value, str(label), by_channel[value])
        for value, label in Inquiry.Channel.choices
        if by_channel[value]
    ]
    stats.by_category = by_category.most_common()
    return stats


# --- categories and people to choose from ------------------------------------------------------


def categories_all() -> QuerySet[InquiryCategory]:
    """Every category in its order, retired ones too (filters, the API, old inquiries)."""
    return InquiryCategory.objects.order_by("position", "id")


def categories_with_use() -> QuerySet[InquiryCategory]:
    """For the settings page: how many inquiries (trash included) use each category."""
    return categories_all().annotate(inquiry_count=Count("inquiries"))


def categories_active(*, keep_id: int | None = None) -> QuerySet[InquiryCategory]:
    """Categories in use (and `keep_id`, a retired one an inquiry already has)."""
    return InquiryCategory.objects.filter(Q(is_active=True) | Q(pk=keep_id)).order_by(
        "position", "id"
    )


def category_get(pk: int) -> InquiryCategory:
    try:
        return InquiryCategory.objects.get(pk=pk)
    except (InquiryCategory.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def category_find(pk: int) -> InquiryCategory | None:
    return InquiryCategory.objects.filter(pk=pk).first()


def assignable_users(*, keep_id: int | None = None) -> QuerySet[User]:
    """Active staff (and `keep_id`, a deactivated assignee an inquiry already has)."""
    return User.objects.filter(Q(is_active=True) | Q(pk=keep_id)).order_by(
        "display_name", "username"
    )
