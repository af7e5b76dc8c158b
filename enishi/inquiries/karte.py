"""The inquiries' part of the karte: a section, header figures and a timeline source."""

from django.db.models import Count, Q

from enishi.core.timeline import Cursor, TimelineItem, before_q
from enishi.inquiries.models import Inquiry

RANK = 30


def _inquiries(customer):
    return Inquiry.objects.filter(customer=customer, deleted_at__isnull=True)


def inquiries_section(customer, *, limit: int = 20) -> list[Inquiry]:
    """Open inquiries first (oldest waiting first), then the latest closed ones."""
    rows = _inquiries(customer).select_related("category", "assignee")
    open_ = list(rows.filter(status__in=Inquiry.OPEN_STATUSES).order_by("received_at")[:limit])
    done = list(
        rows.exclude(status__in=Inquiry.OPEN_STATUSES).order_by("-received_at")[
            : max(limit - len(open_), 5)
        ]
    )
    return open_ + done


def inquiry_figures(customer) -> dict:
    found = _inquiries(customer).aggregate(
        open_count=Count("pk", filter=Q(status__in=Inquiry.OPEN_STATUSES)), total=Count("pk")
    )
    return {"open_inquiries": found["open_count"], "inquiry_count": found["total"]}


def timeline_sources(customer):
    def inquiries(before: Cursor | None, limit: int) -> list[TimelineItem]:
        rows = (
            _inquiries(customer)
            .filter(before_q("received_at", RANK, before))
            .select_related("category", "assignee")
            .order_by("-received_at", "-id")[:limit]
        )
        return [TimelineItem("inquiry", i.received_at, RANK, i.pk, i) for i in rows]

    return [inquiries]
