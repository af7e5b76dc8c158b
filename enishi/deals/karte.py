"""The deals' part of the karte: a section, header figures and timeline sources."""

from django.db.models import Count, F, Q, Sum

from enishi.core.timeline import Cursor, TimelineItem, before_q
from enishi.deals.models import Deal, DealStageChange, Stage

RANK = 20
STAGE_RANK = 25


def _deals(customer):
    return Deal.objects.filter(customer=customer, deleted_at__isnull=True)


def deals_section(customer, *, limit: int = 20) -> list[Deal]:
    """Open deals first (closing soonest first), then the most recently closed."""
    rows = _deals(customer).select_related("stage", "pipeline", "owner")
    open_ = list(
        rows.filter(stage__outcome=Stage.Outcome.OPEN).order_by(
            F("expected_close_on").asc(nulls_last=True), "-id"
        )[:limit]
    )
    closed = list(
        rows.exclude(stage__outcome=Stage.Outcome.OPEN).order_by(
            F("closed_on").desc(nulls_last=True), "-id"
        )[: max(limit - len(open_), 5)]
    )
    return open_ + closed


def deal_figures(customer) -> dict:
    found = _deals(customer).aggregate(
        open_count=Count("pk", filter=Q(stage__outcome=Stage.Outcome.OPEN)),
        open_amount=Sum("amount", filter=Q(stage__outcome=Stage.Outcome.OPEN, currency="JPY")),
        total=Count("pk"),
    )
    return {
        "open_deals": found["open_count"],
        "open_deal_amount": found["open_amount"] or 0,
        "deal_count": found["total"],
    }


def timeline_sources(customer):
    def deals(before: Cursor | None, limit: int) -> list[TimelineItem]:
        rows = (
            _deals(customer)
            .filter(before_q("created_at", RANK, before))
            .select_related("stage", "owner")
            .order_by("-created_at", "-id")[:limit]
        )
        return [TimelineItem("deal", d.created_at, RANK, d.pk, d) for d in rows]

    def stage_changes(before: Cursor | None, limit: int) -> list[TimelineItem]:
        rows = (
            DealStageChange.objects.filter(
                deal__customer=customer, deal__deleted_at__isnull=True, from_stage__isnull=False
            )
            .filter(before_q("changed_at", STAGE_RANK, before))
            .select_related("deal", "from_stage", "to_stage", "changed_by")
            .order_by("-changed_at", "-id")[:limit]
        )
        return [TimelineItem("deal_stage", c.changed_at, STAGE_RANK, c.pk, c) for c in rows]

    return [deals, stage_changes]
