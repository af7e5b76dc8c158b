"""Reads of imports. A person sees their own imports; administrators see everyone's. Anything
else is a 404, as for kartes."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from enishi.accounts.models import User
from enishi.core.permissions import can_write, is_admin, role_of
from enishi.imports import decisions
from enishi.imports.models import ImportRow, ImportRun, ImportTemplate

ROW_FILTERS = (
    "all", "problems", "create", "update", "skip", "reject", "duplicates", "notes", "companies",
)  # fmt: skip


def import_runs(user: User) -> QuerySet[ImportRun]:
    if not role_of(user):
        return ImportRun.objects.none()
    runs = ImportRun.objects.select_related("created_by")
    return runs if is_admin(user) else runs.filter(created_by=user)


def import_run_get(user: User, pk: int) -> ImportRun:
    try:
        return import_runs(user).get(pk=pk)
    except (ImportRun.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def import_run_get_for_edit(user: User, pk: int) -> ImportRun:
    """An import the user may change: their own (or any, for admins), and only if they may write."""
    if not can_write(user):
        raise Http404
    return import_run_get(user, pk)


def import_templates(user: User, target: str | None = None) -> QuerySet[ImportTemplate]:
    if not can_write(user):
        return ImportTemplate.objects.none()
    templates = ImportTemplate.objects.select_related("created_by")
    return templates.filter(target=target) if target else templates


def import_template_get_for_delete(user: User, pk: int) -> ImportTemplate:
    """Templates are shared by everyone who imports; the one who saved it (or an admin) deletes."""
    templates = import_templates(user)
    if not is_admin(user):
        templates = templates.filter(created_by=user)
    try:
        return templates.get(pk=pk)
    except (ImportTemplate.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def import_rows(run: ImportRun, row_filter: str = "all") -> QuerySet[ImportRow]:
    rows = run.rows.all()
    rules = decisions.rules_of(run)
    if row_filter == "problems":
        rows = rows.filter(category=ImportRow.Category.INVALID)
    elif row_filter in ("create", "update", "skip", "reject"):
        rows = rows.filter(decisions.action_q(row_filter, rules))
    elif row_filter == "duplicates":
        rows = rows.filter(
            Q(category=ImportRow.Category.DUPLICATE) | Q(category=ImportRow.Category.FILE_DUPLICATE)
        )
    elif row_filter == "notes":
        rows = rows.exclude(notes=[])
    elif row_filter == "companies":
        # Persons naming a company that several kartes have (chosen or still to choose).
        rows = rows.filter(company__has_key="choices")
    return rows.order_by("number")


def import_row_get(run: ImportRun, number: int) -> ImportRow:
    try:
        return run.rows.get(number=number)
    except (ImportRow.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def import_order_rows(run: ImportRun, row: ImportRow) -> list[ImportRow]:
    """The other rows of the order `row` is a line of (orders import; none otherwise)."""
    head = row.data.get("order_group") if run.target == ImportRun.Target.ORDERS else None
    if head is None:
        return []
    numbers = run.rows.filter(number=head).values_list("data", flat=True).first() or {}
    wanted = [n for n in numbers.get("order_rows", []) if n != row.number]
    return list(run.rows.filter(number__in=wanted).order_by("number"))
