"""Reads of the timeline and tasks, always through the customers the user may see."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from enishi.accounts.models import User
from enishi.activities.models import Activity, Task
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_visible


def timeline_page(
    user: User, customer: Customer, *, before: tuple[datetime.datetime, int] | None, size: int
) -> tuple[list[Activity], tuple[datetime.datetime, int] | None]:
    """One page of the karte's timeline, newest first, by keyset so page 100 costs as page 1."""
    qs = Activity.objects.filter(customer=customer, deleted_at__isnull=True).select_related("staff")
    if before is not None:
        at, pk = before
        qs = qs.filter(occurred_at__lt=at) | qs.filter(occurred_at=at, pk__lt=pk)
    items = list(qs.order_by("-occurred_at", "-id")[: size + 1])
    more = len(items) > size
    items = items[:size]
    cursor = (items[-1].occurred_at, items[-1].pk) if more and items else None
    return items, cursor


def tasks_open_for_customer(user: User, customer: Customer) -> QuerySet[Task]:
    return (
        Task.objects.filter(customer=customer, done_at__isnull=True, deleted_at__isnull=True)
        .select_related("assignee")
        .order_by("due_on", "id")
    )


@dataclass
class MyTasks:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]
    no_date: list[Task]
    recently_done: list[Task]


def my_tasks(user: User, *, limit: int = 200) -> MyTasks:
    today = timezone.localdate()
    base = Task.objects.filter(
        assignee=user, deleted_at__isnull=True, customer__in=customer_visible(user)
    ).select_related("customer")
    open_ = base.filter(done_at__isnull=True)
    return MyTasks(
        overdue=list(open_.filter(due_on__lt=today).order_by("due_on", "id")[:limit]),
        today=list(open_.filter(due_on=today).order_by("id")[:limit]),
        upcoming=list(open_.filter(due_on__gt=today).order_by("due_on", "id")[:limit]),
        no_date=list(open_.filter(due_on__isnull=True).order_by("id")[:limit]),
        recently_done=list(
            base.filter(done_at__gte=timezone.now() - datetime.timedelta(days=7)).order_by(
                "-done_at"
            )[:20]
        ),
    )


def task_get(user: User, pk: int) -> Task:
    try:
        return Task.objects.select_related("customer").get(
            pk=pk, deleted_at__isnull=True, customer__in=customer_visible(user)
        )
    except (Task.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None
