"""Writing an import (a background task): the bulk path.

Rows are written in chunks, each chunk one short transaction that also stores every row's
result and the run's progress: other people's saves wait at most one chunk, an interrupted run
continues from its last chunk (`services.import_resume`), and a run that fails is taken back
by the task (`undo.undo`), so no half-finished import stays behind.

Creating: the values were checked by the analysis with the customer service's own rules
(`customer_clean`, `clean_value`, `apply_derived_fields`), so a chunk is inserted in bulk
(`bulk.insert`; the chunk's new kartes are added to the search index together at the end of
its transaction, `search_index.indexed_after_insert`), with its history entries and tags.
Updating re-reads each karte inside the transaction (locked on PostgreSQL; SQLite's IMMEDIATE
transaction holds the write lock), applies the row, derives the keys again and records
before → after, as `customer_update` does. Rows that are skipped or rejected get their result
before the chunks start (`_settle_rows_not_written`).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from enishi.accounts.models import User
from enishi.core.later import Message, as_text, field_messages, join, later, stored, translated
from enishi.customers import fields as custom_fields
from enishi.customers import search_index
from enishi.customers.models import Customer, Tag
from enishi.customers.search import build_search_documents
from enishi.customers.selectors import customer_visible
from enishi.customers.services import apply_derived_fields, customer_clean, customers_reindex
from enishi.history.models import HistoryEntry
from enishi.history.services import history_batch, history_record, snapshot
from enishi.imports import bulk, conf, decisions
from enishi.imports.checking import (
    ADDRESS_PARTS,
    ADDRESS_WHOLE,
    DERIVED_FIELDS,
    KEY_FIELDS,
    MATCH_VERSION,
)
from enishi.imports.companies import link_of
from enishi.imports.models import ImportCompany, ImportRow, ImportRun
from enishi.imports.records import (
    ROW_FIELDS,
    SNAPSHOT_FIELDS,
    from_json,
    is_empty,
    raw_values,
)
from enishi.quality import normalize

logger = logging.getLogger("enishi.imports")
Action = ImportRow.Action
Result = ImportRow.Result
VIA = HistoryEntry.Via.IMPORT
# How often a run refreshes its counts by result while it writes (they show on its page).
COUNTS_EVERY_SECONDS = 2.0


def problems_message(problems: list[list[Any]], labels: dict[str, Any]) -> Message:
    """A row's problems ([[field, stored message]]) as one message, each after the label of its
    column: "label: message / label: message" (`core.later`: translated when read)."""
    parts = []
    for key, message in problems:
        label = labels.get(key, "")
        parts.append(join([label, message], ": ") if label else message)
    return join(parts, " / ")


def problems_text(problems: list[list[Any]], labels: dict[str, Any]) -> str:
    return translated(problems_message(problems, labels))


def column_labels(run: ImportRun, *, for_later: bool = False) -> dict[str, Any]:
    """Target key → the header of the column mapped to it (how the person knows the column),
    else the field's name: translated now, or `for_later` in its stored form (`core.later`)."""
    from enishi.imports.targets import targets_for

    labels = {
        t.key: stored(t.label) if for_later else str(t.label)
        for t in targets_for(run.target, sensitive_allowed=True)
    }
    for header, key in zip(run.headers, run.mapping, strict=False):
        if key:
            labels[key] = header
    return labels


def _pending(run: ImportRun):
    rows = run.rows.filter(result="")
    if run.target == "customers":
        # Companies first: persons of the same file link to them. The cells as read from the file
        # are not needed to write (only to show the row), and are most of what a row weighs;
        # notes and match reasons are for the preview only.
        rows = rows.defer("values", "notes", "match_reasons")
        return [rows.filter(kind=Customer.Kind.COMPANY), rows.exclude(kind=Customer.Kind.COMPANY)]
    return [rows]


def execute(run: ImportRun) -> None:
    actor = run.created_by
    with translation.override(run.language), history_batch(run.batch):
        writer = {
            "activities": ActivityWriter,
            "contracts": ContractWriter,
            "orders": OrderWriter,
        }.get(run.target, CustomerWriter)(run, actor)
        ImportRun.objects.filter(pk=run.pk).update(phase="writing", heartbeat_at=timezone.now())
        size = conf.chunk_rows()
        if run.target == "customers":
            _settle_rows_not_written(run, writer, size)
        # Progress is counted as the chunks go; the counts by result (a query over every row
        # of the run) are refreshed now and then, and exactly at the end.
        done = run.rows.exclude(result="").count()
        counted_at = time.monotonic()
        for queryset in _pending(run):
            while True:
                with transaction.atomic():
                    # Read inside the transaction (locked): a second worker that continued an
                    # import thought interrupted can never take the same rows.
                    rows = list(
                        queryset.select_for_update(skip_locked=True).order_by("number")[:size]
                    )
                    if not rows:
                        break
                    writer.write(rows)
                    bulk.update(
                        ImportRow,
                        rows,
                        ["result", "result_id", "result_message", "before", "version_after"],
                    )
                    done += len(rows)
                    progress: dict[str, Any] = {
                        "progress_done": min(done, run.row_count),
                        "heartbeat_at": timezone.now(),
                    }
                    if time.monotonic() - counted_at >= COUNTS_EVERY_SECONDS:
                        progress["counts"] = writer.counts()
                        counted_at = time.monotonic()
                    ImportRun.objects.filter(pk=run.pk).update(**progress)
        with transaction.atomic():
            counts = writer.counts()
            # The checked values were only needed to write (and to continue an interrupted
            # run); what undo needs is in each row's result and `before`.
            run.rows.exclude(data={}).update(data={})
            ImportRun.objects.filter(pk=run.pk).update(
                status=ImportRun.Status.DONE,
                phase="",
                counts=counts,
                progress_done=run.row_count,
                finished_at=timezone.now(),
                heartbeat_at=timezone.now(),
            )
            run.refresh_from_db()
            history_record(
                actor=actor,
                via=VIA,
                action=HistoryEntry.Action.IMPORT,
                instance=run,
                customer_id=None,
                changes={
                    "file_name": [None, run.file_name],
                    "target": [None, run.get_target_display()],
                    **{k: [None, v] for k, v in counts.items() if v and k != "written"},
                },
            )


def _settle_rows_not_written(run: ImportRun, writer: _Writer, size: int) -> None:
    """Rows the rules or the person skip, and rows with problems, get their result here without
    being read whole: a file's repeats and rejects can be half of it, and their checked values
    are most of what reading a row costs. Rows about to be written still decide for themselves
    in `triage` (a row to update whose karte is gone, a new karte missing what it needs)."""
    pending = run.rows.filter(result="")
    with transaction.atomic():
        pending.filter(decisions.action_q(Action.SKIP, writer.rules)).update(result=Result.SKIPPED)
    rejected = pending.filter(decisions.action_q(Action.REJECT, writer.rules))
    while True:
        with transaction.atomic():
            found = list(
                rejected.select_for_update(skip_locked=True)
                .order_by("number")
                .values_list("pk", "problems")[:size]
            )
            if not found:
                break
            rows = []
            for pk, problems in found:
                row = bulk.new(
                    ImportRow,
                    result=Result.REJECTED,
                    result_message=as_text(problems_message(problems, writer.labels)),
                )
                row.pk = pk
                rows.append(row)
            bulk.update(ImportRow, rows, ["result", "result_message"])


class _Writer:
    def __init__(self, run: ImportRun, actor: User):
        self.run = run
        self.actor = actor
        self.rules = decisions.rules_of(run)
        # Results are stored for later: their messages are read in each reader's language.
        self.labels = column_labels(run, for_later=True)
        self.users: dict[int, User] = {actor.pk: actor}

    def user(self, pk: int | None) -> User | None:
        if not pk:
            return None
        if pk not in self.users:
            self.users[pk] = User.objects.filter(pk=pk, is_active=True).first()
        return self.users[pk]

    def counts(self) -> dict[str, int]:
        from django.db.models import Count

        by_result = dict(
            self.run.rows.exclude(result="")
            .values_list("result")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts = {r: by_result.get(r, 0) for r in Result.values}
        counts["companies_created"] = self.run.companies.count()
        counts["written"] = (
            counts[Result.CREATED] + counts[Result.UPDATED] + counts["companies_created"]
        )
        return counts

    def triage(self, rows: list[ImportRow]) -> tuple[list[ImportRow], list[ImportRow]]:
        """(rows to create, rows to update); the others get their result here."""
        creates, updates = [], []
        for row in rows:
            action = decisions.effective_action(row.category, row.decision, self.rules)
            if action == Action.REJECT:
                row.result = Result.REJECTED
                row.result_message = as_text(problems_message(row.problems, self.labels))
            elif action == Action.SKIP:
                row.result = Result.SKIPPED
            elif action == Action.CREATE and row.data.get("_create_problems"):
                row.result = Result.REJECTED
                row.result_message = as_text(
                    problems_message(row.data["_create_problems"], self.labels)
                )
            elif action == Action.UPDATE and not row.match_id:
                row.result = Result.SKIPPED
            else:
                (creates if action == Action.CREATE else updates).append(row)
        return creates, updates

    def history(self, entries: list[HistoryEntry]) -> None:
        bulk.insert(HistoryEntry, entries)

    def entry(self, action: str, instance, customer_id: int, changes: dict) -> HistoryEntry:
        return bulk.new(
            HistoryEntry,
            batch=self.run.batch,
            actor=self.actor,
            via=VIA,
            action=action,
            model=instance._meta.label_lower,
            object_id=instance.pk,
            customer_id=customer_id,
            object_repr=str(instance)[:200],
            changes=changes,
        )


def company_gone(company: dict[str, Any]) -> Message:
    """Why a person row linked to a company karte that is no longer there was not imported."""
    link = link_of(company)
    values = {"name": link["name"], "id": company["id"]}
    if link["how"] == "chosen":
        return later(
            _(
                "Not imported: the company chosen for this row, %(name)s (#%(id)s), is no "
                "longer there or you can no longer see it. Check the file again."
            ),
            **values,
        )
    return later(
        _(
            "Not imported: the company karte this row is linked to, %(name)s (#%(id)s), is no "
            "longer there or you can no longer see it. Check the file again."
        ),
        **values,
    )


# --- customers -----------------------------------------------------------------------------------


class CustomerWriter(_Writer):
    def __init__(self, run: ImportRun, actor: User):
        super().__init__(run, actor)
        self.tags: dict[str, Tag] = {}
        self.definitions = {d.key: d for d in custom_fields.active_definitions()}

    def tag_objects(self, names: Iterable[str]) -> list[Tag]:
        wanted = []
        for raw in names:
            name = normalize.collapse_spaces(normalize.nfkc(raw))[:50]
            if name and name not in self.tags:
                wanted.append(name)
        if wanted:
            for tag in Tag.objects.filter(name__in=wanted):
                self.tags[tag.name] = tag
            for name in wanted:
                if name not in self.tags:
                    self.tags[name] = Tag.objects.get_or_create(name=name)[0]
        result = []
        for raw in names:
            name = normalize.collapse_spaces(normalize.nfkc(raw))[:50]
            if name and self.tags[name] not in result:
                result.append(self.tags[name])
        return result

    def write(self, rows: list[ImportRow]) -> None:
        creates, updates = self.triage(rows)
        creates, updates = self.without_taken_codes(creates), self.without_taken_codes(updates)
        # The chunk's new kartes go into the search index in one statement at the end (a
        # trigger per row costs 5–10× as much); they are findable as soon as the chunk commits.
        with search_index.indexed_after_insert(connection):
            companies = self.companies(
                [r for r in creates + updates if r.kind == Customer.Kind.PERSON]
            )
            # A person whose company karte is gone is not written without it (`companies`).
            creates = [r for r in creates if not r.result]
            updates = [r for r in updates if not r.result]
            if creates:
                self.create(creates, companies)
            if updates:
                self.update(updates, companies)

    def without_taken_codes(self, rows: list[ImportRow]) -> list[ImportRow]:
        """Rows whose customer code another karte was given after the check are skipped with
        a reason (the code is unique: writing them would fail the whole chunk)."""
        codes = {r.data["code"] for r in rows if r.data.get("code")}
        if not codes:
            return rows
        holders = dict(Customer.objects.filter(code__among=codes).values_list("code", "pk"))
        kept = []
        for row in rows:
            code = row.data.get("code")
            holder = holders.get(code) if code else None
            if holder is not None and holder != row.match_id:
                row.result = Result.SKIPPED
                row.result_message = as_text(
                    later(
                        _(
                            "Not imported: the customer code %(code)s was given to another "
                            "karte after the file was checked. Check the file again."
                        ),
                        code=code,
                    )
                )
                continue
            kept.append(row)
        return kept

    # -- companies that persons name --

    def companies(self, rows: list[ImportRow]) -> dict[int, Customer | None]:
        """The company karte of each person row (None: without a company), as the analysis
        linked it (`imports.companies`): an existing karte still visible, the karte a company
        row of the file became, the one the person chose, or a company created once per run.

        A row linked to an existing company karte (found by the check or chosen) that went to
        the trash, or that the importer can no longer see, since the check is skipped with the
        reason: it is never written without its company, nor with another one."""
        linked: dict[int, Any] = {}
        wanted_ids = {r.company["id"] for r in rows if r.company.get("id")}
        row_numbers = {r.company["row"] for r in rows if r.company.get("row")}
        by_row = {
            n: (res, rid, mid)
            for n, res, rid, mid in self.run.rows.filter(number__among=row_numbers).values_list(
                "number", "result", "result_id", "match_id"
            )
        }
        for result, result_id, match_id in by_row.values():
            if result in (Result.CREATED, Result.UPDATED, Result.UNCHANGED) and result_id:
                wanted_ids.add(result_id)
            elif match_id:
                wanted_ids.add(match_id)
        visible = {
            c.pk: c
            for c in customer_visible(self.actor)
            .filter(pk__among=wanted_ids, kind=Customer.Kind.COMPANY)
            .only("pk", "name", "kind")
        }
        to_create: dict[str, dict[str, Any]] = {}
        for row in rows:
            company = row.company
            target_id = company.get("id")
            if company.get("row"):
                result, result_id, match_id = by_row.get(company["row"], ("", None, None))
                target_id = (
                    result_id
                    if result_id and result in (Result.CREATED, Result.UPDATED, Result.UNCHANGED)
                    else match_id
                )
            if target_id and target_id in visible:
                linked[row.number] = visible[target_id]
            elif company.get("id"):
                row.result = Result.SKIPPED
                row.result_message = as_text(company_gone(company))
            elif company.get("choices"):
                # One of several companies of that name: only the one the person chose (or
                # none), never the first of them, never a new one.
                linked[row.number] = None
            elif company.get("name"):
                key = company.get("new") or normalize.company_name_key(company["name"])
                to_create.setdefault(key, company)
                linked[row.number] = key
            else:
                linked[row.number] = None
        created = self.create_companies(to_create)
        return {n: (created[v] if isinstance(v, str) else v) for n, v in linked.items()}

    def create_companies(self, wanted: dict[str, dict[str, Any]]) -> dict[str, Customer]:
        if not wanted:
            return {}
        found = {
            c.key: c.customer_id
            for c in ImportCompany.objects.filter(run=self.run, key__among=wanted)
        }
        existing = {
            c.pk: c
            for c in Customer.objects.filter(pk__in=found.values()).only("pk", "name", "kind")
        }
        result = {key: existing[pk] for key, pk in found.items() if pk in existing}
        codes = {c["code"] for key, c in wanted.items() if key not in result and c.get("code")}
        taken = set(Customer.objects.filter(code__in=codes).values_list("code", flat=True))
        new = []
        for key, company in wanted.items():
            if key in result:
                continue
            data = {
                "kind": Customer.Kind.COMPANY,
                "name": company["name"],
                "name_kana": company.get("kana", ""),
            }
            cleaned = customer_clean(data, kind=Customer.Kind.COMPANY)
            customer = bulk.new(
                Customer, **cleaned, owner=self.actor, created_by=self.actor, updated_by=self.actor
            )
            code = company.get("code", "")
            if code and code not in taken:
                customer.code = code
                taken.add(code)
            apply_derived_fields(customer)
            new.append((key, customer))
        if new:
            bulk.insert(Customer, [c for _k, c in new])
            bulk.insert(
                ImportCompany,
                [
                    bulk.new(ImportCompany, run=self.run, key=k, name=c.name, customer_id=c.pk)
                    for k, c in new
                ],
            )
            self.history(
                [
                    self.entry(
                        HistoryEntry.Action.CREATE,
                        c,
                        c.pk,
                        snapshot(c, SNAPSHOT_FIELDS, only_filled=True),
                    )
                    for _k, c in new
                ]
            )
            result.update(dict(new))
        return result

    # -- new kartes --

    def create(self, rows: list[ImportRow], companies: dict[int, Customer | None]) -> None:
        objects = []
        for row in rows:
            data = row.data
            customer = bulk.new(Customer, created_by=self.actor, updated_by=self.actor)
            for name in ROW_FIELDS + KEY_FIELDS:
                if name in data:
                    setattr(customer, name, from_json(name, data[name]))
            if "reading_key" not in data:  # a row checked before kartes had a reading key
                customer.reading_key = normalize.reading_key(customer.name_kana) or None
            customer.custom_fields = {
                k: v for k, v in (data.get("custom_fields") or {}).items() if not is_empty(v)
            }
            bulk.relate(customer, "owner", self.user(data.get("owner_id")) or self.actor)
            company = companies.get(row.number) if row.kind == Customer.Kind.PERSON else None
            bulk.relate(customer, "company", company)
            customer.search_text, customer.search_bigrams = build_search_documents(customer)
            objects.append(customer)
        bulk.insert(Customer, objects)
        through = Customer.tags.through
        links = []
        entries = []
        for row, customer in zip(rows, objects, strict=True):
            tags = self.tag_objects(row.data.get("tags") or [])
            links.extend(through(customer_id=customer.pk, tag_id=tag.pk) for tag in tags)
            changes = snapshot(customer, SNAPSHOT_FIELDS, only_filled=True)
            if tags:
                changes["tags"] = [None, ", ".join(sorted(t.name for t in tags))]
            entries.append(self.entry(HistoryEntry.Action.CREATE, customer, customer.pk, changes))
            row.result, row.result_id, row.version_after = (
                Result.CREATED,
                customer.pk,
                customer.version,
            )
        bulk.insert(through, links)
        self.history(entries)

    # -- kartes the rows update --

    def update(self, rows: list[ImportRow], companies: dict[int, Customer | None]) -> None:
        ids = [r.match_id for r in rows]
        current = {
            c.pk: c
            for c in customer_visible(self.actor)
            .filter(pk__in=ids)
            .select_related("owner", "team", "company", "parent", "updated_by")
            .prefetch_related("tags")
            .select_for_update(of=("self",))
        }
        changed: list[Customer] = []
        done: set[int] = set()
        entries = []
        fields: set[str] = set()
        renamed_companies = []
        clear = self.rules.get("empty") == "clear"
        for row in rows:
            customer = current.get(row.match_id)
            if customer is None:
                row.result = Result.SKIPPED
                row.result_message = as_text(
                    _("The karte is no longer there or you can no longer see it.")
                )
                continue
            if customer.pk in done:
                row.result = Result.SKIPPED
                row.result_message = as_text(
                    _("Another row of this file already updated this karte.")
                )
                continue
            data = row.data
            checked_version = data.get(MATCH_VERSION)
            if checked_version is not None and customer.version != checked_version:
                row.result = Result.SKIPPED
                row.result_message = as_text(
                    later(
                        _(
                            "Not updated: the karte was changed after the file was checked (by "
                            "%(user)s, %(when)s). Check the file again to update it with that "
                            "change in view."
                        ),
                        user=customer.updated_by.label if customer.updated_by else "—",
                        when=date_format(timezone.localtime(customer.updated_at), "Y-m-d H:i"),
                    )
                )
                continue
            values: dict[str, Any] = {}
            whole_address = data.get(ADDRESS_WHOLE, False)
            for name in ROW_FIELDS:
                if name in data and name != "kind":
                    value = from_json(name, data[name])
                    keep_old = not clear and not (whole_address and name in ADDRESS_PARTS)
                    if is_empty(value) and keep_old:
                        continue
                    values[name] = value
            if (
                whole_address
                and not data.get("postal_code")
                and customer.postal_code
                and (
                    values.get("prefecture", customer.prefecture) != customer.prefecture
                    or values.get("city", customer.city) != customer.city
                )
            ):
                # A new address in another place without a postal code: the old code would
                # point elsewhere (〒498-0047 with 北海道札幌市…), so it goes too.
                values["postal_code"] = ""
            if "owner_id" in data:
                owner = self.user(data["owner_id"])
                if owner is not None:
                    values["owner"] = owner
            company = companies.get(row.number)
            if company is not None and customer.kind == Customer.Kind.PERSON:
                values["company"] = company
            merged = dict(customer.custom_fields or {})
            for key, value in (data.get("custom_fields") or {}).items():
                if is_empty(value):
                    if clear:
                        merged.pop(key, None)
                    continue
                merged[key] = value
            missing = [
                d.label
                for d in self.definitions.values()
                if d.required and d.applies(customer.kind) and is_empty(merged.get(d.key))
            ]
            if missing:
                row.result = Result.REJECTED
                row.result_message = as_text(
                    later(
                        _("The karte would lack required fields: %(names)s."),
                        names="、".join(missing),
                    )
                )
                continue
            values["custom_fields"] = merged
            tags_before = sorted(t.name for t in customer.tags.all())
            tag_objects = None
            if data.get("tags"):
                tag_objects = self.tag_objects(data["tags"])
                if not clear:
                    tag_objects = list(
                        {t.pk: t for t in [*customer.tags.all(), *tag_objects]}.values()
                    )
            before = snapshot(customer, SNAPSHOT_FIELDS)
            attnames = [Customer._meta.get_field(n).attname for n in values]
            raw_before = raw_values(customer, attnames)
            name_before = customer.name
            for name, value in values.items():
                setattr(customer, name, value)
            apply_derived_fields(customer)
            after = snapshot(customer, SNAPSHOT_FIELDS)
            changes = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
            tags_after = (
                sorted(t.name for t in tag_objects) if tag_objects is not None else tags_before
            )
            if tags_after != tags_before:
                changes["tags"] = [", ".join(tags_before), ", ".join(tags_after)]
            if not changes:
                row.result, row.result_id = Result.UNCHANGED, customer.pk
                row.version_after = customer.version
                continue
            changed_attnames = {Customer._meta.get_field(k).attname for k in changes if k != "tags"}
            row.before = {k: v for k, v in raw_before.items() if k in changed_attnames}
            if "tags" in changes:
                row.before["tags"] = tags_before
                customer.tags.set(tag_objects)
            customer.version += 1
            customer.updated_by = self.actor
            customer.updated_at = timezone.now()
            fields.update(changed_attnames)
            changed.append(customer)
            done.add(customer.pk)
            entries.append(self.entry(HistoryEntry.Action.UPDATE, customer, customer.pk, changes))
            row.result, row.result_id, row.version_after = (
                Result.UPDATED,
                customer.pk,
                customer.version,
            )
            if customer.kind == Customer.Kind.COMPANY and customer.name != name_before:
                renamed_companies.append(customer)
        if changed:
            bulk.update(
                Customer,
                changed,
                sorted(fields | set(DERIVED_FIELDS) | {"version", "updated_by_id", "updated_at"}),
            )
            self.history(entries)
        for company in renamed_companies:
            customers_reindex(company.contacts.select_related("company"))


# --- activities ---------------------------------------------------------------------------------


class ActivityWriter(_Writer):
    def write(self, rows: list[ImportRow]) -> None:
        from enishi.activities.models import Activity, Task
        from enishi.activities.services import ACTIVITY_FIELDS, TASK_FIELDS

        creates, _updates = self.triage(rows)
        if not creates:
            return
        kartes = set(
            customer_visible(self.actor)
            .filter(pk__in={r.match_id for r in creates})
            .values_list("pk", flat=True)
        )
        activities = []
        kept = []
        for row in creates:
            if row.match_id not in kartes:
                row.result = Result.SKIPPED
                row.result_message = as_text(
                    _("The karte is no longer there or you can no longer see it.")
                )
                continue
            data = row.data
            staff = self.user(data.get("staff_id")) or self.actor
            activities.append(
                Activity(
                    customer_id=row.match_id,
                    type=data["type"],
                    direction=data.get("direction", ""),
                    occurred_at=datetime.datetime.fromisoformat(data["occurred_at"]),
                    staff=staff,
                    attendees=data.get("attendees", ""),
                    subject=data.get("subject", ""),
                    body=data.get("body", ""),
                    outcome=data.get("outcome", ""),
                    next_action=data.get("next_action", ""),
                    next_action_due=(
                        datetime.date.fromisoformat(data["next_action_due"])
                        if data.get("next_action_due")
                        else None
                    ),
                    created_by=self.actor,
                )
            )
            kept.append(row)
        bulk.insert(Activity, activities)
        tasks = [
            Task(
                customer_id=a.customer_id,
                title=a.next_action.strip(),
                due_on=a.next_action_due,
                assignee=a.staff,
                activity=a,
                created_by=self.actor,
            )
            for a in activities
            if a.next_action.strip()
        ]
        bulk.insert(Task, tasks)
        task_of = {t.activity_id: t for t in tasks}
        entries = []
        for row, activity in zip(kept, activities, strict=True):
            entries.append(
                self.entry(
                    HistoryEntry.Action.CREATE,
                    activity,
                    activity.customer_id,
                    snapshot(activity, ACTIVITY_FIELDS, only_filled=True),
                )
            )
            row.result, row.result_id, row.version_after = (
                Result.CREATED,
                activity.pk,
                activity.version,
            )
            task = task_of.get(activity.pk)
            if task is not None:
                row.before = {"task_id": task.pk}
                entries.append(
                    self.entry(
                        HistoryEntry.Action.CREATE,
                        task,
                        task.customer_id,
                        snapshot(task, TASK_FIELDS, only_filled=True),
                    )
                )
        self.history(entries)


# --- contracts ----------------------------------------------------------------------------------


class ContractWriter(_Writer):
    """Contracts come in hundreds, not hundred-thousands, and have their own rules (renewal
    reminders): each is made by `sales.services.contract_create`, inside the chunk's
    transaction and the import's history batch."""

    def write(self, rows: list[ImportRow]) -> None:
        from django.core.exceptions import ValidationError

        from enishi.imports.analysis import contract_values
        from enishi.sales.models import Product
        from enishi.sales.services import contract_create

        creates, _updates = self.triage(rows)
        if not creates:
            return
        kartes = {
            k.pk: k
            for k in customer_visible(self.actor).filter(pk__in={r.match_id for r in creates})
        }
        codes = {r.data["product_code"] for r in creates if r.data.get("product_code")}
        products = {p.code: p for p in Product.objects.filter(code__in=codes)}
        for row in creates:
            karte = kartes.get(row.match_id)
            if karte is None:
                row.result = Result.SKIPPED
                row.result_message = as_text(
                    _("The karte is no longer there or you can no longer see it.")
                )
                continue
            users = {pk: self.user(pk) for pk in [row.data.get("owner_id")] if pk}
            try:
                with transaction.atomic():
                    contract = contract_create(
                        actor=self.actor,
                        customer=karte,
                        data=contract_values(row.data, products, users),
                        via=VIA,
                    )
            except ValidationError as exc:
                row.result = Result.REJECTED
                row.result_message = as_text(
                    problems_message(
                        [[k, m] for k, ms in field_messages(exc).items() for m in ms], self.labels
                    )
                )
                continue
            row.result, row.result_id, row.version_after = (
                Result.CREATED,
                contract.pk,
                contract.version,
            )


# --- orders -------------------------------------------------------------------------------------

RESULT_FIELDS = ["result", "result_id", "result_message", "before", "version_after"]


class OrderWriter(_Writer):
    """Each order is made by `sales.services.order_create` (its lines priced, its tax computed
    per rate, its lines' summary written: the sales rules, not ours), inside the chunk's
    transaction and the import's history batch. The first row of an order makes it with all
    its lines; its other rows share the result, in the same transaction even when they lie
    beyond the chunk."""

    def write(self, rows: list[ImportRow]) -> None:
        from django.core.exceptions import ValidationError

        from enishi.imports.analysis import order_values
        from enishi.sales.models import Product
        from enishi.sales.services import order_create

        creates, _updates = self.triage(rows)
        heads = [r for r in creates if r.data.get("order_group", r.number) == r.number]
        chunk = {r.number: r for r in rows}
        wanted = {n for h in heads for n in h.data.get("order_rows", [])} - set(chunk)
        beyond = list(self.run.rows.filter(result="", number__in=wanted)) if wanted else []
        self.triage(beyond)
        members = {**chunk, **{r.number: r for r in beyond}}
        kartes = {
            k.pk: k for k in customer_visible(self.actor).filter(pk__in={r.match_id for r in heads})
        }
        products = Product.objects.in_bulk(
            {m.data["product_id"] for m in members.values() if m.data.get("product_id")}
        )
        for head in heads:
            group = [members[n] for n in head.data.get("order_rows", [head.number]) if n in members]
            karte = kartes.get(head.match_id)
            if karte is None:
                for member in group:
                    member.result = Result.SKIPPED
                    member.result_message = as_text(
                        _("The karte is no longer there or you can no longer see it.")
                    )
                continue
            header, lines = order_values(
                [m.data for m in group], products, {pk: self.user(pk) for pk in self._owners(head)}
            )
            taken = header.get("number", "")
            if head.category == ImportRow.Category.DUPLICATE:
                header["number"] = ""  # imported anyway: the order gets a number of its own
            try:
                with transaction.atomic():
                    order = order_create(
                        actor=self.actor, customer=karte, data=header, lines=lines, via=VIA
                    )
            except ValidationError as exc:
                message = as_text(
                    problems_message(
                        [[k, m] for k, ms in field_messages(exc).items() for m in ms], self.labels
                    )
                )
                for member in group:
                    member.result, member.result_message = Result.REJECTED, message
                continue
            for member in group:
                member.result, member.result_id = Result.CREATED, order.pk
                member.version_after = order.version
                member.before = {} if member is head else {"line_of": head.number}
            if taken and taken != order.number:
                head.result_message = as_text(
                    later(
                        _("The number %(number)s was taken: the order got the number %(new)s."),
                        number=taken,
                        new=order.number,
                    )
                )
        for row in creates:
            if not row.result:  # a line whose order was not written with it
                row.result = Result.SKIPPED
                row.result_message = as_text(_("Its order was not written."))
        if beyond:
            bulk.update(ImportRow, beyond, RESULT_FIELDS)

    def _owners(self, head: ImportRow) -> list[int]:
        return [head.data["owner_id"]] if head.data.get("owner_id") else []

    def counts(self) -> dict[str, int]:
        counts = super().counts()
        counts["orders_created"] = (
            self.run.rows.filter(result=Result.CREATED).values("result_id").distinct().count()
        )
        return counts
