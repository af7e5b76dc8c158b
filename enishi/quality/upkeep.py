"""House style settings with their one-time clean-up, and the freshness report.

Services (writes) and selectors (reads) of the upkeep pages; the rules themselves are the pure
functions in `house_style.py`. The clean-up saves each karte through `customer_update`, so it
gets the same validation, history (via "system", batch "cleanup:<id>"), version check and
search index as an edit by hand.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django_tasks import task

from enishi.accounts.models import User
from enishi.core.models import HouseStyle, StyleCleanup
from enishi.core.records import StaleVersionError
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_visible
from enishi.history.models import HistoryEntry
from enishi.history.services import history_batch, history_record
from enishi.quality import house_style

CHUNK = 1000
PREVIEW_SIZE = 50
# A page of the preview looks for its changes this long at most, then says how far it got: a
# big database with few changes left is paged through in steps, never read whole per request.
PREVIEW_SECONDS = 1.0
FRESHNESS_MONTHS = (3, 6, 12, 24, 36)

# --- House style ---------------------------------------------------------------------------


def house_style_get() -> HouseStyle:
    return HouseStyle.objects.get_or_create(pk=1)[0]


@transaction.atomic
def house_style_update(
    *, actor: User, data: dict[str, str], version: int | None, via: str = HistoryEntry.Via.UI
) -> HouseStyle:
    """Save the house style (admins). A stale version raises StaleVersionError."""
    current, _ = HouseStyle.objects.select_for_update().get_or_create(pk=1)
    if version is not None and current.version != version:
        raise StaleVersionError(current)
    fields = {
        "company_name": HouseStyle.CompanyName,
        "street": HouseStyle.Street,
        "dates": HouseStyle.Dates,
    }
    errors = {
        name: [gettext("Choose one of the offered options.")]
        for name, choices in fields.items()
        if name in data and data[name] not in choices.values
    }
    if errors:
        raise ValidationError(errors)
    changes = {}
    for name, choices in fields.items():
        if name in data and getattr(current, name) != data[name]:
            changes[name] = [
                str(choices(getattr(current, name)).label),
                str(choices(data[name]).label),
            ]
            setattr(current, name, data[name])
    if not changes:
        return current
    current.version += 1
    current.updated_by = actor
    current.save()
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=current,
        customer_id=None,
        changes=changes,
    )
    style = house_style.Style(
        company_name=current.company_name, street=current.street, dates=current.dates
    )
    transaction.on_commit(lambda: house_style.remember(style))
    return current


# --- One-time clean-up ---------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """What the clean-up would change on one karte: {field: (before, after)}."""

    customer_id: int
    name: str
    version: int
    changes: dict[str, tuple[str, str]]


def _chunks(
    style: house_style.Style, *, after: int = 0
) -> Iterator[tuple[list[Proposal], int, int]]:
    """The kartes after id `after`, in id order, CHUNK rows at a time (by the primary key:
    each chunk is one indexed range read, wherever it starts): for each chunk, the changes
    the style would make, its last karte id and how many kartes it held."""
    rows = Customer.objects.filter(deleted_at__isnull=True).order_by("pk")
    after_id = after
    while True:
        chunk = list(
            rows.filter(pk__gt=after_id).values_list("pk", "kind", "name", "street", "version")[
                :CHUNK
            ]
        )
        if not chunk:
            return
        found = []
        for pk, kind, name, street, version in chunk:
            changes = {}
            if kind == Customer.Kind.COMPANY:
                styled = house_style.company_name_styled(name, style.company_name)
                if styled != name:
                    changes["name"] = (name, styled)
            styled = house_style.street_styled(street, style.street)
            if styled != street:
                changes["street"] = (street, styled)
            if changes:
                found.append(Proposal(pk, name, version, changes))
        after_id = chunk[-1][0]
        yield found, after_id, len(chunk)


def _proposals(
    style: house_style.Style, *, progress: Callable[[int], None] | None = None
) -> Iterator[Proposal]:
    """Every karte the style would change, in id order, read CHUNK rows at a time;
    `progress(n)` is told how many kartes have been looked at after each chunk."""
    scanned = 0
    for found, _last, count in _chunks(style):
        yield from found
        scanned += count
        if progress is not None:
            progress(scanned)


@dataclass(frozen=True)
class PreviewPage:
    """One page of the clean-up's preview: the changes to kartes after id `after`, in id
    order. `next_after`: where the next page starts (None at the end). `cut`: the page stopped
    at its time limit before it was full (the next page goes on from the last karte looked
    at, `next_after`)."""

    proposals: list[Proposal]
    after: int
    next_after: int | None
    cut: bool = False


def cleanup_preview_page(
    style: house_style.Style,
    *,
    after: int = 0,
    size: int | None = None,
    seconds: float | None = None,
) -> PreviewPage:
    """Up to `size` (PREVIEW_SIZE) changes the clean-up would make to kartes after id `after`,
    found within `seconds` (PREVIEW_SECONDS): paged by karte id, so page 1,000 costs what
    page 1 does and nothing is held but the page."""
    size = size or PREVIEW_SIZE
    deadline = time.monotonic() + (PREVIEW_SECONDS if seconds is None else seconds)
    found: list[Proposal] = []
    for chunk, last_id, _count in _chunks(style, after=after):
        for proposal in chunk:
            found.append(proposal)
            if len(found) >= size:
                return PreviewPage(found, after, next_after=proposal.customer_id)
        if time.monotonic() > deadline:
            return PreviewPage(found, after, next_after=last_id, cut=True)
    return PreviewPage(found, after, next_after=None)


def cleanup_preview(style: house_style.Style, *, size: int = PREVIEW_SIZE) -> list[Proposal]:
    """The first `size` changes the clean-up would make (the run counts them all)."""
    return cleanup_preview_page(style, size=size, seconds=float("inf")).proposals


@dataclass(frozen=True)
class CleanupCount:
    """How many kartes the clean-up would change: exact when `complete`, else at least
    `kartes` among the first `looked_at` (the count stopped at its time limit)."""

    kartes: int
    looked_at: int
    complete: bool


COUNT_SECONDS = 2.0


def cleanup_count(style: house_style.Style, *, seconds: float = COUNT_SECONDS) -> CleanupCount:
    """Count the kartes the style would change before anyone starts the clean-up, within
    `seconds` (about 100k kartes on this machine's class; a bigger database gets a lower
    bound, and the run counts them all)."""
    deadline = time.monotonic() + seconds
    looked_at = 0

    def seen(n: int) -> None:
        nonlocal looked_at
        looked_at = n
        if time.monotonic() > deadline:
            raise _OutOfTime

    kartes = 0
    try:
        for _proposal in _proposals(style, progress=seen):
            kartes += 1
    except _OutOfTime:
        return CleanupCount(kartes, looked_at, complete=False)
    return CleanupCount(kartes, looked_at, complete=True)


class _OutOfTime(Exception):
    pass


class CleanupActive(Exception):
    """A clean-up is already queued or running: `run` is that one."""

    def __init__(self, run: StyleCleanup):
        super().__init__(str(run))
        self.run = run


CLEANUP_STALE = datetime.timedelta(minutes=10)


def cleanup_active() -> StyleCleanup | None:
    """The clean-up queued or running now, if any. One that has been running without moving
    for `CLEANUP_STALE` was interrupted (its worker stopped): it is marked failed, so a new
    clean-up can start and finish the rest (every karte is saved on its own)."""
    active = [StyleCleanup.Status.QUEUED, StyleCleanup.Status.RUNNING]
    run = StyleCleanup.objects.filter(status__in=active).order_by("-id").first()
    if run is None or run.status != StyleCleanup.Status.RUNNING:
        return run
    moved = run.heartbeat_at or run.created_at
    if moved >= timezone.now() - CLEANUP_STALE:
        return run
    StyleCleanup.objects.filter(pk=run.pk, status=StyleCleanup.Status.RUNNING).update(
        status=StyleCleanup.Status.FAILED,
        # Like an exception's text: for whoever looks into it, not shown on the page.
        error="interrupted: no progress for 10 minutes (the worker stopped?)",
        finished_at=timezone.now(),
    )
    return None


def cleanup_start(*, actor: User) -> StyleCleanup:
    """Queue the clean-up with the house style as saved now (admins). One at a time: while one
    is queued or running, `CleanupActive` names it. The database holds this (a unique index on
    the queued or running row), so two requests at once cannot both start one."""
    style = house_style_get()
    for attempt in range(3):
        try:
            with transaction.atomic():
                run = StyleCleanup.objects.create(
                    created_by=actor,
                    company_name=style.company_name,
                    street=style.street,
                    total=Customer.objects.filter(deleted_at__isnull=True).count(),
                )
        except IntegrityError:
            current = cleanup_active()
            if current is not None:
                raise CleanupActive(current) from None
            if attempt == 2:
                raise
            continue  # it finished meanwhile: try again
        transaction.on_commit(lambda pk=run.pk: cleanup_run.enqueue(pk))
        return run
    raise AssertionError("unreachable")


def _restyle(actor: User, customer: Customer, data: dict[str, str], version: int) -> None:
    """Save a clean-up's (or its undo's) change to one karte. A clean-up is no one's work on
    the karte: it keeps its last update (lists sorted by it, the freshness report); the history
    has the change."""
    from enishi.customers.services import customer_update

    with transaction.atomic():
        updated_at = customer.updated_at
        customer_update(
            actor=actor, customer=customer, data=data, version=version, via=HistoryEntry.Via.SYSTEM
        )
        Customer.objects.filter(pk=customer.pk).update(updated_at=updated_at)


@task()
def cleanup_run(run_id: int) -> None:
    """Apply the style karte by karte. Each karte is saved on its own, so an interrupted run
    leaves every karte either cleaned or untouched; starting again finishes the rest."""
    run = StyleCleanup.objects.get(pk=run_id)
    style = house_style.Style(company_name=run.company_name, street=run.street)
    StyleCleanup.objects.filter(pk=run.pk).update(
        status=StyleCleanup.Status.RUNNING, heartbeat_at=timezone.now()
    )

    try:
        with history_batch(f"cleanup:{run.pk}"):

            def progress(scanned: int) -> None:
                run.done = min(scanned, run.total)
                StyleCleanup.objects.filter(pk=run.pk).update(
                    done=run.done,
                    changed=run.changed,
                    skipped=run.skipped,
                    heartbeat_at=timezone.now(),
                )

            for proposal in _proposals(style, progress=progress):
                customer = Customer.objects.get(pk=proposal.customer_id)
                try:
                    _restyle(
                        run.created_by,
                        customer,
                        {field: after for field, (_, after) in proposal.changes.items()},
                        proposal.version,
                    )
                    run.changed += 1
                except (StaleVersionError, ValidationError):
                    # Changed by someone meanwhile, or the styled value does not fit: the
                    # karte stays as it is and is counted as skipped.
                    run.skipped += 1
    except Exception as exc:
        StyleCleanup.objects.filter(pk=run.pk).update(
            status=StyleCleanup.Status.FAILED,
            error=str(exc)[:2000],
            changed=run.changed,
            skipped=run.skipped,
            finished_at=timezone.now(),
        )
        raise
    StyleCleanup.objects.filter(pk=run.pk).update(
        status=StyleCleanup.Status.DONE,
        done=run.total,
        changed=run.changed,
        skipped=run.skipped,
        finished_at=timezone.now(),
    )


def cleanup_undo_start(*, actor: User, run: StyleCleanup) -> StyleCleanup:
    """Take a finished clean-up back, in the background (admins)."""
    updated = StyleCleanup.objects.filter(
        pk=run.pk, status=StyleCleanup.Status.DONE, undo_started_at__isnull=True
    ).update(undo_started_at=timezone.now(), undone_by=actor)
    if not updated:
        raise ValidationError(gettext("This clean-up cannot be undone (again)."))
    transaction.on_commit(lambda: cleanup_undo.enqueue(run.pk))
    run.refresh_from_db()
    return run


@task()
def cleanup_undo(run_id: int) -> None:
    """Put back the values the clean-up replaced, karte by karte, from its history entries.
    A karte someone changed since (the field is no longer what the clean-up wrote), deleted
    or merged is kept as it is and counted. The house style is not applied to what is put
    back: that is what was typed."""

    run = StyleCleanup.objects.get(pk=run_id)
    # Read before writing: the undo's own saves add history entries as it goes.
    entries = list(
        HistoryEntry.objects.filter(
            batch=f"cleanup:{run.pk}",
            action=HistoryEntry.Action.UPDATE,
            model="customers.customer",
        )
        .order_by("pk")
        .values_list("object_id", "changes")
    )
    restored = kept = 0
    with history_batch(f"cleanup-undo:{run.pk}"), house_style.suspended():
        for object_id, changes in entries:
            customer = Customer.objects.filter(pk=object_id, deleted_at__isnull=True).first()
            fields = {name: pair for name, pair in changes.items() if name in UNDO_FIELDS}
            if customer is None or any(
                getattr(customer, name) != after for name, (_b, after) in fields.items()
            ):
                kept += 1
                continue
            try:
                _restyle(
                    run.undone_by,
                    customer,
                    {name: before or "" for name, (before, _a) in fields.items()},
                    customer.version,
                )
                restored += 1
            except (StaleVersionError, ValidationError):
                kept += 1
            if (restored + kept) % CHUNK == 0:
                StyleCleanup.objects.filter(pk=run.pk).update(restored=restored, kept=kept)
    StyleCleanup.objects.filter(pk=run.pk).update(
        restored=restored, kept=kept, undone_at=timezone.now()
    )


# The fields a clean-up changes (and its undo puts back).
UNDO_FIELDS = ("name", "street")


def cleanup_latest() -> StyleCleanup | None:
    return StyleCleanup.objects.select_related("created_by").first()


def cleanup_get(pk: int) -> StyleCleanup:
    return StyleCleanup.objects.select_related("created_by").get(pk=pk)


# --- Freshness -----------------------------------------------------------------------------


def stale_since(months: int, *, today: datetime.date | None = None) -> datetime.datetime:
    """The moment before which a karte neither updated nor confirmed counts as stale."""
    today = today or timezone.localdate()
    month = today.month - months
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(today.day, 28)
    return timezone.make_aware(datetime.datetime(year, month, day))


def stale_customers(
    user: User, *, months: int, owner_id: int | None = None, unowned: bool = False
) -> QuerySet[Customer]:
    """Kartes the user may see that nobody has updated or confirmed for `months`, oldest first."""
    cut = stale_since(months)
    qs = customer_visible(user).filter(
        Q(updated_at__lt=cut) & (Q(last_confirmed_at__isnull=True) | Q(last_confirmed_at__lt=cut))
    )
    if unowned:
        qs = qs.filter(owner__isnull=True)
    elif owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    return qs.select_related("owner").order_by("updated_at", "pk")


@dataclass(frozen=True)
class OwnerCount:
    owner: User | None
    stale: int


def stale_by_owner(user: User, *, months: int) -> list[OwnerCount]:
    counts = (
        stale_customers(user, months=months)
        .order_by()
        .values("owner")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    owners = User.objects.in_bulk([row["owner"] for row in counts if row["owner"]])
    return [OwnerCount(owners.get(row["owner"]), row["n"]) for row in counts]
