"""Reads for exports. The kartes themselves always come from
`customers.selectors.customer_list` (the permission filter); an export's row is seen by the
person who made it and by administrators, nobody else (anyone else gets a 404)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from enishi.accounts.models import User
from enishi.core.permissions import is_admin
from enishi.customers.models import Customer, Tag
from enishi.customers.selectors import CustomerFilters, customer_list
from enishi.transfer.models import Export

ACTIVE = (Export.Status.QUEUED, Export.Status.RUNNING)


def user_label(pk: int) -> str:
    user = User.objects.filter(pk=pk).first()
    return user.label if user else str(pk)


def tag_name(pk: int) -> str:
    return Tag.objects.filter(pk=pk).values_list("name", flat=True).first() or str(pk)


def tag_id(name: str) -> int | None:
    return Tag.objects.filter(name=name).values_list("pk", flat=True).first()


def export_count(user: User, filters: CustomerFilters) -> int:
    return customer_list(user, filters).order_by().count()


def export_preview(user: User, filters: CustomerFilters, size: int = 3) -> QuerySet[Customer]:
    """The first kartes of the export, for the preview on the export page."""
    return customer_list(user, filters)[:size]


def exports_visible(user: User) -> QuerySet[Export]:
    """Exports the user may see: their own; an administrator's view is everyone's."""
    qs = Export.objects.select_related("created_by")
    if is_admin(user):
        return qs
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    return qs.filter(created_by=user)


def export_list(
    user: User,
    *,
    mine_only: bool = False,
    kind: str = "",
    status: str = "",
    creator: int | None = None,
) -> QuerySet[Export]:
    qs = exports_visible(user)
    if mine_only:
        qs = qs.filter(created_by=user)
    if kind in Export.Kind.values:
        qs = qs.filter(kind=kind)
    if status in Export.Status.values:
        qs = qs.filter(status=status)
    if creator:
        qs = qs.filter(created_by_id=creator)
    return qs.order_by("-created_at", "-id")


# An export streamed to the browser at once: finished, with no file kept.
AT_ONCE = "at_once"


def shown_statuses() -> list[tuple[str, str]]:
    """The statuses the export history shows, for its filter: each one it shows can be chosen,
    "Downloaded at once" beside "Ready" (a file kept in the background)."""
    choices = list(Export.Status.choices)
    done = [value for value, _label in choices].index(Export.Status.DONE)
    choices.insert(done + 1, (AT_ONCE, pgettext_lazy("export status", "Downloaded at once")))
    return choices


def filter_shown_status(qs: QuerySet[Export], status: str) -> QuerySet[Export]:
    """Exports whose status is shown as `status` (a value of `shown_statuses`), as the history
    shows them: "Ready" is a kept file still there, a kept file past its time is "Expired", and
    one streamed at once is "Downloaded at once". An unknown value filters nothing."""
    kept = Q(status=Export.Status.DONE, background=True)
    past = Q(expires_at__isnull=False, expires_at__lte=timezone.now())
    if status == AT_ONCE:
        return qs.filter(status=Export.Status.DONE, background=False)
    if status == Export.Status.DONE:
        return qs.filter(kept).exclude(past)
    if status == Export.Status.EXPIRED:
        return qs.filter(Q(status=Export.Status.EXPIRED) | (kept & past))
    if status in Export.Status.values:
        return qs.filter(status=status)
    return qs


def export_get(user: User, pk: int) -> Export:
    """One export the user may see, else 404 (exactly as for one that never existed)."""
    export = exports_visible(user).filter(pk=pk).first()
    if export is None:
        raise Http404
    return export


def exports_active_count(user: User) -> int:
    return Export.objects.filter(created_by=user, status__in=ACTIVE).count()


def full_export_running() -> bool:
    return Export.objects.filter(kind=Export.Kind.FULL, status__in=ACTIVE).exists()


def export_creators(user: User) -> QuerySet[User]:
    """People with exports, for an administrator's filter on the history page."""
    if not is_admin(user):
        return User.objects.none()
    ids = Export.objects.values("created_by_id").distinct()
    return User.objects.filter(pk__in=ids).order_by("username")
