"""Reads of products, orders and contracts. Orders and contracts are seen through the kartes the
user may see (`customer_visible`); anything else does not exist for them (404). Products are the
shop's catalogue: everyone sees the ones on sale, admins also the discontinued ones.
"""

import datetime
from dataclasses import dataclass, fields
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import Http404
from django.utils import timezone

from enishi.accounts.models import User
from enishi.activities.models import Task
from enishi.core.permissions import is_admin
from enishi.customers.selectors import customer_visible
from enishi.history.models import HistoryEntry
from enishi.sales.models import Contract, Order, Product


def _filled(filters) -> dict[str, object]:
    return {
        f.name: getattr(filters, f.name)
        for f in fields(filters)
        if getattr(filters, f.name) not in ("", None)
    }


# --- products ---------------------------------------------------------------------------------


def product_visible(user: User) -> QuerySet[Product]:
    qs = Product.objects.all()
    return qs if is_admin(user) else qs.filter(is_active=True)


def product_list(user: User, *, active: bool | None = None, q: str = "") -> QuerySet[Product]:
    qs = product_visible(user)
    if active is not None:
        qs = qs.filter(is_active=active)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(category__icontains=q))
    return qs.order_by("code", "id")


def product_get(user: User, pk: int) -> Product:
    try:
        return product_visible(user).get(pk=pk)
    except (Product.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def products_for_lines(extra_ids: list[int] | None = None) -> list[Product]:
    """The products an order line may name: those on sale, plus any the order already has."""
    wanted = Q(is_active=True)
    if extra_ids:
        wanted |= Q(pk__in=extra_ids)
    return list(Product.objects.filter(wanted).order_by("code", "id"))


def product_for_line(pk: int) -> Product | None:
    """A product by id for an order line or a contract (products are not customer data)."""
    return Product.objects.filter(pk=pk).first()


# --- orders -----------------------------------------------------------------------------------


def order_visible(user: User) -> QuerySet[Order]:
    return Order.objects.filter(deleted_at__isnull=True, customer__in=customer_visible(user))


def order_get(user: User, pk: int) -> Order:
    """An order on a karte the user may see (with its lines and their products), or 404."""
    try:
        return (
            order_visible(user)
            .select_related("customer", "owner", "created_by", "updated_by")
            .prefetch_related("lines__product")
            .get(pk=pk)
        )
    except (Order.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


@dataclass
class OrderFilters:
    status: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    customer: int | None = None
    owner: int | None = None
    q: str = ""

    def active(self) -> dict[str, object]:
        return _filled(self)


def order_list(user: User, filters: OrderFilters) -> QuerySet[Order]:
    qs = order_visible(user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.date_from:
        qs = qs.filter(ordered_on__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(ordered_on__lte=filters.date_to)
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.q:
        qs = qs.filter(
            Q(number__icontains=filters.q)
            | Q(customer__name__icontains=filters.q)
            | Q(lines_summary__icontains=filters.q)
            | Q(note__icontains=filters.q)
        )
    return qs.order_by("-ordered_on", "-id")


@dataclass
class OrderSums:
    count: int
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def order_sums(orders: QuerySet[Order]) -> OrderSums:
    """Count and sums of the filtered orders in one SQL aggregate (cancelled orders are counted
    but add nothing to the sums)."""
    live = ~Q(status=Order.Status.CANCELLED)
    found = orders.order_by().aggregate(
        count=Count("pk"),
        subtotal=Sum("subtotal", filter=live),
        tax=Sum("tax", filter=live),
        total=Sum("total", filter=live),
    )
    return OrderSums(
        count=found["count"],
        subtotal=found["subtotal"] or Decimal(0),
        tax=found["tax"] or Decimal(0),
        total=found["total"] or Decimal(0),
    )


def order_page(user: User, filters: OrderFilters, *, after: int | None, limit: int) -> list[Order]:
    """One page in id order for the API (stable under concurrent edits)."""
    qs = order_list(user, filters).order_by("pk")
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return list(qs.prefetch_related("lines")[:limit])


# --- contracts --------------------------------------------------------------------------------


def contract_visible(user: User) -> QuerySet[Contract]:
    return Contract.objects.filter(deleted_at__isnull=True, customer__in=customer_visible(user))


def contract_get(user: User, pk: int) -> Contract:
    try:
        return (
            contract_visible(user)
            .select_related("customer", "product", "owner", "created_by", "updated_by")
            .get(pk=pk)
        )
    except (Contract.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


CONTRACT_STATES = ("active", "ending", "ended", "cancelled")


def _state_q(state: str, today: datetime.date, days: int) -> Q:
    running = Q(cancelled_on__isnull=True)
    if state == "active":
        return running & (Q(ends_on__isnull=True) | Q(ends_on__gte=today) | Q(auto_renew=True))
    if state == "ending":
        return running & Q(
            auto_renew=False,
            ends_on__gte=today,
            ends_on__lte=today + datetime.timedelta(days=days),
        )
    if state == "ended":
        return running & Q(auto_renew=False, ends_on__lt=today)
    return Q(cancelled_on__isnull=False)


@dataclass
class ContractFilters:
    state: str = ""
    renews_within: int | None = None
    customer: int | None = None
    owner: int | None = None
    q: str = ""

    def active(self) -> dict[str, object]:
        return _filled(self)


def contract_list(user: User, filters: ContractFilters) -> QuerySet[Contract]:
    """`state`: active (running), ending (ends within the notice period and does not renew
    automatically), ended, cancelled. `renews_within`: running, renewal date from today on."""
    today = timezone.localdate()
    qs = contract_visible(user)
    if filters.state in CONTRACT_STATES:
        qs = qs.filter(_state_q(filters.state, today, settings.ENISHI_RENEWAL_NOTICE_DAYS))
    if filters.renews_within is not None:
        qs = qs.filter(
            cancelled_on__isnull=True,
            renews_on__gte=today,
            renews_on__lte=today + datetime.timedelta(days=filters.renews_within),
        )
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.q:
        qs = qs.filter(
            Q(plan__icontains=filters.q)
            | Q(customer__name__icontains=filters.q)
            | Q(note__icontains=filters.q)
        )
    return qs.order_by("-starts_on", "-id")


def contract_page(
    user: User, filters: ContractFilters, *, after: int | None, limit: int
) -> list[Contract]:
    qs = contract_list(user, filters).order_by("pk")
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return list(qs[:limit])


def _with_renewal_task(qs: QuerySet[Contract]) -> QuerySet[Contract]:
    """Each contract's reminder for its current renewal date: id and when it was done."""
    reminder = Task.objects.filter(contract=OuterRef("pk"), deleted_at__isnull=True).order_by("-id")
    return qs.annotate(
        renewal_task_id=Subquery(reminder.values("pk")[:1]),
        renewal_task_done_at=Subquery(reminder.values("done_at")[:1]),
    )


@dataclass
class Renewals:
    due: list[Contract]
    overdue: list[Contract]
    days: int


def renewals_due(user: User, days: int, *, owner: int | None = None, limit: int = 200) -> Renewals:
    """Running contracts renewing within `days` (soonest first), and overdue ones: renewal date
    passed, not renewing automatically (someone has to renew or record the cancellation)."""
    today = timezone.localdate()
    qs = contract_visible(user).filter(cancelled_on__isnull=True, renews_on__isnull=False)
    if owner:
        qs = qs.filter(owner_id=owner)
    qs = _with_renewal_task(qs.select_related("customer", "owner", "product"))
    due = qs.filter(
        renews_on__gte=today, renews_on__lte=today + datetime.timedelta(days=days)
    ).order_by("renews_on", "id")
    overdue = qs.filter(renews_on__lt=today, auto_renew=False).order_by("-renews_on", "-id")
    return Renewals(
        due=_reminder_states(due[:limit]), overdue=_reminder_states(overdue[:limit]), days=days
    )


def _reminder_states(contracts) -> list[Contract]:
    """reminder_state: "open" / "done" for the reminder of the current renewal date, "none"
    when none was made for that date (yet)."""
    found = list(contracts)
    for c in found:
        if c.renewal_task_id is None or c.renewal_task_for != c.renews_on:
            c.reminder_state = "none"
        else:
            c.reminder_state = "done" if c.renewal_task_done_at else "open"
    return found


def contract_tasks(contract: Contract) -> list[Task]:
    """The contract's renewal reminders, newest first."""
    return list(
        Task.objects.filter(contract=contract, deleted_at__isnull=True)
        .select_related("assignee")
        .order_by("-id")[:10]
    )


def record_history(instance) -> QuerySet[HistoryEntry]:
    """The history of one order, contract or product (the caller has checked it is visible)."""
    return HistoryEntry.objects.filter(
        model=instance._meta.label_lower, object_id=instance.pk
    ).select_related("actor")
