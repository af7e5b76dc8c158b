"""Checking every row of an import (a background task) and deciding what would happen to it.

Rows are read and checked chunk by chunk (`pool.checked_chunks`: worker processes for big
files). For each chunk the parent asks the database once for the kartes that share an exact key
with any of its rows (customer code, corporate number, e-mail, phone, name or reading keys —
all indexed), only among the kartes the importing user may see, and scores those candidates with
the matching engine (`quality.match.score_pair`). After the last chunk, the rows of the file are
compared with each other (`quality.match.find_duplicates` over their keys) and the companies
persons name are resolved: an existing company, a company row of the same file, or a new one.

Only `ImportRow` rows are written here, never customer data: an analysis that stops half-way
is simply started again.
"""

from __future__ import annotations

import datetime
import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from enishi.accounts.models import User
from enishi.core.later import Message, as_text, field_messages, join_list, later, stored
from enishi.customers import fields as custom_fields
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_visible
from enishi.imports import bulk, conf, files, pool
from enishi.imports import companies as company_choice
from enishi.imports.checking import MATCH_VERSION, CheckContext, Checked, fold_user
from enishi.imports.models import ImportRow, ImportRun
from enishi.quality import match
from enishi.quality.similar import HINT_THRESHOLD

logger = logging.getLogger("enishi.imports")
Category = ImportRow.Category
WRITE_BATCH = 1000


class TooManyRows(Exception):
    pass


def reason_label(code: str) -> str:
    from django.utils.translation import gettext

    if code == "same_code":
        return gettext("Same customer code")
    if code == "same_contract":
        return gettext("The karte already has this contract (same plan and start)")
    if code == "already_imported":
        return gettext("Already imported: the karte has an order with this number")
    if code == "same_order":
        return gettext("The karte already has this order (same date and the same lines)")
    if code == "same_activity":
        return gettext("The karte already has this activity (same time, type and subject)")
    label = match.REASONS.get(code)
    return str(label) if label is not None else code


def user_names() -> dict[str, int]:
    """Every way a staff member may be named in a file → their id (0 when two share it)."""
    names: dict[str, int] = {}
    for user in User.objects.filter(is_active=True):
        for name in {user.username, user.display_name, user.get_full_name(), user.email}:
            key = fold_user(name or "")
            if not key:
                continue
            names[key] = user.pk if names.get(key, user.pk) == user.pk else 0
    return names


def check_context(run: ImportRun, actor: User) -> CheckContext:
    from enishi.core.permissions import can_view_sensitive

    sensitive = can_view_sensitive(actor)
    definitions = [
        {
            "key": d.key,
            "label_ja": d.label_ja,
            "label_en": d.label_en,
            "type": d.type,
            "required": d.required,
            "choices": d.choices,
            "applies_to": d.applies_to,
            "sensitive": d.sensitive,
        }
        for d in custom_fields.active_definitions()
        if sensitive or not d.sensitive
    ]
    return CheckContext(
        target=run.target,
        mapping=list(run.mapping),
        width=len(run.headers),
        default_kind=(run.options or {}).get("default_kind", "auto"),
        language=run.language,
        encoding=run.encoding if run.file_format == "csv" else "",
        definitions=definitions,
        users=user_names(),
    )


def estimate_rows(run: ImportRun, path) -> int:
    if run.file_format == "xlsx":
        rows = next((s["rows"] for s in run.sheets if s["name"] == run.sheet), 0)
        return max(0, rows - run.header_row)
    count, last = 0, b"\n"
    with files.open_binary(path) as fh:
        while block := fh.read(4 * 1024 * 1024):
            count += block.count(b"\n")
            last = block[-2:]
    # Lines, the last one counted whether or not the file ends with a line break. (A line
    # break inside a quoted cell makes this an overestimate; the count is corrected as rows
    # are read.)
    lines = count + (not last.rstrip(b"\x00").endswith(b"\n"))  # (UTF-16: "\n\x00")
    return max(1, lines - run.header_row)


def _limited(rows: Iterable[files.SourceRow], limit: int) -> Iterator[files.SourceRow]:
    for count, row in enumerate(rows, start=1):
        if count > limit:
            raise TooManyRows
        yield row


def _progress(run: ImportRun, **fields: Any) -> None:
    fields.setdefault("heartbeat_at", timezone.now())
    for name, value in fields.items():
        setattr(run, name, value)
    ImportRun.objects.filter(pk=run.pk).update(**fields)


def analyse(run: ImportRun) -> None:
    """Check every row and store what would happen to it; the run ends at the preview, or back
    at the mapping step with a message when the file cannot be imported."""
    from enishi.imports.services import layout_of, run_path

    actor = run.created_by
    with translation.override(run.language):
        run.rows.all().delete()
        run.companies.all().delete()
        path = run_path(run)
        layout = layout_of(run)
        try:
            estimate = estimate_rows(run, path)
        except files.ImportFileError as exc:
            _fail_analysis(run, exc.stored)
            return
        _progress(run, phase="checking", progress_done=0, progress_total=estimate, error="")
        limit = conf.max_rows()
        try:
            if estimate > limit:
                # Counting is cheap next to checking: a file that is too big says so at once.
                for _row in _limited(files.iter_rows(path, layout), limit):
                    pass
        except TooManyRows:
            _fail_analysis(run, too_many_rows_message(limit))
            return
        except files.ImportFileError as exc:
            _fail_analysis(run, exc.stored)
            return
        ctx = check_context(run, actor)
        parallel = estimate >= conf.parallel_min_rows() and conf.workers() > 1
        matcher = {
            "activities": ActivityMatcher,
            "contracts": ContractMatcher,
            "orders": OrderMatcher,
        }.get(run.target, CustomerMatcher)(run, actor)
        done = 0
        try:
            chunks = pool.checked_chunks(
                ctx, _limited(files.iter_rows(path, layout), limit), parallel=parallel
            )
            for checked in _batched(chunks, matcher.CHUNK):
                rows = matcher.chunk(checked)
                with transaction.atomic():
                    bulk.insert(ImportRow, rows)
                done += len(rows)
                _progress(run, progress_done=done, progress_total=max(estimate, done))
        except TooManyRows:
            _fail_analysis(run, too_many_rows_message(limit))
            return
        except files.ImportFileError as exc:
            _fail_analysis(run, exc.stored)
            return
        if done == 0:
            _fail_analysis(run, gettext_lazy("The file has no data rows below the header row."))
            return
        _progress(run, phase="comparing")
        matcher.finish()
        summary = dict(run.rows.values_list("category").annotate(n=Count("id")).order_by())
        summary["rows"] = done
        summary["new_companies"] = matcher.new_companies
        if getattr(matcher, "company_choices", 0):
            summary["company_choices"] = matcher.company_choices
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.PREVIEW,
            phase="",
            row_count=done,
            summary=summary,
            progress_done=done,
            progress_total=done,
            heartbeat_at=timezone.now(),
        )


def too_many_rows_message(limit: int) -> Message:
    return later(
        gettext_lazy(
            "The file has more than %(limit)s rows, the most one import takes (setting "
            "ENISHI_IMPORT_MAX_ROWS). Split it into several files: rows already imported "
            "are recognised when the next file is checked."
        ),
        limit=f"{limit:,}",
    )


def _batched(chunks: Iterable[list[Checked]], size: int) -> Iterator[list[Checked]]:
    buffer: list[Checked] = []
    for chunk in chunks:
        buffer.extend(chunk)
        if len(buffer) >= size:
            yield buffer
            buffer = []
    if buffer:
        yield buffer


def _fail_analysis(run: ImportRun, message: Any) -> None:
    """Back to the mapping step; `message` (any stored form, `core.later`) says why, in the
    language of whoever reads the run."""
    error = as_text(message)
    run.rows.all().delete()
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.MAPPING, phase="", error=error, heartbeat_at=timezone.now()
    )
    run.status, run.error = ImportRun.Status.MAPPING, error


def _row(run: ImportRun, checked: Checked) -> ImportRow:
    return bulk.new(
        ImportRow,
        run=run,
        number=checked.number,
        line=checked.line,
        kind=checked.kind,
        values=checked.values,
        data=checked.data,
        problems=checked.problems,
        notes=checked.notes,
        category=Category.INVALID if checked.problems else Category.NEW,
    )


def _apply_fixes(run: ImportRun, fixes: dict[int, dict[str, Any]]) -> None:
    """Write what the comparisons after the last chunk found (`name: value`, or `name+: items`
    to add to a list) without reading the rows back: only the lists that grow are read."""
    appended = {name for fix in fixes.values() for name in fix if name.endswith("+")}
    current: dict[str, dict[int, list]] = {}
    for name in appended:
        field = name.removesuffix("+")
        numbers = {n for n, fix in fixes.items() if name in fix}
        current[field] = dict(run.rows.filter(number__among=numbers).values_list("number", field))
    # One UPDATE per set of fields written, the rows of each sent together.
    by_fields: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)
    for number, fix in fixes.items():
        values: dict[str, Any] = {}
        for name, value in fix.items():
            if name.endswith("+"):
                field = name.removesuffix("+")
                values[field] = current[field].get(number, []) + value
            else:
                values[name] = value
        if values:
            names = tuple(sorted(values))
            by_fields[names].append([*(values[n] for n in names), run.pk, number])
    with transaction.atomic():
        for names, rows in by_fields.items():
            bulk.update_where(ImportRow, names, ("run", "number"), rows)


# --- customers -----------------------------------------------------------------------------------


class CustomerMatcher:
    CHUNK = 2000
    # Fields a candidate karte needs for matching and for the preview (not its documents).
    DEFER = ("search_text", "search_bigrams", "needs", "preferences", "notes", "custom_fields")

    def __init__(self, run: ImportRun, actor: User):
        self.run = run
        self.actor = actor
        self.visible = customer_visible(actor)
        self.candidate_keys: dict[int, Any] = {}
        self.file_codes: dict[str, int] = {}
        # The line in the file of rows that messages name (a person sees lines, not numbers).
        self.lines: dict[int, int] = {}
        self.companies_by_code: dict[str, dict | None] = {}
        # Every company the user may see with this name key (a name may be given to several).
        self.companies_by_key: dict[str, list[dict[str, Any]]] = {}
        # (key, name) → the existing companies that agree best with the name, and how well.
        self.company_best: dict[tuple[str, str], tuple[list[dict[str, Any]], int]] = {}
        self.file_company_by_code: dict[str, int] = {}
        # The company rows of the file by name key: [{"pk": row number, "name": …}].
        self.file_companies_by_key: dict[str, list[dict[str, Any]]] = {}
        # Person rows whose company is settled after the last chunk: (the company they name,
        # the existing companies that agree best with it, how well).
        self.pending: dict[int, tuple[dict[str, Any], list[dict[str, Any]], int]] = {}
        self.company_choices = 0  # person rows naming a company several kartes are called
        self.keys: list[Any] = []
        self.categories: dict[int, str] = {}
        self.new_companies = 0

    # -- per chunk --

    def _candidates(
        self, rows: list[Checked]
    ) -> tuple[dict[str, dict[Any, list]], dict[int, Customer]]:
        wanted: dict[str, set] = defaultdict(set)
        for c in rows:
            lookup = c.lookup
            for name in ("code", "corporate_number", "name_key", "reading_key"):
                if lookup.get(name):
                    wanted[name].add(lookup[name])
            wanted["e164"].update(lookup.get("e164") or [])
            wanted["emails"].update(lookup.get("emails") or [])
        q = Q(pk__in=[])
        for name in ("code", "corporate_number", "name_key", "reading_key"):
            if wanted[name]:
                q |= Q(**{f"{name}__among": wanted[name]})
        if wanted["e164"]:
            phones = wanted["e164"]
            q |= Q(phone_e164__among=phones) | Q(mobile_e164__among=phones)
        if wanted["emails"]:
            # Either address of the row against either address of a karte.
            emails = wanted["emails"]
            q |= Q(email_key__among=emails) | Q(email_alt_key__among=emails)
        found = {
            c.pk: c for c in self.visible.filter(q).select_related("company").defer(*self.DEFER)
        }
        index: dict[str, dict[Any, list]] = defaultdict(lambda: defaultdict(list))
        for customer in found.values():
            for name in ("code", "corporate_number", "name_key", "reading_key"):
                value = getattr(customer, name)
                if value:
                    index[name][value].append(customer)
            for phone in {customer.phone_e164, customer.mobile_e164} - {""}:
                index["e164"][phone].append(customer)
            for email in {customer.email_key, customer.email_alt_key} - {"", None}:
                index["emails"][email].append(customer)
        return index, found

    def _keys_of(self, customer: Customer):
        keys = self.candidate_keys.get(customer.pk)
        if keys is None:
            keys = self.candidate_keys[customer.pk] = match.record_keys(
                match.customer_record(customer)
            )
        return keys

    def _taken_codes(self, codes: set[str]) -> dict[str, int]:
        if not codes:
            return {}
        return dict(Customer.objects.filter(code__among=codes).values_list("code", "pk"))

    def _existing_companies(self, rows: list[Checked]) -> None:
        codes = {c.company["code"] for c in rows if c.company.get("code")}
        keys = {c.company["key"] for c in rows if c.company.get("key")}
        codes -= set(self.companies_by_code)
        keys -= set(self.companies_by_key)
        if not codes and not keys:
            return
        found = (
            self.visible.filter(kind=Customer.Kind.COMPANY)
            .filter(Q(code__among=codes) | Q(name_key__among=keys))
            .order_by("pk")
            .values("pk", "code", "name", "name_key", "prefecture", "city")
        )
        for code in codes:
            self.companies_by_code[code] = None
        for key in keys:
            self.companies_by_key[key] = []
        for company in found:
            if company["code"] in codes and self.companies_by_code.get(company["code"]) is None:
                self.companies_by_code[company["code"]] = company
            if company["name_key"] in keys:
                self.companies_by_key[company["name_key"]].append(company)

    def chunk(self, checked: list[Checked]) -> list[ImportRow]:
        valid = [c for c in checked if c.valid]
        index, _found = self._candidates(valid)
        taken = self._taken_codes({c.lookup["code"] for c in valid if c.lookup.get("code")})
        self._existing_companies([c for c in valid if c.company])
        rows = []
        for c in checked:
            row = _row(self.run, c)
            rows.append(row)
            if row.category == Category.INVALID:
                continue
            self._decide(c, row, index, taken)
            if row.category == Category.INVALID:
                continue
            self.categories[c.number] = row.category
            c.keys.id = c.number
            self.keys.append(c.keys)
            if c.kind == Customer.Kind.COMPANY:
                self.lines[c.number] = c.line
                key = c.data.get("name_key")
                if key:
                    self.file_companies_by_key.setdefault(key, []).append(
                        {"pk": c.number, "name": c.data.get("name") or ""}
                    )
                if c.lookup.get("code"):
                    self.file_company_by_code.setdefault(c.lookup["code"], c.number)
            elif c.company:
                self._link_company(c, row)
        return rows

    def _decide(self, c: Checked, row: ImportRow, index, taken: dict[str, int]) -> None:
        lookup = c.lookup
        code = lookup.get("code", "")
        if code:
            first = self.file_codes.get(code)
            if first is not None:
                row.problems = row.problems + [
                    [
                        "code",
                        later(
                            gettext_lazy(
                                "This customer code is already used by row %(n)s of the file."
                            ),
                            n=self.lines[first],
                        ).stored,
                    ]
                ]
                row.category = Category.INVALID
                return
            self.file_codes[code] = c.number
            self.lines[c.number] = c.line
            same = [k for k in index["code"].get(code, []) if k.code == code]
            if same:
                self._matched(c, row, same[0], ["same_code"])
                return
            if code in taken:
                row.problems = row.problems + [
                    ["code", stored(gettext_lazy("Another customer already has this code."))]
                ]
                row.category = Category.INVALID
                return
        if c.kind == Customer.Kind.COMPANY and lookup.get("corporate_number"):
            same = [
                k
                for k in index["corporate_number"].get(lookup["corporate_number"], [])
                if k.kind == Customer.Kind.COMPANY
            ]
            if same:
                self._matched(c, row, same[0], ["same_corporate_number"])
                return
        candidates: dict[int, Customer] = {}
        for name in ("name_key", "reading_key"):
            for k in index[name].get(lookup.get(name) or None, []):
                candidates[k.pk] = k
        for email in lookup.get("emails") or []:
            for k in index["emails"].get(email, []):
                candidates[k.pk] = k
        for phone in lookup.get("e164") or []:
            for k in index["e164"].get(phone, []):
                candidates[k.pk] = k
        best: tuple[float, Customer | None, tuple] = (0.0, None, ())
        # A different customer code does not rule a karte out: files from another system
        # number their customers their own way (OLD-0002 for C-001885). The pair is judged as
        # the duplicates queue judges it, and the person decides.
        for candidate in sorted(candidates.values(), key=lambda k: k.pk):
            scored = match.score_pair(c.keys, self._keys_of(candidate))
            if scored.score > best[0]:
                best = (scored.score, candidate, scored.reasons)
        score, candidate, reasons = best
        # As the karte form hints: a company of the same name alone is worth a look.
        if candidate is not None and score >= HINT_THRESHOLD:
            row.match_id, row.match_score, row.match_reasons = candidate.pk, score, list(reasons)
            row.data = {**row.data, MATCH_VERSION: candidate.version}
            if score >= match.DEFAULT_THRESHOLD:
                row.category = Category.DUPLICATE
        self._create_problems(c, row)

    def _create_problems(self, c: Checked, row: ImportRow) -> None:
        if not c.create_problems:
            return
        if row.category == Category.NEW:
            row.problems = row.problems + c.create_problems
            row.category = Category.INVALID
        else:
            row.data = {**row.data, "_create_problems": c.create_problems}

    def _matched(self, c: Checked, row: ImportRow, karte: Customer, reasons: list[str]) -> None:
        row.category = Category.MATCHED
        row.match_id, row.match_score, row.match_reasons = karte.pk, 1.0, reasons
        row.data = {**row.data, MATCH_VERSION: karte.version}
        if karte.kind != c.kind:
            row.notes = row.notes + [
                [
                    "kind",
                    later(
                        gettext_lazy("The karte is a %(kind)s: it stays one."),
                        kind=Customer.Kind(karte.kind).label,
                    ).stored,
                ]
            ]
        self._create_problems(c, row)

    def _link_company(self, c: Checked, row: ImportRow) -> None:
        """The company karte a person row names (`imports.companies`): by code, else by the
        name that agrees best; settled after the last chunk unless an existing company has the
        very name (a company row of the file may agree better than a similar name)."""
        company = c.company
        found = self.companies_by_code.get(company["code"]) if company.get("code") else None
        if found is not None:
            row.company = {"id": found["pk"], "name": found["name"], "how": "code"}
            return
        if not company.get("key"):
            row.notes = row.notes + [
                [
                    "company_code",
                    stored(
                        gettext_lazy(
                            "No company you can see has this code: the person is imported "
                            "without a company."
                        )
                    ),
                ]
            ]
            return
        cache_key = (company["key"], company["name"])
        best = self.company_best.get(cache_key)
        if best is None:
            best = self.company_best[cache_key] = company_choice.best(
                company["name"], self.companies_by_key.get(company["key"]) or []
            )
        existing, level = best
        if existing and level == company_choice.EXACT:
            row.company = self._existing_link(company, existing, level)
            return
        self.pending[c.number] = (company, existing, level)

    def _existing_link(
        self, company: dict[str, Any], existing: list[dict[str, Any]], level: int
    ) -> dict[str, Any]:
        """The link to the one existing company that agrees best, or the choice between
        those that agree equally well."""
        if len(existing) == 1:
            found = existing[0]
            link = {"id": found["pk"], "name": found["name"], "how": company_choice.how(level)}
            if level != company_choice.EXACT:
                link["written"] = company["name"]
            return link
        self.company_choices += 1
        return {
            "choices": [company_choice.choice(found) for found in existing],
            "name": company["name"],
            "key": company["key"],
            "how": company_choice.how(level),
        }

    # -- after the last chunk --

    def finish(self) -> None:
        fixes: dict[int, dict[str, Any]] = defaultdict(dict)
        self._file_duplicates(fixes)
        self._resolve_companies(fixes)
        _apply_fixes(self.run, fixes)

    def _file_duplicates(self, fixes) -> None:
        if len(self.keys) < 2:
            return
        # Every core, as the duplicate scan does (forked processes sharing the keys; below
        # 20,000 rows one process is faster).
        groups = match.find_duplicates(self.keys, keys=self.keys, workers=conf.workers())
        for group in groups:
            members = sorted(group.members)
            # Each later row repeats the earlier row it matches best, for the reasons of that
            # pair alone (a group's pairs together may say both 会社名が一致 and 会社名が違う).
            best: dict[int, tuple[float, int, tuple[str, ...]]] = {}
            # A row joined to the group through later rows only: it repeats the first, for
            # the reasons of its strongest link.
            linked: dict[int, tuple[float, int, tuple[str, ...]]] = {}
            for a, b, found in group.pairs:
                earlier, later = min(a, b), max(a, b)
                if found.score > best.get(later, (-1.0, 0, ()))[0]:
                    best[later] = (found.score, earlier, found.reasons)
                if found.score > linked.get(earlier, (-1.0, 0, ()))[0]:
                    linked[earlier] = (found.score, members[0], found.reasons)
            for number in members[1:]:
                if self.categories.get(number) not in (Category.NEW, Category.DUPLICATE):
                    continue
                score, earlier, reasons = best.get(number) or linked[number]
                fixes[number].update(
                    category=Category.FILE_DUPLICATE,
                    duplicate_of=earlier,
                    match_reasons=list(reasons),
                    match_score=score,
                )

    def _resolve_companies(self, fixes) -> None:
        """The company of each person row not linked yet: a company row of the file with its
        code, else the company (of the file or existing) whose name agrees best — existing
        ones when equally good —, else a new company. What each row gets is shown by the
        preview (`imports.companies.link_of`)."""
        new: dict[str, dict[str, Any]] = {}
        for number, (company, existing, level) in self.pending.items():
            row_number = None
            if company.get("code"):
                row_number = self.file_company_by_code.get(company["code"])
            if row_number is None:
                in_file, file_level = company_choice.best(
                    company["name"], self.file_companies_by_key.get(company["key"]) or []
                )
                if in_file and file_level < level:
                    row_number = in_file[0]["pk"]
            if row_number is not None:
                fixes[number]["company"] = {
                    "row": row_number,
                    "line": self.lines[row_number],
                    "name": company["name"],
                }
                continue
            if existing:
                fixes[number]["company"] = self._existing_link(company, existing, level)
                continue
            first = new.setdefault(company["key"], dict(company))
            fixes[number]["company"] = {
                "new": company["key"],
                "name": first["name"],
                "kana": first.get("kana", ""),
                "code": first.get("code", ""),
            }
        codes = {c["code"] for c in new.values() if c.get("code")}
        taken = set(Customer.objects.filter(code__in=codes).values_list("code", flat=True)) | set(
            self.file_codes
        )
        for company in new.values():
            if company.get("code") in taken:
                company["code"] = ""
        for fix in fixes.values():
            company = fix.get("company") or {}
            if company.get("code") in taken:
                company["code"] = ""
        self.new_companies = len(new)


# --- activities ----------------------------------------------------------------------------------


def in_column_order(problems: list[list[Any]], column: dict[str, int]) -> list[list[Any]]:
    """A row's problems in the order of their columns in the file (`column`: target key →
    its column), those about no field first (the row as a whole), those of a field without a
    column last; in the order found otherwise."""

    def place(problem: list[Any]) -> tuple[int, int]:
        key = problem[0]
        if not key or key == NON_FIELD_ERRORS:
            return (0, 0)
        return (1, column[key]) if key in column else (2, 0)

    return sorted(problems, key=place)


class KarteMatcher:
    """Rows about a karte (activities, contracts): each finds its one karte among those the
    user may see, by customer code, else phone or e-mail (narrowed by name), else name."""

    CHUNK = 2000

    def __init__(self, run: ImportRun, actor: User):
        self.run = run
        self.actor = actor
        self.visible = customer_visible(actor)
        self.seen: dict[tuple, int] = {}
        self.new_companies = 0

    def chunk(self, checked: list[Checked]) -> list[ImportRow]:
        # Rows with problems find their karte too: the record's own rules are then tried on
        # what the row has, so a row shows all its problems at once, not one per upload.
        lookups = [c.lookup for c in checked if c.lookup]
        codes = {k["code"] for k in lookups if k.get("code")}
        phones = set(itertools.chain.from_iterable(k.get("e164") or [] for k in lookups))
        emails = {k["email_key"] for k in lookups if k.get("email_key")}
        names = set(itertools.chain.from_iterable(k.get("name_keys") or [] for k in lookups))
        q = Q(code__among=codes) | Q(email_key__among=emails) | Q(email_alt_key__among=emails)
        q |= Q(name_key__among=names)
        q |= Q(phone_e164__among=phones) | Q(mobile_e164__among=phones)
        kartes = list(self.visible.filter(q))
        self.kartes = {k.pk: k for k in kartes}
        rows = []
        invalid: list[tuple[ImportRow, Customer]] = []
        for c in checked:
            row = _row(self.run, c)
            rows.append(row)
            karte, problem = self._karte(c, kartes) if c.lookup else (None, None)
            if row.category == Category.INVALID:
                if karte is not None:
                    # Shown with the row ("Karte:"); nothing writes, counts or undoes a
                    # rejected row by it.
                    row.match_id = karte.pk
                    row.data = {**row.data, "customer_name": karte.name}
                    invalid.append((row, karte))
                elif problem and not any(key == "customer_code" for key, _m in row.problems):
                    row.problems = row.problems + [["customer_code", problem]]
                continue
            if karte is None:
                row.problems = row.problems + [["customer_code", problem]]
                row.category = Category.INVALID
                continue
            row.match_id = karte.pk
            row.data = {**row.data, "customer_name": karte.name}
        self.decide([r for r in rows if r.category != Category.INVALID])
        if invalid:
            self.more_problems(invalid)
        column = {key: i for i, key in enumerate(self.run.mapping) if key}
        for row in rows:
            if len(row.problems) > 1:
                row.problems = in_column_order(row.problems, column)
        return rows

    def more_problems(self, rows: list[tuple[ImportRow, Customer]]) -> None:
        """Rows with problems in their cells, with the karte each found: the kind of record's
        own rules may add what else is wrong (on fields without a problem yet)."""

    def decide(self, rows: list[ImportRow]) -> None:
        """What happens to a chunk's rows whose karte was found: each kind of record (the
        subclasses below) says."""
        raise NotImplementedError

    def _karte(self, c: Checked, kartes: list[Customer]) -> tuple[Customer | None, Any]:
        """(the row's karte, or None and the problem's stored message)."""
        lookup = c.lookup
        if lookup.get("code"):
            found = [k for k in kartes if k.code == lookup["code"]]
        else:
            found = []
            phones = set(lookup.get("e164") or [])
            if phones or lookup.get("email_key"):
                found = [
                    k
                    for k in kartes
                    if (phones & {k.phone_e164, k.mobile_e164})
                    or (
                        lookup.get("email_key")
                        and lookup["email_key"] in (k.email_key, k.email_alt_key)
                    )
                ]
            names = set(lookup.get("name_keys") or [])
            if names:
                by_name = [k for k in kartes if k.name_key in names]
                found = [k for k in found if k.name_key in names] or (found if found else by_name)
        if len(found) == 1:
            return found[0], ""
        if not found:
            return None, stored(
                gettext_lazy(
                    "No karte you can see matches this row (customer code, phone, e-mail or name)."
                )
            )
        return None, later(
            gettext_lazy(
                "Several kartes match this row (%(names)s): add a customer code column to say "
                "which."
            ),
            names="、".join(k.name for k in found[:3]),
        ).stored

    def finish(self) -> None:
        return None


class ActivityMatcher(KarteMatcher):
    def decide(self, rows: list[ImportRow]) -> None:
        """An activity the karte already has (same time, type and subject) is a duplicate."""
        from enishi.activities.models import Activity

        moments = {r.number: datetime.datetime.fromisoformat(r.data["occurred_at"]) for r in rows}
        # Aware datetimes compare (and hash) by the instant, whatever their time zone.
        existing = set(
            Activity.objects.filter(
                customer_id__in={r.match_id for r in rows},
                occurred_at__in=set(moments.values()),
                deleted_at__isnull=True,
            ).values_list("customer_id", "occurred_at", "type", "subject")
        )
        for row in rows:
            key = (row.match_id, moments[row.number], row.data["type"], row.data.get("subject", ""))
            if key in self.seen:
                row.category = Category.FILE_DUPLICATE
                row.duplicate_of = self.seen[key]
            elif key in existing:
                row.category = Category.DUPLICATE
                row.match_reasons = ["same_activity"]
            else:
                self.seen[key] = row.number


class _TryOnly(Exception):
    """Raised inside a savepoint to take back a trial write."""


class ContractMatcher(KarteMatcher):
    def decide(self, rows: list[ImportRow]) -> None:
        """Each contract is tried with `contract_create` in a savepoint that is rolled back, so
        the preview shows exactly the rules' problems; one the karte already has (same plan and
        start) is a duplicate."""
        from enishi.sales.models import Contract, Product

        codes = {r.data["product_code"] for r in rows if r.data.get("product_code")}
        products = {p.code: p for p in Product.objects.filter(code__in=codes)}
        existing = set(
            Contract.objects.filter(
                customer_id__in={r.match_id for r in rows}, deleted_at__isnull=True
            ).values_list("customer_id", "plan", "starts_on")
        )
        for row in rows:
            problems = contract_problems(self.actor, self.kartes[row.match_id], row.data, products)
            if problems:
                row.problems = row.problems + problems
                row.category = Category.INVALID
                continue
            plan = row.data.get("plan") or getattr(
                products.get(row.data.get("product_code")), "name", ""
            )
            starts = datetime.date.fromisoformat(row.data["starts_on"])
            key = (row.match_id, plan, starts)
            if key in self.seen:
                row.category = Category.FILE_DUPLICATE
                row.duplicate_of = self.seen[key]
            elif key in existing:
                row.category = Category.DUPLICATE
                row.match_reasons = ["same_contract"]
            else:
                self.seen[key] = row.number

    def more_problems(self, rows: list[tuple[ImportRow, Customer]]) -> None:
        from enishi.sales.models import Product

        codes = {r.data["product_code"] for r, _k in rows if r.data.get("product_code")}
        products = {p.code: p for p in Product.objects.filter(code__in=codes)}
        for row, karte in rows:
            known = {key for key, _message in row.problems}
            more = [
                problem
                for problem in contract_problems(self.actor, karte, row.data, products)
                if problem[0] not in known
            ]
            if more:
                row.problems = row.problems + more


def contract_values(
    data: dict[str, Any], products: dict[str, Any], users: dict[int, Any]
) -> dict[str, Any]:
    """A checked contract row as `contract_create` takes it."""
    values: dict[str, Any] = {}
    for name in ("plan", "note", "cancellation_reason", "auto_renew", "amount", "period"):
        if name in data and data[name] not in (None, ""):
            values[name] = data[name]
    for name in ("starts_on", "ends_on", "renews_on", "cancelled_on"):
        if data.get(name):
            values[name] = datetime.date.fromisoformat(data[name])
    if data.get("product_code"):
        values["product"] = products.get(data["product_code"])
    if data.get("owner_id"):
        values["owner"] = users.get(data["owner_id"])
    return values


def contract_problems(
    actor: User, karte: Customer, data: dict[str, Any], products
) -> list[list[Any]]:
    from django.core.exceptions import ValidationError

    from enishi.sales.services import contract_create

    if data.get("product_code") and data["product_code"] not in products:
        return [["product_code", stored(gettext_lazy("There is no product with this code."))]]
    users = (
        {data["owner_id"]: User.objects.filter(pk=data["owner_id"]).first()}
        if data.get("owner_id")
        else {}
    )
    try:
        with transaction.atomic():
            contract_create(
                actor=actor, customer=karte, data=contract_values(data, products, users)
            )
            raise _TryOnly
    except _TryOnly:
        return []
    except ValidationError as exc:
        return [
            [key, message] for key, messages in field_messages(exc).items() for message in messages
        ]


# --- orders --------------------------------------------------------------------------------------

# Where the order rules' problems belong: a line's field → its column, an order field → its column.
_ORDER_FIELD_KEYS = {"status": "order_status"}


class OrderMatcher(KarteMatcher):
    """Rows of orders, one line each: every row finds its karte and its product (by code, else
    by exact name; an unknown one leaves a line with its description only). After the last
    chunk the rows are grouped into orders — rows with the same order number for the same karte
    are the lines of one order, a row without a number is an order of its own — and each order
    is tried with `sales.services.order_create` in a savepoint that is rolled back, so the
    preview shows exactly the order rules' problems. An order is imported with all its lines or
    not at all. An order number the karte already has was imported before: a duplicate,
    skipped unless the person says otherwise."""

    def decide(self, rows: list[ImportRow]) -> None:
        from enishi.sales.models import Product

        codes = {r.data["product_code"] for r in rows if r.data.get("product_code")}
        names = {
            r.data["product_name"]
            for r in rows
            if r.data.get("product_name") and not r.data.get("product_code")
        }
        by_code: dict[str, Any] = {}
        by_name: dict[str, list[Any]] = defaultdict(list)
        for product in Product.objects.filter(Q(code__in=codes) | Q(name__in=names)):
            by_code[product.code] = product
            by_name[product.name].append(product)
        for row in rows:
            self._product(row, by_code, by_name)

    def _product(self, row: ImportRow, by_code, by_name) -> None:
        data = row.data
        code, name = data.get("product_code", ""), data.get("product_name", "")
        product = None
        if code:
            product = by_code.get(code)
        elif name:
            found = by_name.get(name, [])
            if len(found) > 1:
                row.problems = row.problems + [
                    [
                        "product_name",
                        later(
                            gettext_lazy(
                                "Several products are called “%(name)s”: use the product code."
                            ),
                            name=name,
                        ).stored,
                    ]
                ]
                row.category = Category.INVALID
                return
            product = found[0] if found else None
        if product is not None:
            data["product_id"] = product.pk
        elif code or name:
            key = "product_code" if code else "product_name"
            description = data.get("description") or name
            if not description:
                row.problems = row.problems + [
                    [key, stored(gettext_lazy("There is no product with this code."))]
                ]
                row.category = Category.INVALID
                return
            data["description"] = description
            row.notes = row.notes + [
                [
                    key,
                    later(
                        gettext_lazy(
                            "There is no product “%(product)s”: the line is imported with its "
                            "description only."
                        ),
                        product=code or name,
                    ).stored,
                ]
            ]

    def finish(self) -> None:
        from enishi.sales.models import Order, Product

        broken: dict[str, list[int]] = defaultdict(list)
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for row in self.run.rows.order_by("number").values(
            "number", "category", "match_id", "data"
        ):
            order_number = row["data"].get("number", "")
            if row["category"] == Category.INVALID:
                if order_number:
                    broken[order_number].append(row["number"])
                continue
            key = ("number", order_number) if order_number else ("row", row["number"])
            groups.setdefault((row["match_id"], *key), []).append(row)
        kartes_of: dict[str, set[int]] = defaultdict(set)
        for karte, kind, value in groups:
            if kind == "number":
                kartes_of[value].add(karte)
        existing: dict[str, int] = {}
        numbers = sorted(kartes_of)
        for start in range(0, len(numbers), WRITE_BATCH):
            existing.update(
                Order.objects.filter(number__in=numbers[start : start + WRITE_BATCH]).values_list(
                    "number", "customer_id"
                )
            )
        members = [m for group in groups.values() for m in group]
        products = Product.objects.in_bulk(
            {m["data"]["product_id"] for m in members if m["data"].get("product_id")}
        )
        owners = {m["data"]["owner_id"] for m in members if m["data"].get("owner_id")}
        users = User.objects.filter(is_active=True).in_bulk(owners)
        kartes = Customer.objects.in_bulk({m["match_id"] for m in members})
        on_file = self._orders_on_file(
            {
                (karte, group[0]["data"].get("ordered_on"))
                for (karte, kind, _value), group in groups.items()
                if kind == "row" and group[0]["data"].get("ordered_on")
            }
        )
        fixes: dict[int, dict[str, Any]] = {}
        for (karte_id, kind, value), group in groups.items():
            order_number = value if kind == "number" else ""
            head = group[0]["number"]
            for position, member in enumerate(group):
                data = {**member["data"], "order_group": head}
                if position == 0:
                    data["order_rows"] = [m["number"] for m in group]
                fixes[member["number"]] = {"data": data}
                if len(group) > 1:
                    fixes[member["number"]]["notes+"] = [
                        [
                            "number",
                            later(
                                gettext_lazy("Line %(line)s of %(count)s of order %(number)s."),
                                line=position + 1,
                                count=len(group),
                                number=order_number,
                            ).stored,
                        ]
                    ]
            duplicate = bool(order_number) and existing.get(order_number) == karte_id
            problems = self._order_problems(
                group, order_number, duplicate, broken, kartes_of, existing,
                kartes[karte_id], products, users,
            )  # fmt: skip
            if problems:
                for index, member in enumerate(group):
                    own = problems.get(index) or [
                        [
                            "",
                            stored(
                                gettext_lazy(
                                    "Another row of this order has problems: an order is "
                                    "imported only with all its lines."
                                )
                            ),
                        ]
                    ]
                    fixes[member["number"]]["problems+"] = own
                    fixes[member["number"]]["category"] = Category.INVALID
            elif duplicate or (
                not order_number and self._same_order(karte_id, group, on_file, products, users)
            ):
                reason = "already_imported" if duplicate else "same_order"
                for member in group:
                    fixes[member["number"]]["category"] = Category.DUPLICATE
                    fixes[member["number"]]["match_reasons"] = [reason]
        _apply_fixes(self.run, fixes)

    @staticmethod
    def _orders_on_file(wanted: set[tuple[int, str]]) -> dict[tuple[int, str], list[tuple]]:
        """(karte, order date) → [(subtotal, lines summary)] of the orders already stored
        for the kartes and dates of the file's orders without a number."""
        from enishi.sales.models import Order

        found: dict[tuple[int, str], list[tuple]] = defaultdict(list)
        kartes = sorted({karte for karte, _day in wanted})
        days = {day for _karte, day in wanted}
        for start in range(0, len(kartes), WRITE_BATCH):
            stored = Order.objects.filter(customer_id__in=kartes[start : start + WRITE_BATCH])
            for karte, day, subtotal, summary in stored.values_list(
                "customer_id", "ordered_on", "subtotal", "lines_summary"
            ):
                if day.isoformat() in days:
                    found[(karte, day.isoformat())].append((subtotal, summary))
        return found

    @staticmethod
    def _same_order(karte_id: int, group, on_file, products, users) -> bool:
        """An order without a number is recognised by its karte, date and lines: the same
        file imported twice must not double it (the person may still import it anyway)."""
        from enishi.sales.services import lines_summary, order_lines_price

        stored = on_file.get((karte_id, group[0]["data"].get("ordered_on")))
        if not stored:
            return False
        _header, lines = order_values([m["data"] for m in group], products, users)
        priced, totals = order_lines_price(lines)
        return (totals.subtotal, lines_summary(priced)) in stored

    def _order_problems(
        self, group, order_number, duplicate, broken, kartes_of, existing, karte, products, users
    ) -> dict[int, list[list[Any]]]:
        """Problems per row (by its index in the order) that keep the order out."""
        if order_number and broken.get(order_number):
            message = later(
                gettext_lazy(
                    "Row %(rows)s of this order has problems: an order is imported only with "
                    "all its lines."
                ),
                rows="、".join(str(n) for n in broken[order_number][:5]),
            ).stored
            return {i: [["", message]] for i in range(len(group))}
        if order_number and len(kartes_of[order_number]) > 1:
            message = later(
                gettext_lazy(
                    "The order number %(number)s is used for several customers in this file."
                ),
                number=order_number,
            ).stored
            return {i: [["number", message]] for i in range(len(group))}
        if order_number and order_number in existing and not duplicate:
            message = later(
                gettext_lazy("Another order already has the number %(number)s."),
                number=order_number,
            ).stored
            return {0: [["number", message]]}
        first = group[0]["data"].get("ordered_on")
        same_date = stored(gettext_lazy("The rows of one order need the same order date."))
        dates = {
            i: [["ordered_on", same_date]]
            for i, member in enumerate(group)
            if member["data"].get("ordered_on") != first
        }
        if dates:
            return dates
        datas = [m["data"] for m in group]
        return order_problems(
            self.actor, karte, datas, products, users, number="" if duplicate else order_number
        )


def order_values(
    datas: list[dict[str, Any]], products: dict[int, Any], users: dict[int, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The checked rows of one order as `order_create` takes them: (the order's fields from
    its first row, its lines)."""
    head = datas[0]
    header: dict[str, Any] = {}
    for name in ("number", "status"):
        if head.get(name):
            header[name] = head[name]
    for name in ("ordered_on", "delivered_on"):
        if head.get(name):
            header[name] = datetime.date.fromisoformat(head[name])
    notes = list(dict.fromkeys(d["note"] for d in datas if d.get("note")))
    if notes:
        header["note"] = "\n".join(notes)
    if users.get(head.get("owner_id")) is not None:
        header["owner"] = users[head["owner_id"]]
    lines = [
        {
            "product": products.get(d.get("product_id")),
            "description": d.get("description", ""),
            "unit_price": d.get("unit_price"),
            "quantity": d.get("quantity"),
            "discount": d.get("discount"),
            "tax_rate": d.get("tax_rate"),
        }
        for d in datas
    ]
    return header, lines


def _order_errors(exc, count: int) -> dict[int, list[list[Any]]]:
    """An order service's ValidationError as problems per line ("lines.<i>.<field>")."""
    found: dict[int, list[list[Any]]] = defaultdict(list)
    for key, messages in field_messages(exc).items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
            targets = [(int(parts[1]), parts[2])]
        elif parts[0] == "lines":
            targets = [(i, "") for i in range(count)]
        else:
            targets = [(0, _ORDER_FIELD_KEYS.get(key, key))]
        for index, field in targets:
            found[index] += [[field, message] for message in messages]
    return dict(found)


def order_problems(
    actor: User,
    karte: Customer,
    datas: list[dict[str, Any]],
    products: dict[int, Any],
    users: dict[int, Any],
    *,
    number: str,
) -> dict[int, list[list[Any]]]:
    """Problems per line of one order: the sales rules (tried in a savepoint that is rolled
    back) and the file's own amounts, which must be unit price × quantity − discount."""
    from django.core.exceptions import ValidationError

    from enishi.sales.services import money_text, order_create, order_lines_price

    header, lines = order_values(datas, products, users)
    header["number"] = number
    try:
        priced, _totals = order_lines_price(lines)
    except ValidationError as exc:
        return _order_errors(exc, len(lines))
    mismatched: dict[int, list[list[Any]]] = {}
    for index, (data, line) in enumerate(zip(datas, priced, strict=True)):
        if data.get("amount") is not None and data["amount"] != line.amount:
            mismatched[index] = [
                [
                    "amount",
                    later(
                        gettext_lazy(
                            "The amount %(amount)s yen is not unit price × quantity − discount "
                            "(%(computed)s yen)."
                        ),
                        amount=f"{data['amount']:,}",
                        computed=money_text(line.amount),
                    ).stored,
                ]
            ]
    if mismatched:
        return mismatched
    try:
        with transaction.atomic():
            order_create(actor=actor, customer=karte, data=header, lines=lines)
            raise _TryOnly
    except _TryOnly:
        return {}
    except ValidationError as exc:
        return _order_errors(exc, len(lines))


def reasons_text(codes: list[str]) -> str:
    return join_list(reason_label(code) for code in codes)
