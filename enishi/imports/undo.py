"""Taking an import back as a whole (a background task; also what a failed run does itself).

Kartes and activities the import created are removed — unless someone has worked on them
since (a newer version, or records people added to them: activities, tasks, deals, inquiries,
orders, contracts, contact persons); kartes it updated get back the values they had, as stored
with each row — unless someone changed them since. What is left as it is, and why, is reported:
`kept_count` records (kartes, activities, contracts or orders, and companies the import made
for the persons of the file), each listed with its row's `number` and `line` (none for such a
company) and the reason, which names what was added to a karte since (how many of each kind);
`kept_rows`, the rows of the file whose records stayed (an order of several lines is one record
and several rows), and `kept_companies`. The run's counts then say `kept` and `undone` rows,
and `written`: what of the import is still there (the kept rows and companies).
Every removal and restore is recorded in the history (action "import_undo", the import's
batch). Chunks are transactions of their own, so an interrupted undo continues where it stopped.

`plan` walks the same steps without writing and says what an undo started now would do (how
many records go, how many kartes get their values back, how many stay and why): the screens
and the API show it and undo only once the person confirms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop, ngettext, npgettext_lazy
from django.utils.translation import gettext_lazy as _

from enishi.accounts.models import User
from enishi.core.later import Message, as_text, dated, join, later, stored, translated
from enishi.customers.models import Customer, Tag
from enishi.customers.selectors import customer_visible
from enishi.customers.services import apply_derived_fields, customers_reindex
from enishi.history.models import HistoryEntry
from enishi.history.services import history_batch, history_record, snapshot
from enishi.imports import bulk, conf
from enishi.imports.models import ImportCompany, ImportRow, ImportRun
from enishi.imports.records import SNAPSHOT_FIELDS, from_json

Result = ImportRow.Result
UNDONE = "undone"
KEPT = "kept"
MAX_LISTED = 500
# Records people make about a karte: while any exists, a karte the import created stays.
WORK_APPS = {"activities", "deals", "inquiries", "sales", "customers"}
# What the steps read of a row (its cells and checked values are most of its weight).
ROW_FIELDS = ("line", "result_id", "version_after", "before", "match_id")
# What the undo says, kept for later (`core.later`): the report and the rows read in the
# reader's language, whoever undid the import.
CHANGED = _("Changed since the import.")
UNSEEN = _("You can no longer see this karte.")
REMOVED = _("Removed by the undo.")
ADDED = _("Records were added to it since the import: %(what)s.")
# Stored by reports made before the undo said what was added (kept for them, `core.later`).
gettext_noop(
    "Records were added to it since the import (activities, tasks, deals, orders or contact persons)."
)
# What people add to a karte, by (app label, model, the link's field): its key in the reason.
ADDED_KINDS = {
    ("activities", "activity", "customer"): "activity",
    ("activities", "task", "customer"): "task",
    ("deals", "deal", "customer"): "deal",
    ("inquiries", "inquiry", "customer"): "inquiry",
    ("sales", "order", "customer"): "order",
    ("sales", "contract", "customer"): "contract",
    ("customers", "customer", "company"): "contact",
    ("customers", "customer", "parent"): "subsidiary",
}


def _added(kinds: Counter[str]) -> Message:
    """Why a karte stays: what was added to it since the import, how many of each kind."""
    parts = []
    for kind in (*dict.fromkeys(ADDED_KINDS.values()), "other"):
        n = kinds.get(kind, 0)
        if not n:
            continue
        if kind == "activity":
            part = npgettext_lazy("added since", "%(count)s activity", "%(count)s activities", n)
        elif kind == "task":
            part = npgettext_lazy("added since", "%(count)s task", "%(count)s tasks", n)
        elif kind == "deal":
            part = npgettext_lazy("added since", "%(count)s deal", "%(count)s deals", n)
        elif kind == "inquiry":
            part = npgettext_lazy("added since", "%(count)s inquiry", "%(count)s inquiries", n)
        elif kind == "order":
            part = npgettext_lazy("added since", "%(count)s order", "%(count)s orders", n)
        elif kind == "contract":
            part = npgettext_lazy("added since", "%(count)s contract", "%(count)s contracts", n)
        elif kind == "contact":
            part = npgettext_lazy(
                "added since", "%(count)s contact person", "%(count)s contact persons", n
            )
        elif kind == "subsidiary":
            part = npgettext_lazy(
                "added since", "%(count)s subsidiary", "%(count)s subsidiaries", n
            )
        else:
            part = npgettext_lazy(
                "added since", "%(count)s other record", "%(count)s other records", n
            )
        parts.append(later(part, count=n))
    return later(ADDED, what=join(parts))


@dataclass
class _Pass:
    """One walk through the import's rows: the undo itself, or (write=False) its plan, which
    decides every row the same way and writes nothing."""

    run: ImportRun
    actor: User
    report: dict[str, Any]
    write: bool = True
    # Planning: kartes an earlier step counts as removed, or puts back under their old company
    # (the undo has done so by then): they no longer keep a company the import created.
    leaving: set[int] = field(default_factory=set)


@dataclass
class UndoPlan:
    """What an undo started now would do. `remove` counts records of the import's target
    (kartes, activities, contracts or orders); `restore`, kartes the import updated that get
    their values back; `keep`, records changed or worked on since, left as they are (the
    first MAX_LISTED of them in `kept`, with the reason)."""

    target: str
    remove: int = 0
    restore: int = 0
    keep: int = 0
    kept: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return bool(self.remove or self.restore)

    def sentences(self) -> list[str]:
        """The plan in sentences, for the confirmation on the screen and in the API's answer."""
        n = self.remove
        lines = []
        if self.target == "activities":
            removes = ngettext(
                "%(count)s activity this import created will be deleted, with its follow-up task.",
                "%(count)s activities this import created will be deleted, with their follow-up tasks.",
                n,
            )
        elif self.target == "contracts":
            removes = ngettext(
                "%(count)s contract this import created will be deleted, with its renewal reminder.",
                "%(count)s contracts this import created will be deleted, with their renewal reminders.",
                n,
            )
        elif self.target == "orders":
            removes = ngettext(
                "%(count)s order this import created will be deleted, with its lines.",
                "%(count)s orders this import created will be deleted, with their lines.",
                n,
            )
        else:
            removes = ngettext(
                "%(count)s karte this import created will be deleted.",
                "%(count)s kartes this import created will be deleted.",
                n,
            )
        if n:
            lines.append(removes % {"count": f"{n:,}"})
        if self.restore:
            lines.append(
                ngettext(
                    "%(count)s karte this import updated will get its previous values back.",
                    "%(count)s kartes this import updated will get their previous values back.",
                    self.restore,
                )
                % {"count": f"{self.restore:,}"}
            )
        if self.keep:
            lines.append(
                ngettext(
                    "%(count)s record was changed or worked on since the import and will be kept as it is.",
                    "%(count)s records were changed or worked on since the import and will be kept as they are.",
                    self.keep,
                )
                % {"count": f"{self.keep:,}"}
            )
        if not self.changes_anything:
            lines.append(gettext("Nothing will be deleted or restored."))
        return lines


def report_for_reader(report: dict[str, Any] | None) -> dict[str, Any]:
    """An undo's report (or a plan's `kept`) as the reader reads it: each kept record's name
    and reason in the active language (reports stored before hold text: shown as it is), the
    records in the order of the file."""
    report = dict(report or {})
    if "kept" in report:
        report["kept"] = kept_for_reader(report["kept"])
    return report


def report_of(run: ImportRun) -> dict[str, Any]:
    """The run's undo report as the reader reads it (`report_for_reader`), with the kept rows
    and companies counted for a report stored before it counted them (zeros: no undo yet)."""
    report = report_for_reader(_report(run.undo_report))
    if "kept_rows" not in report:
        report["kept_rows"] = run.rows.filter(result=KEPT).count() if run.undo_report else 0
        report["kept_companies"] = sum(1 for k in report["kept"] if k["line"] is None)
    return report


def kept_for_reader(kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Kept records by their line in the file (companies the import made, without one, last),
    each with the row's `number` (as the rows are numbered: GET /imports/{id}/rows) and its
    `line` in the file (reports stored before said the line only, as `row`)."""
    read = []
    for k in kept:
        line = k.get("line", k.get("row"))
        read.append(
            {
                "number": k.get("number"),
                "line": line,
                "id": k.get("id"),
                "name": translated(k.get("name", "")),
                "reason": translated(k.get("reason", "")),
            }
        )
    return sorted(read, key=lambda k: (k["line"] is None, k["line"] or 0))


def _report(saved: dict[str, Any] | None = None) -> dict[str, Any]:
    report = dict(saved or {})
    report.setdefault("removed", 0)
    report.setdefault("restored", 0)
    report.setdefault("kept", [])
    report.setdefault("kept_count", 0)
    report.setdefault("kept_companies", 0)
    return report


def _keep(report: dict, row: Any, pk: int, name: Any, reason: Any) -> None:
    """A record left as it is, with its row's number and line in the file (none: a company the
    import made), its name and the reason stored for later (`core.later`)."""
    report["kept_count"] += 1
    if row is None:
        report["kept_companies"] += 1
    if len(report["kept"]) < MAX_LISTED:
        report["kept"].append(
            {
                "number": row.number if row is not None else None,
                "line": row.line if row is not None else None,
                "id": pk,
                "name": stored(name),
                "reason": stored(reason),
            }
        )


def _removal(p: _Pass, record, changes: dict) -> HistoryEntry:
    """The history entry of a record of a karte (contract, order) the undo removes."""
    return bulk.new(
        HistoryEntry,
        batch=p.run.batch,
        actor=p.actor,
        via=HistoryEntry.Via.IMPORT,
        action=HistoryEntry.Action.IMPORT_UNDO,
        model=record._meta.label_lower,
        object_id=record.pk,
        customer_id=record.customer_id,
        object_repr=str(record)[:200],
        changes=changes,
    )


def _changed_since(updated_by: User | None, updated_at) -> Message:
    """Who changed it and when, the moment written in the reader's date style when read."""
    return later(
        _("Changed since the import (by %(who)s, %(when)s)."),
        who=updated_by.label if updated_by is not None else _("someone"),
        when=dated(updated_at),
    )


def _later_changes(p: _Pass, kartes: dict[int, int]) -> dict[int, Message | None]:
    """Of {karte id: its version now} whose version differs from the one the import left: the
    reason each stays, or None when its values are back to what the import wrote (a change and
    its undo since, such as a house-style clean-up and its undo): nothing someone did would be
    lost, so the undo goes on with it.

    Read from the karte's history, not its updated_at/updated_by (a clean-up keeps those, so
    they may still name the import): the entries after the import's own, field by field the
    value before the first of them against the value now; the reason names the latest entry
    that changed a field which now differs."""
    if not kartes:
        return {}
    later: dict[int, list[tuple[Any, Any, dict]]] = {pk: [] for pk in kartes}
    entries = (
        HistoryEntry.objects.filter(
            model=Customer._meta.label_lower,
            object_id__among=list(kartes),
            at__gte=p.run.created_at,
        )
        .order_by("id")
        .values_list("object_id", "batch", "actor", "at", "changes")
    )
    for object_id, batch, actor, at, changes in entries.iterator():
        if batch == p.run.batch:
            later[object_id] = []  # the import's own (or this undo's): what follows is later
        else:
            later[object_id].append((actor, at, changes or {}))
    found = (
        Customer.objects.filter(pk__among=list(kartes))
        .select_related("updated_by")
        .prefetch_related("tags")
        .in_bulk()
    )
    users = User.objects.in_bulk({a for rows in later.values() for a, _at, _c in rows if a})
    reasons: dict[int, Message | None] = {}
    for pk in kartes:
        customer = found.get(pk)
        if not later[pk] or customer is None:
            # Changed without a word in the history: say what the karte itself says.
            if customer is not None:
                reasons[pk] = _changed_since(customer.updated_by, customer.updated_at)
            else:
                reasons[pk] = later(CHANGED)
            continue
        first: dict[str, Any] = {}
        for _actor, _at, changes in later[pk]:
            for name, pair in changes.items():
                if name not in first:
                    first[name] = pair[0] if isinstance(pair, list | tuple) and pair else None
        differs = set()
        for name, value in first.items():
            try:
                now = snapshot(customer, [name])[name]
            except FieldDoesNotExist:
                differs.add(name)
                continue
            if not _same(now, value):
                differs.add(name)
        if not differs:
            reasons[pk] = None
            continue
        actor, at = next(
            (a, at) for a, at, changes in reversed(later[pk]) if differs & changes.keys()
        )
        reasons[pk] = _changed_since(users.get(actor), at)
    return reasons


def _same(a: Any, b: Any) -> bool:
    """Two values as the history keeps them (a blank text and none are the same)."""
    return (a if a not in ("", None) else None) == (b if b not in ("", None) else None)


def _worked_on(
    p: _Pass, ids: set[int], leaving: AbstractSet[int] = frozenset()
) -> tuple[dict[int, Counter[str]], dict[int, list[str]]]:
    """Which of these kartes have records people added since the import (they must not vanish
    with them), with how many of each kind (`ADDED_KINDS`): {karte id: Counter}; and which
    keep kartes of this same import that stay (a contact person it created, left for a reason
    of its own): {karte id: their names}. Such a karte was not added since: it came with the
    file. Kartes in `ids` or `leaving` (going anyway) do not keep their company or parent."""
    if not ids:
        return {}, {}
    busy: dict[int, Counter[str]] = {}
    linked: list[tuple[int, str, int]] = []  # (karte, the link's column, the karte it names)
    for relation in Customer._meta.related_objects:
        if relation.many_to_many or relation.related_model._meta.app_label not in WORK_APPS:
            continue
        field_ = relation.field
        # The ids as one parameter (`__among`), not thousands; and as values, not a subquery,
        # which PostgreSQL may join badly right after an import (its statistics not yet
        # counting the new kartes: a nested loop over all of them, minutes long).
        found = relation.related_model._base_manager.filter(**{f"{field_.name}__among": ids})
        if relation.related_model is Customer:
            linked.extend(
                (pk, field_.attname, parent)
                for pk, parent in found.exclude(pk__among=ids).values_list("pk", field_.attname)
                if pk not in leaving
            )
            continue
        kind = _kind(relation.related_model, field_.name)
        for karte, n in found.values_list(field_.attname).annotate(n=Count("pk")).order_by():
            busy.setdefault(karte, Counter())[kind] += n
    own: dict[int, list[str]] = {}
    if linked:
        # A karte this import created, or linked when it updated it (the link is among the
        # values it replaced), belongs to the karte by the file, not by anyone since.
        before = dict(
            p.run.rows.filter(
                result_id__among=list({pk for pk, _a, _p in linked}),
                result__in=(Result.CREATED, Result.UPDATED, KEPT),
            ).values_list("result_id", "before")
        )
        names = dict(
            Customer._base_manager.filter(
                pk__among=list({pk for pk, _a, _p in linked if pk in before})
            ).values_list("pk", "name")
        )
        for pk, attname, parent in sorted(linked):
            replaced = before.get(pk)
            if replaced is not None and (not replaced or attname in replaced):
                own.setdefault(parent, []).append(names.get(pk, ""))
            else:
                kind = _kind(Customer, attname.removesuffix("_id"))
                busy.setdefault(parent, Counter())[kind] += 1
    return busy, own


def _kind(model, field_name: str) -> str:
    return ADDED_KINDS.get((model._meta.app_label, model._meta.model_name, field_name), "other")


def _steps(run: ImportRun) -> list[tuple[QuerySet[ImportRow], Any]]:
    """The rows to take back, in the order they are taken back, each with its step."""
    rows = run.rows.filter(result__in=(Result.CREATED, Result.UPDATED))
    if run.target == "activities":
        return [(rows.filter(result=Result.CREATED), _undo_activities)]
    if run.target == "contracts":
        return [(rows.filter(result=Result.CREATED), _undo_contracts)]
    if run.target == "orders":
        return [(rows.filter(result=Result.CREATED), _undo_orders)]
    return [
        (rows.filter(result=Result.UPDATED), _restore_customers),
        (
            rows.filter(result=Result.CREATED).exclude(kind=Customer.Kind.COMPANY),
            _remove_customers,
        ),
        (rows.filter(result=Result.CREATED, kind=Customer.Kind.COMPANY), _remove_customers),
    ]


def _chunks(queryset: QuerySet, size: int, key: str, fields: tuple[str, ...]) -> Iterator[list]:
    """The rows of `queryset` from the last to the first, `size` at a time, without locking
    or changing them (the plan walks rows that stay as they are): plain records with these
    fields, which the steps read as they read the models (cheaper by far to make)."""
    after = None
    while True:
        page = queryset if after is None else queryset.filter(**{f"{key}__lt": after})
        batch = [SimpleNamespace(**r) for r in page.order_by(f"-{key}").values(key, *fields)[:size]]
        if not batch:
            return
        yield batch
        after = getattr(batch[-1], key)


def plan(run: ImportRun, *, actor: User) -> UndoPlan:
    """What `undo` would do if it started now, found by the same checks, nothing written. The
    rows an interrupted undo has handled already are left out, as the undo leaves them."""
    with translation.override(run.language):
        p = _Pass(run=run, actor=actor, report=_report(), write=False)
        size = conf.chunk_rows()
        for queryset, step in _steps(run):
            for batch in _chunks(queryset, size, "number", ROW_FIELDS):
                step(p, batch)
        if run.target == "customers":
            for companies in _chunks(run.companies.all(), size, "id", ("customer_id",)):
                _remove_auto_companies(p, companies)
        return UndoPlan(
            target=run.target,
            remove=p.report["removed"],
            restore=p.report["restored"],
            keep=p.report["kept_count"],
            kept=p.report["kept"],
        )


def undo(run: ImportRun, *, actor: User, automatic: bool = False) -> dict[str, Any]:
    with translation.override(run.language), history_batch(run.batch):
        p = _Pass(run=run, actor=actor, report=_report(run.undo_report))
        report = p.report
        rows = run.rows.filter(result__in=(Result.CREATED, Result.UPDATED))
        total = rows.count() + run.companies.count()
        ImportRun.objects.filter(pk=run.pk).update(
            phase="undoing", progress_total=total, progress_done=0, heartbeat_at=timezone.now()
        )
        size = conf.chunk_rows()
        done = 0
        for queryset, step in _steps(run):
            while True:
                with transaction.atomic():
                    batch = list(
                        queryset.select_for_update(skip_locked=True)
                        .only("run", "number", *ROW_FIELDS)
                        .order_by("-number")[:size]
                    )
                    if not batch:
                        break
                    step(p, batch)
                    bulk.update(ImportRow, batch, ["result", "result_message"])
                    done += len(batch)
                    ImportRun.objects.filter(pk=run.pk).update(
                        progress_done=done, heartbeat_at=timezone.now(), undo_report=report
                    )
        if run.target == "customers":
            while True:
                with transaction.atomic():
                    companies = list(
                        run.companies.select_for_update(skip_locked=True).order_by("-id")[:size]
                    )
                    if not companies:
                        break
                    _remove_auto_companies(p, companies)
                    done += len(companies)
                    ImportRun.objects.filter(pk=run.pk).update(
                        progress_done=done, heartbeat_at=timezone.now(), undo_report=report
                    )
        with transaction.atomic():
            status = ImportRun.Status.FAILED if automatic else ImportRun.Status.UNDONE
            # Rows (the "kept" list of the rows) and records (the report's list) differ: an
            # order of several lines is one record; a company the import made is no row.
            report["kept_rows"] = run.rows.filter(result=KEPT).count()
            ImportRun.objects.filter(pk=run.pk).update(
                status=status,
                phase="",
                undo_report=report,
                undone_at=timezone.now(),
                undone_by=actor,
                heartbeat_at=timezone.now(),
                counts={
                    **run.counts,
                    # What of the import is still there: its rows kept, and companies it made.
                    "written": report["kept_rows"] + report["kept_companies"],
                    "kept": report["kept_rows"],
                    "undone": run.rows.filter(result=UNDONE).count(),
                },
            )
            run.refresh_from_db()
            history_record(
                actor=actor,
                via=HistoryEntry.Via.IMPORT,
                action=HistoryEntry.Action.IMPORT_UNDO,
                instance=run,
                customer_id=None,
                changes={
                    "file_name": [run.file_name, None],
                    "removed": [None, report["removed"]],
                    "restored": [None, report["restored"]],
                    "kept": [None, report["kept_count"]],
                },
            )
        return report


def _remove(p: _Pass, kartes: list[tuple[int, str]]) -> None:
    """Remove these kartes (id, name), each with its history entry."""
    p.report["removed"] += len(kartes)
    if not p.write:
        p.leaving.update(pk for pk, _name in kartes)
        return
    entries = []
    for pk, name in kartes:
        entries.append(
            HistoryEntry(
                batch=p.run.batch,
                actor=p.actor,
                via=HistoryEntry.Via.IMPORT,
                action=HistoryEntry.Action.IMPORT_UNDO,
                model="customers.customer",
                object_id=pk,
                customer_id=pk,
                object_repr=name[:200],
                changes={"name": [name, None]},
            )
        )
    Customer.objects.filter(pk__in=[pk for pk, _name in kartes]).delete()
    bulk.insert(HistoryEntry, entries)


def _removable(
    p: _Pass, candidates: dict[int, tuple[Any, int]]
) -> tuple[list[tuple[int, str]], set[int], dict[int, Message]]:
    """Of {karte id: (its row, none for a company the import made; the version the import
    left)}, the kartes nobody
    worked on since, as (id, name), the ids that are already gone, and why each other one
    stays. Read as plain values: an import's tens of thousands of kartes are compared, not
    used as models."""
    found = {
        pk: rest
        for pk, *rest in Customer.objects.filter(pk__among=list(candidates)).values_list(
            "pk", "name", "version", "deleted_at"
        )
    }
    # A karte this import created and nobody touched since goes even when the actor no longer
    # sees it (the file gave it to another team's owner): it is the actor's own upload.
    busy, own = _worked_on(p, set(found), p.leaving)
    deleted = {pk for pk in candidates if pk in found and found[pk][2] is not None}
    # A newer version: changed, unless the history shows its values back to the import's.
    reasons = _later_changes(
        p,
        {
            pk: found[pk][1]
            for pk, (_row, version) in candidates.items()
            if pk in found and pk not in deleted and found[pk][1] != version
        },
    )
    kept: dict[int, Message] = {pk: reason for pk, reason in reasons.items() if reason}
    kept.update({pk: later(CHANGED) for pk in deleted})
    removable = []
    gone = set()
    for pk, (row, _version) in candidates.items():
        if pk not in found:
            gone.add(pk)  # removed by someone, or by an earlier attempt of this undo
            continue
        name = found[pk][0]
        if pk not in kept and pk in busy:
            kept[pk] = _added(busy[pk])
        elif pk not in kept and pk in own:
            names = own[pk]
            shown = join([*names[:3], "…"] if len(names) > 3 else names)
            kept[pk] = later(
                _(
                    "Kartes from this import still belong to it and stay for their own reasons: %(names)s."
                ),
                names=shown,
            )
        if pk in kept:
            _keep(p.report, row, pk, name, kept[pk])
        else:
            removable.append((pk, name))
    return removable, gone, kept


def _remove_customers(p: _Pass, rows: list[ImportRow]) -> None:
    candidates = {r.result_id: (r, r.version_after or 1) for r in rows}
    removable, gone, kept = _removable(p, candidates)
    _remove(p, removable)
    done = {pk for pk, _name in removable} | gone
    removed = as_text(REMOVED)
    for row in rows:
        if row.result_id in done:
            row.result, row.result_message = UNDONE, removed
        else:
            row.result, row.result_message = KEPT, as_text(kept[row.result_id])


def _remove_auto_companies(p: _Pass, companies: list[ImportCompany]) -> None:
    candidates = {c.customer_id: (None, 1) for c in companies}
    removable, _gone, _kept = _removable(p, candidates)
    _remove(p, removable)
    if p.write:
        ImportCompany.objects.filter(pk__in=[c.pk for c in companies]).delete()


def _restore_customers(p: _Pass, rows: list[ImportRow]) -> None:
    current = customer_visible(p.actor).filter(pk__in=[r.result_id for r in rows])
    if p.write:
        current = (
            current.select_related("owner", "team", "company", "parent", "updated_by")
            .prefetch_related("tags")
            .select_for_update(of=("self",))
        )
    else:
        current = current.select_related("updated_by")
    found = {c.pk: c for c in current}
    restored = as_text(_("Restored to the values before the import."))
    changed = _later_changes(
        p,
        {
            row.result_id: found[row.result_id].version
            for row in rows
            if row.result_id in found and found[row.result_id].version != row.version_after
        },
    )
    for row in rows:
        customer = found.get(row.result_id)
        if customer is None:
            name = Customer.objects.filter(pk=row.result_id).values_list("name", flat=True).first()
            _keep(p.report, row, row.result_id, name or "", UNSEEN)
            row.result, row.result_message = KEPT, as_text(_("Kept: you can no longer see it."))
            continue
        reason = changed.get(customer.pk)
        if reason is not None:
            _keep(p.report, row, customer.pk, customer.name, reason)
            row.result, row.result_message = KEPT, as_text(reason)
            continue
        p.report["restored"] += 1
        row.result, row.result_message = UNDONE, restored
        if p.write:
            _restore(p, customer, row)
        elif row.before.keys() & {"company_id", "parent_id"}:
            # Put back under its old company, it no longer keeps a company the import created.
            p.leaving.add(customer.pk)


def _restore(p: _Pass, customer: Customer, row: ImportRow) -> None:
    before = snapshot(customer, SNAPSHOT_FIELDS)
    tags_before = sorted(t.name for t in customer.tags.all())
    name_before = customer.name
    for attname, value in row.before.items():
        if attname != "tags":
            # Setting an id (owner_id …) also forgets the related object read with it.
            setattr(customer, attname, from_json(attname, value))
    apply_derived_fields(customer)
    customer.version += 1
    customer.updated_by = p.actor
    customer.save()
    changes = {
        k: [before.get(k), v]
        for k, v in snapshot(customer, SNAPSHOT_FIELDS).items()
        if before.get(k) != v
    }
    if "tags" in row.before:
        customer.tags.set(Tag.objects.filter(name__in=row.before["tags"]))
        changes["tags"] = [", ".join(tags_before), ", ".join(sorted(row.before["tags"]))]
    history_record(
        actor=p.actor,
        via=HistoryEntry.Via.IMPORT,
        action=HistoryEntry.Action.IMPORT_UNDO,
        instance=customer,
        customer_id=customer.pk,
        changes=changes,
    )
    if customer.kind == Customer.Kind.COMPANY and customer.name != name_before:
        customers_reindex(customer.contacts.select_related("company"))


# A merge moves a karte's records to the karte kept, and its undo moves them back: each move a
# new version and a history entry in the merge's batch ("merge:<id>", "unmerge:<id>").
_MOVES = {HistoryEntry.Action.MERGE: "merge:", HistoryEntry.Action.UNMERGE: "unmerge:"}


def _moved_back(p: _Pass, model, records: dict[int, tuple[int, int, int, int | None]]) -> set[int]:
    """Of {record id: (its version now, the version the import left, its karte now, the karte
    the import put it on)}, those whose newer versions are only merges moving them to another
    karte and the undos of those merges moving them back: on their karte again, with the
    values the import wrote (a move changes nothing else), and nobody changed them.

    Read from their history: after the import's own entries, nothing but as many entries of
    each merge as of its undo, each with its new version."""
    candidates = {pk: r for pk, r in records.items() if r[0] != r[1] and r[2] == r[3]}
    if not candidates:
        return set()
    moves: dict[int, Counter[str]] = {pk: Counter() for pk in candidates}
    counts = dict.fromkeys(candidates, 0)
    other = set()
    entries = (
        HistoryEntry.objects.filter(
            model=model._meta.label_lower,
            object_id__among=list(candidates),
            at__gte=p.run.created_at,
        )
        .exclude(batch=p.run.batch)
        .values_list("object_id", "action", "batch")
    )
    for object_id, action, batch in entries.iterator():
        prefix = _MOVES.get(action)
        if prefix is None or not (batch or "").startswith(prefix):
            other.add(object_id)
            continue
        merge = batch.removeprefix(prefix)
        moves[object_id][merge] += 1 if action == HistoryEntry.Action.MERGE else -1
        counts[object_id] += 1
    return {
        pk
        for pk, (version, version_after, _now, _karte) in candidates.items()
        if pk not in other
        and counts[pk]
        and not any(moves[pk].values())
        and version == version_after + counts[pk]
    }


def _undo_activities(p: _Pass, rows: list[ImportRow]) -> None:
    from enishi.activities.models import Activity, Task

    activities = {a.pk: a for a in Activity.objects.filter(pk__in=[r.result_id for r in rows])}
    visible = set(
        customer_visible(p.actor)
        .filter(pk__in={a.customer_id for a in activities.values()})
        .values_list("pk", flat=True)
    )
    task_ids = [r.before.get("task_id") for r in rows if r.before.get("task_id")]
    tasks = {t.pk: t for t in Task.objects.filter(pk__in=task_ids)}
    # Moved away by a merge and back by its undo: not changed.
    moved_back = _moved_back(
        p,
        Activity,
        {
            a.pk: (a.version, row.version_after or 1, a.customer_id, row.match_id)
            for row in rows
            if (a := activities.get(row.result_id)) is not None
        },
    )
    tasks_back = _moved_back(
        p,
        Task,
        {
            t.pk: (t.version, 1, t.customer_id, row.match_id)
            for row in rows
            if (t := tasks.get(row.before.get("task_id"))) is not None
        },
    )
    removed = as_text(REMOVED)
    remove_activities, remove_tasks, entries = [], [], []
    for row in rows:
        activity = activities.get(row.result_id)
        if activity is None:
            row.result, row.result_message = UNDONE, removed
            continue
        task = tasks.get(row.before.get("task_id"))
        reason = None
        if activity.customer_id not in visible:
            reason = UNSEEN
        elif activity.deleted_at is not None or (
            activity.version != (row.version_after or 1) and activity.pk not in moved_back
        ):
            reason = CHANGED
        elif task is not None and (
            task.deleted_at is not None or (task.version != 1 and task.pk not in tasks_back)
        ):
            reason = _("Its follow-up task was changed or done since the import.")
        if reason is not None:
            _keep(p.report, row, activity.customer_id, _activity_name(activity), reason)
            row.result, row.result_message = KEPT, as_text(reason)
            continue
        remove_activities.append(activity.pk)
        for record in (activity, task):
            if record is None or not p.write:
                continue
            entries.append(
                HistoryEntry(
                    batch=p.run.batch,
                    actor=p.actor,
                    via=HistoryEntry.Via.IMPORT,
                    action=HistoryEntry.Action.IMPORT_UNDO,
                    model=record._meta.label_lower,
                    object_id=record.pk,
                    customer_id=record.customer_id,
                    object_repr=str(record)[:200],
                    changes={"subject" if record is activity else "title": [str(record), None]},
                )
            )
        if task is not None:
            remove_tasks.append(task.pk)
        row.result, row.result_message = UNDONE, removed
    p.report["removed"] += len(remove_activities)
    if p.write:
        Task.objects.filter(pk__in=remove_tasks).delete()
        Activity.objects.filter(pk__in=remove_activities).delete()
        bulk.insert(HistoryEntry, entries)


def _activity_name(activity) -> Any:
    """Its subject; without one its type, named in the reader's language."""
    if activity.subject:
        return activity.subject
    return dict(activity.Type.choices).get(activity.type) or str(activity)


def _undo_contracts(p: _Pass, rows: list[ImportRow]) -> None:
    """A contract nobody changed since goes, with the renewal reminder it made (if untouched)."""
    from enishi.activities.models import Task
    from enishi.sales.models import Contract

    contracts = {c.pk: c for c in Contract.objects.filter(pk__in=[r.result_id for r in rows])}
    visible = set(
        customer_visible(p.actor)
        .filter(pk__in={c.customer_id for c in contracts.values()})
        .values_list("pk", flat=True)
    )
    tasks: dict[int, list] = {}
    for task in Task.objects.filter(contract_id__in=list(contracts)):
        tasks.setdefault(task.contract_id, []).append(task)
    karte = {row.result_id: row.match_id for row in rows}
    # Moved away by a merge and back by its undo: not changed.
    moved_back = _moved_back(
        p,
        Contract,
        {
            c.pk: (c.version, row.version_after or 1, c.customer_id, row.match_id)
            for row in rows
            if (c := contracts.get(row.result_id)) is not None
        },
    )
    tasks_back = _moved_back(
        p,
        Task,
        {
            t.pk: (t.version, 1, t.customer_id, karte.get(t.contract_id))
            for found in tasks.values()
            for t in found
        },
    )
    removed_text = as_text(REMOVED)
    entries, removed = [], []
    for row in rows:
        contract = contracts.get(row.result_id)
        if contract is None:
            row.result, row.result_message = UNDONE, removed_text
            continue
        reason = None
        if contract.customer_id not in visible:
            reason = UNSEEN
        elif contract.deleted_at is not None or (
            contract.version != (row.version_after or 1) and contract.pk not in moved_back
        ):
            reason = CHANGED
        elif any(
            (t.version != 1 and t.pk not in tasks_back) or t.done_at or t.deleted_at
            for t in tasks.get(contract.pk, [])
        ):
            reason = _("Its renewal reminder was changed or done since the import.")
        if reason is not None:
            _keep(p.report, row, contract.customer_id, str(contract), reason)
            row.result, row.result_message = KEPT, as_text(reason)
            continue
        removed.append(contract.pk)
        if p.write:
            entries.append(_removal(p, contract, {"plan": [contract.plan, None]}))
        row.result, row.result_message = UNDONE, removed_text
    p.report["removed"] += len(removed)
    if p.write:
        Task.objects.filter(contract_id__in=removed).delete()
        Contract.objects.filter(pk__in=removed).delete()
        bulk.insert(HistoryEntry, entries)


def _undo_orders(p: _Pass, rows: list[ImportRow]) -> None:
    """An order nobody changed since goes with its lines. The rows of one order share its fate;
    an order that stays is listed once, by its first row."""
    from enishi.activities.models import Activity
    from enishi.sales.models import Order

    ids = {r.result_id for r in rows}
    orders = Order.objects.in_bulk(ids)
    visible = set(
        customer_visible(p.actor)
        .filter(pk__in={o.customer_id for o in orders.values()})
        .values_list("pk", flat=True)
    )
    linked = set(Activity._base_manager.filter(order_id__in=ids).values_list("order_id", flat=True))
    # Moved away by a merge and back by its undo: not changed. (The karte the import put an
    # order on is its rows' karte.)
    moves: dict[int, tuple[int, int, int, int | None]] = {}
    for row in rows:
        order = orders.get(row.result_id)
        if order is not None and (order.pk not in moves or moves[order.pk][3] is None):
            moves[order.pk] = (
                order.version,
                row.version_after or 1,
                order.customer_id,
                row.match_id,
            )
    moved_back = _moved_back(p, Order, moves)
    reasons: dict[int, Any] = {}
    for row in rows:
        order = orders.get(row.result_id)
        if order is not None and order.pk not in reasons:
            reason = None
            if order.customer_id not in visible:
                reason = UNSEEN
            elif order.deleted_at is not None or (
                order.version != (row.version_after or 1) and order.pk not in moved_back
            ):
                reason = CHANGED
            elif order.pk in linked:
                reason = _("Activities were linked to it since the import.")
            reasons[order.pk] = reason
    removed_text = as_text(REMOVED)
    entries, removed = [], []
    for row in rows:
        order = orders.get(row.result_id)
        if order is None:
            row.result, row.result_message = UNDONE, removed_text
            continue
        reason = reasons[order.pk]
        if reason is not None:
            if not row.before.get("line_of"):
                _keep(p.report, row, order.customer_id, str(order), reason)
            row.result, row.result_message = KEPT, as_text(reason)
            continue
        if order.pk not in removed:
            removed.append(order.pk)
            if p.write:
                changes = {"number": [order.number, None], "total": [str(order.total), None]}
                entries.append(_removal(p, order, changes))
        row.result, row.result_message = UNDONE, removed_text
    p.report["removed"] += len(removed)
    if p.write:
        Order.objects.filter(pk__in=removed).delete()
        bulk.insert(HistoryEntry, entries)
