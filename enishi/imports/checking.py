"""Checking rows: every cell through the same rules as the karte form, without the database.

`check_rows` turns a chunk of file rows into `Checked` rows: the values ready to write (cleaned
by `customers.services.customer_clean`, custom fields by `customers.fields.clean_value`, keys
by `customers.services.apply_derived_fields`; search documents are built when a karte is
written), the problems that reject the row, notes worth knowing, and the matching keys
(`quality.match.record_keys`). Nothing here touches the database, so big files are checked in
worker processes (`pool.py`) and small ones in the request's own process, with the same code.
"""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from enishi.core.later import error_message, error_messages, field_messages, later, stored
from enishi.imports import targets as t
from enishi.imports.files import UNREADABLE, SourceRow, UnsavedFormula, cell_text, encoding_label

# Values written to the database that are dates (stored as ISO text in the row's data).
DATE_FIELDS = ("birthday", "founded_on")
# The keys derived from a karte's values: computed by the check (the matching needs them) and
# stored with the row. The search documents are derived too, but only when a karte is written:
# they are most of a checked row's weight, and most rows skipped or rejected never need them.
KEY_FIELDS = (
    "legal_form",
    "legal_form_position",
    "name_key",
    "kana_key",
    "reading_key",
    "phone_e164",
    "mobile_e164",
    "fax_e164",
    "email_key",
    "email_alt_key",
)
DERIVED_FIELDS = (*KEY_FIELDS, "search_text", "search_bigrams")
ADDRESS_PARTS = ("prefecture", "city", "town", "street", "building")
# Set in a row's data when its address came whole from one cell: an update then writes every
# part, the empty ones too, whatever the rule for empty cells says.
ADDRESS_WHOLE = "_address_whole"
# Set in a row's data by the check: the version of the karte it matched. A karte changed since
# is not updated by the run (someone's later edit is never overwritten unseen).
MATCH_VERSION = "_match_version"
COMPANY_ONLY = (
    "corporate_number",
    "industry",
    "employees",
    "founded_on",
    "fiscal_month",
    "website",
)
PERSON_ONLY = ("department", "title", "is_key_person", "is_decision_maker", "birthday", "gender")


@dataclass
class CheckContext:
    """What a worker needs to check rows: small and picklable."""

    target: str
    mapping: list[str]
    width: int
    default_kind: str = "auto"  # auto, person, company
    language: str = "ja"
    encoding: str = ""
    definitions: list[dict[str, Any]] = field(default_factory=list)
    # Folded user names (user name, display name, full name) → user id; 0 when ambiguous.
    users: dict[str, int] = field(default_factory=dict)


@dataclass
class Checked:
    number: int
    line: int
    values: list[str]
    kind: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # [[field, message]], each message in its stored form (`core.later`): translated when read.
    problems: list[list[Any]] = field(default_factory=list)
    notes: list[list[Any]] = field(default_factory=list)
    # Problems that only matter when the row creates a karte (it may update one instead).
    create_problems: list[list[Any]] = field(default_factory=list)
    keys: Any = None
    lookup: dict[str, Any] = field(default_factory=dict)
    company: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems


def fold_user(name: str) -> str:
    from enishi.quality import normalize

    return normalize.collapse_spaces(normalize.nfkc(name)).replace(" ", "").lower()


def _unsaved_formula(cell: UnsavedFormula) -> Any:
    return later(
        _(
            "This cell holds a formula (%(formula)s) whose result was never saved: open the "
            "file in Excel, save it, and upload it again."
        ),
        formula=cell.formula,
    )


class _Row:
    """The mapped cells of one row, converted by target type, problems collected by field."""

    def __init__(self, ctx: CheckContext, targets: dict[str, t.Target], row: SourceRow):
        self.ctx = ctx
        self.targets = targets
        self.cells: dict[str, Any] = {}
        self.problems: list[list[Any]] = []
        self.notes: list[list[Any]] = []
        for index, key in enumerate(ctx.mapping):
            if key:
                # Trailing empty cells are not in the row; the column is still the row's.
                cell = row.cells[index] if index < len(row.cells) else None
                if isinstance(cell, UnsavedFormula):
                    # Its value is unknown, not empty: importing the row without it loses data.
                    self.problem(key, _unsaved_formula(cell))
                    cell = None
                self.cells[key] = cell

    def problem(self, key: str, message: Any) -> None:
        self.problems.append([key, stored(message)])

    def note(self, key: str, message: Any) -> None:
        self.notes.append([key, stored(message)])

    def has(self, key: str) -> bool:
        value = self.cells.get(key)
        return value is not None and cell_text(value).strip() != ""

    def text(self, key: str) -> str:
        if key not in self.cells:
            return ""
        text = t.text_value(self.cells[key])
        if t.looks_like_formula(text):
            self.note(key, _("Looks like a spreadsheet formula: imported as text, not calculated."))
        return text

    def convert(self, key: str, fn) -> Any:
        if key not in self.cells:
            return None
        try:
            return fn(self.cells[key])
        except t.CellError as exc:
            self.problem(key, exc.message)
            return None


def _choice_indexes(targets: dict[str, t.Target]) -> dict[str, dict[str, str]]:
    return {k: t.choice_index(v) for k, v in targets.items() if v.type == "choice"}


_INDEX_CACHE: dict[tuple[str, str], tuple[dict, dict]] = {}


def _targets_of(ctx: CheckContext) -> tuple[dict[str, t.Target], dict[str, dict[str, str]]]:
    cache_key = (ctx.target, translation.get_language() or "")
    if cache_key not in _INDEX_CACHE:
        base = {
            "activities": t.activity_targets,
            "contracts": t.contract_targets,
            "orders": t.order_targets,
        }.get(ctx.target, t.customer_targets)()
        found = {target.key: target for target in base}
        _INDEX_CACHE[cache_key] = (found, _choice_indexes(found))
    return _INDEX_CACHE[cache_key]


def check_rows(ctx: CheckContext, rows: list[SourceRow], first_number: int) -> list[Checked]:
    """Check a chunk of rows; `first_number` is the 1-based data row number of the first."""
    with translation.override(ctx.language):
        targets, indexes = _targets_of(ctx)
        definitions = _definitions(ctx)
        checker = {
            "activities": _check_activity,
            "contracts": _check_contract,
            "orders": _check_order,
        }.get(ctx.target, _check_customer)
        checked = [
            checker(ctx, targets, indexes, definitions, row, first_number + offset)
            for offset, row in enumerate(rows)
        ]
        for row, result in zip(rows, checked, strict=True):
            if row.written_cells is not None and row.written_cells < ctx.width:
                _short_row(ctx, row.written_cells, result)
        return checked


def _short_row(ctx: CheckContext, written: int, checked: Checked) -> None:
    """A line with fewer cells than the header row: the missing ones are read as empty. When
    an imported column is among them the row says so, first among its problems if it has
    any (they are likely its consequence: a value in the wrong column), else as a note."""
    if not any(ctx.mapping[written : ctx.width]):
        return
    message = later(
        _(
            "This row has only %(count)s of the header row's %(width)s cells: the missing "
            "ones are read as empty. A line break inside a value without quotes?"
        ),
        count=written,
        width=ctx.width,
    ).stored
    if checked.problems:
        checked.problems.insert(0, ["", message])
    else:
        checked.notes.append(["", message])


def _definitions(ctx: CheckContext):
    from enishi.customers.models import FieldDefinition

    return {d["key"]: FieldDefinition(**d) for d in ctx.definitions}


def _common(ctx: CheckContext, row: SourceRow, number: int) -> tuple[Checked, list[str]]:
    values = [cell_text(c) for c in row.cells]
    checked = Checked(number=number, line=row.line, values=values)
    extra = [v for v in values[ctx.width :] if v.strip()]
    if extra:
        checked.problems.append(
            [
                "",
                later(
                    _(
                        "This row has %(count)s more cells than the header row (%(values)s): "
                        "a delimiter inside a value without quotes?"
                    ),
                    count=len(extra),
                    values="、".join(v[:20] for v in extra[:3]),
                ).stored,
            ]
        )
    if row.unclosed_quote:
        checked.problems.append(
            [
                "",
                stored(
                    _(
                        'A quote (") opens a cell on this row and is never closed, so the rest of '
                        "the file was read into that cell. Close the quote in the file."
                    )
                ),
            ]
        )
    if any(UNREADABLE in v for v in values):
        checked.problems.append(
            [
                "",
                later(
                    _(
                        "Some characters of this row could not be read as %(encoding)s: check the "
                        "file's encoding."
                    ),
                    encoding=encoding_label(ctx.encoding) if ctx.encoding else "UTF-8",
                ).stored,
            ]
        )
    return checked, values


def _user(r: _Row, key: str) -> int | None:
    name = r.text(key)
    if not name:
        return None
    found = r.ctx.users.get(fold_user(name))
    if found is None:
        r.problem(key, later(_("There is no active user called “%(name)s”."), name=name))
        return None
    if found == 0:
        r.problem(
            key, later(_("Several users are called “%(name)s”: use the user name."), name=name)
        )
        return None
    return found


# --- customers ----------------------------------------------------------------------------------


def _kind(ctx: CheckContext, r: _Row, indexes) -> str:
    if r.has("kind"):
        value = r.convert("kind", lambda v: t.choice_value(r.targets["kind"], v, indexes["kind"]))
        if value:
            return value
    if ctx.default_kind in ("person", "company"):
        return ctx.default_kind
    if r.has("name") or r.has("family_name") or r.has("given_name"):
        return "person"
    if r.has("company_name"):
        return "company"
    # No name at all (an update by customer code): facts only a company has say it is one.
    if any(r.has(name) for name in COMPANY_ONLY) and not any(r.has(n) for n in PERSON_ONLY):
        return "company"
    return "person"


def _customer_data(ctx, r: _Row, kind: str, indexes, definitions) -> dict[str, Any]:
    from enishi.quality import normalize

    data: dict[str, Any] = {"kind": kind}
    texts = (
        "code", "name", "family_name", "given_name", "legal_name", "corporate_number",
        "industry", "website", "sns", "department", "title", "prefecture", "city", "town",
        "street", "building", "email", "email_alt", "payment_terms", "needs", "preferences",
        "notes",
    )  # fmt: skip
    for key in texts:
        if key in r.cells:
            data[key] = r.text(key)
    kana = r.text("name_kana")
    if not kana and (r.has("family_kana") or r.has("given_kana")):
        kana = " ".join(p for p in (r.text("family_kana"), r.text("given_kana")) if p)
    if kana or "name_kana" in r.cells:
        data["name_kana"] = kana
    if kind == "company":
        # A company row may name itself in the company columns.
        if not data.get("name") and r.has("company_name"):
            data["name"] = r.text("company_name")
        if not data.get("name_kana") and r.has("company_kana"):
            data["name_kana"] = r.text("company_kana")
        if data.get("name_kana"):
            data["name_kana"] = t.reading_text(data["name_kana"])
        if not data.get("code") and r.has("company_code"):
            data["code"] = r.text("company_code")
    for key in ("phone", "mobile", "fax"):
        if key in r.cells:
            text, restored = t.phone_text(r.cells[key])
            data[key] = text
            if restored:
                r.note(key, _("The leading 0 that Excel drops from numbers was put back."))
    if "postal_code" in r.cells:
        text, padded = t.postal_text(r.cells["postal_code"])
        with contextlib.suppress(ValidationError):
            # "〒123-4567" is longer than the stored "123-4567": normalise before the checks.
            text = normalize.normalize_postal_code(text) if text else text
        data["postal_code"] = text
        if padded:
            r.note("postal_code", _("The leading 0 that Excel drops from numbers was put back."))
    if r.has("address"):
        # A whole address replaces every part, also those it does not have: an update must
        # not keep the old building under a new street (see ADDRESS_WHOLE).
        parts = t.split_address(r.text("address"), data.get("postal_code", ""))
        for part in ADDRESS_PARTS:
            if not data.get(part):
                data[part] = parts.get(part, "")
    for key in DATE_FIELDS:
        if key in r.cells:
            data[key] = r.convert(key, t.date_value)
    if "employees" in r.cells:
        data["employees"] = r.convert("employees", t.int_value)
    if "fiscal_month" in r.cells:
        data["fiscal_month"] = r.convert("fiscal_month", t.month_value)
    for key in ("is_key_person", "is_decision_maker"):
        if key in r.cells:
            data[key] = bool(r.convert(key, t.bool_value))
    for key in ("gender", "status", "rank", "acquisition_channel"):
        if key in r.cells:
            value = r.convert(key, lambda v, k=key: t.choice_value(r.targets[k], v, indexes[k]))
            if value or key != "status":
                data[key] = value or ""
    permissions = {}
    for channel in ("email", "phone", "post", "sns"):
        key = f"contact_{channel}"
        if key in r.cells:
            value = r.convert(key, t.bool_value)
            if value is not None:
                permissions[channel] = value
    if permissions:
        data["contact_permissions"] = permissions
    if "tags" in r.cells:
        data["tags"] = t.tags_value(r.cells["tags"])
    for key in PERSON_ONLY if kind == "company" else COMPANY_ONLY:
        if data.get(key) not in (None, "", False):
            r.note(
                key,
                later(
                    _("Ignored: this field is for %(kind)s only."),
                    kind=_("persons") if kind == "company" else _("companies"),
                ),
            )
        data.pop(key, None)
    return data


def _custom_values(r: _Row, kind: str, definitions) -> dict[str, Any]:
    from enishi.customers import fields as custom_fields
    from enishi.customers.models import FieldDefinition

    values: dict[str, Any] = {}
    for target_key in [k for k in r.cells if k.startswith(t.CUSTOM_PREFIX)]:
        key = target_key[len(t.CUSTOM_PREFIX) :]
        definition = definitions.get(key)
        if definition is None or not definition.applies(kind):
            if r.has(target_key):
                r.note(target_key, _("Ignored: this field is not used for this kind of customer."))
            continue
        raw = r.cells[target_key]
        kinds = FieldDefinition.Type
        try:
            if definition.type == kinds.DATE:
                value: Any = t.date_value(raw)
            elif definition.type == kinds.BOOLEAN:
                value = t.bool_value(raw)
            elif definition.type == kinds.MULTI_CHOICE:
                value = t.tags_value(raw)
            elif definition.type in (kinds.NUMBER, kinds.MONEY) and isinstance(raw, int | float):
                value = raw
            else:
                value = r.text(target_key)
        except t.CellError as exc:
            r.problem(target_key, exc.message)
            continue
        if value is None or value == "" or value == []:
            values[key] = None
            continue
        try:
            values[key] = custom_fields.clean_value(definition, value)
        except ValidationError as exc:
            for message in error_messages(exc):
                r.problem(target_key, message)
    return values


def _missing_required(kind: str, custom: dict[str, Any], definitions) -> list[list[Any]]:
    return [
        [t.CUSTOM_PREFIX + key, stored(_("This field is required."))]
        for key, definition in definitions.items()
        if definition.required and definition.applies(kind) and custom.get(key) in (None, "", [])
    ]


_PLACEHOLDER = None
_PROTOTYPE = None


def _blank_customer():
    """A new, unsaved karte with every default: a copy of one made once (a karte has 60 fields,
    and building one from scratch per row costs more than checking it)."""
    global _PROTOTYPE
    from django.db.models.base import ModelState

    from enishi.customers.models import Customer

    if _PROTOTYPE is None:
        _PROTOTYPE = Customer()
    customer = Customer.__new__(Customer)
    customer.__dict__.update(_PROTOTYPE.__dict__)
    customer._state = ModelState()
    customer.contact_permissions = {}
    customer.custom_fields = {}
    return customer


def _placeholder():
    """An unsaved karte passed as `instance` so that customer_clean checks a row without a name
    as it would check an update (the row may update a karte; as a new one it needs a name)."""
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        from enishi.customers.models import Customer

        _PLACEHOLDER = Customer()
    return _PLACEHOLDER


def _clean(data: dict[str, Any], kind: str, problems: list[list[Any]]) -> dict[str, Any] | None:
    from enishi.customers.services import customer_clean

    to_clean = {k: v for k, v in data.items() if k not in ("code", "tags_raw")}
    has_name = bool(str(to_clean.get("name") or "").strip()) or bool(
        to_clean.get("family_name") or to_clean.get("given_name")
    )
    if not has_name:
        to_clean.pop("name", None)
    try:
        cleaned = customer_clean(to_clean, kind=kind, instance=None if has_name else _placeholder())
    except ValidationError as exc:
        for key, messages in field_messages(exc).items():
            for message in messages:
                problems.append(["tags" if key == "tag_names" else key, message])
        return None
    if "code" in data:
        code = str(data["code"] or "").strip()
        if len(code) > 40:
            problems.append(
                [
                    "code",
                    later(
                        _("Too long: at most %(limit)s characters (you entered %(count)s)."),
                        limit=40,
                        count=len(code),
                    ).stored,
                ]
            )
        cleaned["code"] = code
    return cleaned


def json_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


_COMPANIES: dict[tuple[str, str], tuple[dict[str, Any], list[list[Any]]]] = {}


def _company_checked(name: str, kana: str) -> tuple[dict[str, Any], list[list[Any]]]:
    """A company name as a new company karte would store it (companies repeat from row to row:
    each is checked once per process)."""
    from enishi.customers.services import customer_clean
    from enishi.quality import normalize

    found = _COMPANIES.get((name, kana))
    if found is not None:
        return found
    if len(_COMPANIES) > 50_000:
        _COMPANIES.clear()
    problems: list[list[Any]] = []
    checked: dict[str, Any] = {}
    try:
        cleaned = customer_clean(
            {"kind": "company", "name": name, "name_kana": kana}, kind="company"
        )
    except ValidationError as exc:
        for key, messages in field_messages(exc).items():
            field_key = {"name": "company_name", "name_kana": "company_kana"}.get(key, key)
            problems.extend([field_key, message] for message in messages)
    else:
        checked = {
            "name": cleaned["name"],
            "kana": cleaned.get("name_kana", ""),
            "key": normalize.company_name_key(cleaned["name"]),
        }
    _COMPANIES[(name, kana)] = (checked, problems)
    return checked, problems


# A cell with Alt+Enter (common in 住所) in a one-line field: its lines are joined with a space
# and the row notes it (the API and the form refuse line breaks there: `customer_clean`).
_LINES_JOINED = _("The line breaks were replaced by spaces: this field takes one line.")


def _company_of(ctx, r: _Row, kind: str, problems: list[list[Any]]) -> dict[str, Any]:
    """The company a person row names: checked as a new company would be."""
    from enishi.customers.services import fold_line_breaks

    if kind != "person" or not (r.has("company_name") or r.has("company_code")):
        return {}
    keys = {"name": "company_name", "code": "company_code", "name_kana": "company_kana"}
    texts = {part: r.text(key) for part, key in keys.items()}
    for part in fold_line_breaks(texts):
        r.note(keys[part], _LINES_JOINED)
    name, code = texts["name"], texts["code"]
    kana = t.reading_text(texts["name_kana"])
    company: dict[str, Any] = {"name": name, "code": code, "kana": kana}
    if name:
        checked, found_problems = _company_checked(name, kana)
        problems.extend(found_problems)
        company.update(checked)
    return company


def _check_customer(ctx, targets, indexes, definitions, row: SourceRow, number: int) -> Checked:
    from enishi.customers.services import apply_derived_fields, fold_line_breaks
    from enishi.quality import match

    checked, _values = _common(ctx, row, number)
    r = _Row(ctx, targets, row)
    kind = _kind(ctx, r, indexes)
    checked.kind = kind
    data = _customer_data(ctx, r, kind, indexes, definitions)
    owner = _user(r, "owner") if "owner" in r.cells else None
    custom = _custom_values(r, kind, definitions)
    problems = checked.problems + r.problems
    company = _company_of(ctx, r, kind, problems)
    for key in fold_line_breaks(data):
        r.note(key, _LINES_JOINED)
    cleaned = _clean(data, kind, problems)
    checked.notes = r.notes
    checked.problems = problems
    if cleaned is None or problems:
        return checked
    name_missing = "name" not in cleaned
    if name_missing:
        checked.create_problems.append(["name", stored(_("Enter the name."))])
    checked.create_problems.extend(_missing_required(kind, custom, definitions))
    tags = cleaned.pop("tags", None)
    customer = _blank_customer()
    for name, value in cleaned.items():
        setattr(customer, name, value)
    if company.get("name"):
        # The documents of a person name their company; the real one is linked when written.
        stand_in = _blank_customer()
        stand_in.pk, stand_in.kind, stand_in.name = -1, "company", company["name"]
        stand_in.name_kana = company.get("kana", "")
        customer.company = stand_in
    customer.custom_fields = {k: v for k, v in custom.items() if v is not None}
    apply_derived_fields(customer, documents=False)
    out = {k: json_value(v) for k, v in cleaned.items()}
    out["custom_fields"] = custom
    if tags is not None:
        out["tags"] = tags
    if owner:
        out["owner_id"] = owner
    if r.has("address"):
        out[ADDRESS_WHOLE] = True
    for name in KEY_FIELDS:
        out[name] = getattr(customer, name)
    checked.data = out
    checked.company = company
    record = match.customer_record(customer)
    record["id"] = number
    checked.keys = match.record_keys(record)
    checked.lookup = {
        "code": cleaned.get("code", ""),
        "corporate_number": cleaned.get("corporate_number", ""),
        "emails": [e for e in (customer.email_key, customer.email_alt_key) if e],
        "e164": [p for p in (customer.phone_e164, customer.mobile_e164) if p],
        "name_key": customer.name_key if not name_missing else "",
        "reading_key": customer.reading_key,
    }
    return checked


# --- activities ---------------------------------------------------------------------------------


def _karte_lookup(r: _Row) -> dict[str, Any]:
    """How a row names its karte: code, phone, e-mail or name (the analysis looks them up)."""
    from enishi.quality import normalize

    lookup: dict[str, Any] = {"code": r.text("customer_code")}
    if r.has("customer_phone"):
        phone, _restored = t.phone_text(r.cells["customer_phone"])
        try:
            lookup["e164"] = [normalize.parse_phone(phone).e164]
        except ValidationError as exc:
            r.problem("customer_phone", error_message(exc))
    if r.has("customer_email"):
        lookup["email_key"] = normalize.email_key(r.text("customer_email"))
    if r.has("customer_name"):
        name = r.text("customer_name")
        lookup["name_keys"] = list(
            dict.fromkeys([normalize.person_name_key(name), normalize.company_name_key(name)])
        )
    if not any(lookup.get(k) for k in ("code", "e164", "email_key", "name_keys")) and not any(
        p[0].startswith("customer_") for p in r.problems
    ):
        r.problem(
            "customer_code",
            _("Say whose record this is: a customer code, phone, e-mail or name column."),
        )
    return lookup


def _with_karte(checked: Checked, r: _Row, data: dict[str, Any]) -> Checked:
    """A row about a karte (activity, contract, order line) finished: its values, its
    problems and notes, and how its karte is looked up."""
    if any("\x00" in str(v) for v in data.values()):
        r.problem("", _("The text contains a control character that cannot be stored."))
    checked.problems += r.problems
    checked.notes = r.notes
    checked.data = data
    checked.lookup = _karte_lookup(r)
    return checked


def _check_activity(ctx, targets, indexes, definitions, row: SourceRow, number: int) -> Checked:

    checked, _values = _common(ctx, row, number)
    r = _Row(ctx, targets, row)
    data: dict[str, Any] = {}
    for key in ("subject", "body", "outcome", "attendees", "next_action"):
        if key in r.cells:
            data[key] = r.text(key)
    limits = {"subject": 200, "outcome": 200, "attendees": 300, "next_action": 200, "body": 20000}
    for key, limit in limits.items():
        if len(data.get(key, "")) > limit:
            r.problem(
                key,
                later(
                    _("Too long: at most %(limit)s characters (you entered %(count)s)."),
                    limit=limit,
                    count=len(data[key]),
                ),
            )
    occurred = r.convert("occurred_at", t.datetime_value)
    if occurred is None and not any(p[0] == "occurred_at" for p in r.problems):
        r.problem("occurred_at", _("Enter when it happened."))
    elif occurred is not None:
        if occurred > datetime.datetime.now(tz=occurred.tzinfo) + datetime.timedelta(days=366):
            r.problem("occurred_at", _("This date is more than a year in the future."))
        data["occurred_at"] = occurred.isoformat()
    kind = r.convert("type", lambda v: t.choice_value(r.targets["type"], v, indexes["type"]))
    data["type"] = kind or "call"
    if r.has("direction"):
        data["direction"] = (
            r.convert(
                "direction",
                lambda v: t.choice_value(r.targets["direction"], v, indexes["direction"]),
            )
            or ""
        )
    due = r.convert("next_action_due", t.date_value)
    if due is not None:
        data["next_action_due"] = due.isoformat()
        if not data.get("next_action"):
            r.problem("next_action", _("Say what the next action is, or clear its date."))
    staff = _user(r, "staff") if "staff" in r.cells else None
    if staff:
        data["staff_id"] = staff
    return _with_karte(checked, r, data)


# --- contracts ----------------------------------------------------------------------------------


def _check_contract(ctx, targets, indexes, definitions, row: SourceRow, number: int) -> Checked:
    """A contract row: its cells as values; the contract rules themselves are checked by the
    analysis with `sales.services.contract_create` (in a savepoint it rolls back)."""
    checked, _values = _common(ctx, row, number)
    r = _Row(ctx, targets, row)
    data: dict[str, Any] = {}
    for key in ("plan", "note", "cancellation_reason"):
        if key in r.cells:
            data[key] = r.text(key)
    for key in ("starts_on", "ends_on", "renews_on", "cancelled_on"):
        value = r.convert(key, t.date_value)
        if value is not None:
            data[key] = value.isoformat()
    if not data.get("starts_on") and not any(p[0] == "starts_on" for p in r.problems):
        r.problem("starts_on", _("Enter the start date."))
    if "auto_renew" in r.cells:
        data["auto_renew"] = bool(r.convert("auto_renew", t.bool_value))
    amount = r.convert("amount", t.yen_value)
    if amount is not None:
        data["amount"] = amount
    if r.has("period"):
        data["period"] = (
            r.convert("period", lambda v: t.choice_value(r.targets["period"], v, indexes["period"]))
            or ""
        )
    if r.has("product_code"):
        data["product_code"] = r.text("product_code")
    owner = _user(r, "owner") if "owner" in r.cells else None
    if owner:
        data["owner_id"] = owner
    return _with_karte(checked, r, data)


# --- orders -------------------------------------------------------------------------------------

ORDER_TEXT_LIMITS = {"number": 30, "product_code": 50, "product_name": 200, "description": 200}


def _check_order(ctx, targets, indexes, definitions, row: SourceRow, number: int) -> Checked:
    """An order row (one line of an order): its cells as values. Products, the grouping of rows
    into orders and the order rules (`sales.services.order_create`) are the analysis's."""
    checked, _values = _common(ctx, row, number)
    r = _Row(ctx, targets, row)
    data: dict[str, Any] = {}
    for key in ("number", "note", "product_code", "product_name", "description"):
        if key in r.cells:
            data[key] = r.text(key)
    for key, limit in ORDER_TEXT_LIMITS.items():
        if len(data.get(key, "")) > limit:
            r.problem(
                key,
                later(
                    _("Too long: at most %(limit)s characters (you entered %(count)s)."),
                    limit=limit,
                    count=len(data[key]),
                ),
            )
    for key in ("ordered_on", "delivered_on"):
        value = r.convert(key, t.date_value)
        if value is not None:
            data[key] = value.isoformat()
    if not data.get("ordered_on") and not any(p[0] == "ordered_on" for p in r.problems):
        r.problem("ordered_on", _("Enter the order date."))
    if r.has("order_status"):
        data["status"] = (
            r.convert(
                "order_status",
                lambda v: t.choice_value(r.targets["order_status"], v, indexes["order_status"]),
            )
            or ""
        )
    for key, fn in (
        ("unit_price", t.price_value),
        ("quantity", t.quantity_value),
        ("discount", t.discount_value),
        ("tax_rate", t.tax_rate_value),
        ("amount", t.yen_value),
    ):
        value = r.convert(key, fn)
        if value is not None:
            data[key] = value
    if not any(data.get(k) for k in ("product_code", "product_name", "description")):
        r.problem(
            "description" if "description" in r.cells else "product_name",
            _("Say what was sold: a product code, a product name or a description."),
        )
    owner = _user(r, "owner") if "owner" in r.cells else None
    if owner:
        data["owner_id"] = owner
    return _with_karte(checked, r, data)
