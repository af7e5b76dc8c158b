"""Reads for exports. The kartes themselves always come from
`customers.selectors.customer_list` (the permission filter); an export's row is seen by the
person who made it and by administrators, nobody else (anyone else gets a 404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

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
