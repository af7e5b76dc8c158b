"""Orders and contracts on the karte: sections, header figures and timeline sources."""

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from enishi.core.timeline import Cursor, TimelineItem, before_day_q, midnight
from enishi.sales.models import Contract, Order

ORDER_RANK = 40
CONTRACT_RANK = 50


def _orders(customer):
    return Order.objects.filter(customer=customer, deleted_at__isnull=True)


def _contracts(customer):
    return Contract.objects.filter(customer=customer, deleted_at__isnull=True)


def orders_section(customer, *, limit: int = 10) -> list[Order]:
    return list(_orders(customer).select_related("owner").order_by("-ordered_on", "-id")[:limit])


def contracts_section(customer, *, limit: int = 20) -> list[Contract]:
    """Running contracts first (next renewal first), then cancelled and ended ones."""
    rows = list(
        _contracts(customer).select_related("product", "owner").order_by("-starts_on", "-id")[:200]
    )
    today = timezone.localdate()

    def running(c: Contract) -> bool:
        return c.cancelled_on is None and (c.ends_on is None or c.ends_on >= today or c.auto_renew)

    live = sorted((c for c in rows if running(c)), key=lambda c: c.renews_on or c.starts_on)
    past = [c for c in rows if not running(c)]
    return (live + past)[:limit]


def sales_figures(customer) -> dict:
    today = timezone.localdate()
    orders = _orders(customer).exclude(status=Order.Status.CANCELLED)
    found = orders.aggregate(revenue=Sum("total"), last=Max("ordered_on"), count=Count("pk"))
    contracts = _contracts(customer).aggregate(
        next_renewal=Min("renews_on", filter=Q(cancelled_on__isnull=True, renews_on__gte=today)),
        running=Count("pk", filter=Q(cancelled_on__isnull=True)),
    )
    return {
        "lifetime_revenue": found["revenue"] or 0,
        "last_purchase": found["last"],
        "order_count": found["count"],
        "next_renewal": contracts["next_renewal"],
        "running_contracts": contracts["running"],
    }


def timeline_sources(customer):
    def orders(before: Cursor | None, limit: int) -> list[TimelineItem]:
        rows = (
            _orders(customer)
            .filter(before_day_q("ordered_on", ORDER_RANK, before))
            .select_related("owner")
            .order_by("-ordered_on", "-id")[:limit]
        )
        return [
            TimelineItem("order", midnight(o.ordered_on), ORDER_RANK, o.pk, o, all_day=True)
            for o in rows
        ]

    def contracts(before: Cursor | None, limit: int) -> list[TimelineItem]:
        rows = (
            _contracts(customer)
            .filter(before_day_q("starts_on", CONTRACT_RANK, before))
            .select_related("product", "owner")
            .order_by("-starts_on", "-id")[:limit]
        )
        return [
            TimelineItem("contract", midnight(c.starts_on), CONTRACT_RANK, c.pk, c, all_day=True)
            for c in rows
        ]

    return [orders, contracts]
