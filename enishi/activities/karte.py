"""The activities' part of the karte: its timeline source."""

from enishi.activities.models import Activity
from enishi.core.timeline import Cursor, TimelineItem, before_q

RANK = 10


def timeline_source(customer):
    def source(before: Cursor | None, limit: int) -> list[TimelineItem]:
        rows = (
            Activity.objects.filter(customer=customer, deleted_at__isnull=True)
            .filter(before_q("occurred_at", RANK, before))
            .select_related("staff", "deal", "inquiry", "order")
            .order_by("-occurred_at", "-id")[:limit]
        )
        return [TimelineItem("activity", a.occurred_at, RANK, a.pk, a) for a in rows]

    return source
