"""Customer export: the columns a user may pick, rows read in chunks, and the file writers.

Plain functions without HTTP, for the export page, the API and the background task.

- `export_columns(user)`: every column the user may export, headers in the active language;
  sensitive custom fields (要配慮個人情報) only for roles that may see them.
- `customer_rows(user, queryset, columns)`: one `ExportRow` per karte, read 2,000 at a time,
  so memory stays flat however many kartes there are.
- `write_csv` / `csv_chunks`: CSV in UTF-8 with BOM, or in cp932 as Japanese Excel writes it.
  A character cp932 cannot hold is never dropped silently: it becomes 〓 and is reported
  (row, column, character) in `EncodingReport`; the caller refuses the file unless the user
  chose the replacement.
- `write_xlsx`: a streamed workbook (transfer/xlsx.py); real dates, codes and phones as text.

Every text cell that a spreadsheet could take for a formula (=, +, -, @, tab, CR, also after
leading spaces and in full width) is defused: in CSV it gets a leading apostrophe, in .xlsx
it is written as a string cell (never a formula) with Excel's quote prefix.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import IO, Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enishi.accounts.models import Team, User
from enishi.core.permissions import can_view_sensitive
from enishi.customers import fields as custom_fields
from enishi.customers.forms import PERMISSION_LABELS
from enishi.customers.models import Customer, FieldDefinition
from enishi.customers.selectors import customer_visible

CHUNK = 2000
# The most problems an answer lists; the total is always given.
MAX_LISTED = 50
# Excel's sheet limit is 1,048,576 rows, one of which is the header.
XLSX_MAX_ROWS = 1_048_575
# Excel shows at most this many characters in a cell (and refuses to open a longer one).
XLSX_MAX_CELL = 32_767
CUSTOM_PREFIX = "cf:"

# How a value is written. CODE is text made of digits that must stay text (leading zeros of
# phones, postal codes, customer and corporate numbers).
TEXT, CODE, INTEGER, NUMBER, DATE, DATETIME = "text", "code", "int", "number", "date", "datetime"

FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")
LEADING_SPACES = " \u3000\u00a0"
FIRST_CHARACTERS = FORMULA_STARTS | frozenset(LEADING_SPACES)
PLAIN_NEGATIVE = re.compile(r"-(\d{1,3}(,\d{3})+|\d+)(\.\d+)?|-", re.ASCII)
# U+2014 EM DASH is JIS X 0208's 1-1-29 in the JIS mapping; cp932 has the same character as
# U+2015. Python's cp932 codec already folds the other mapping differences (〜 − ‖ ¢ £ ¬).
CP932_SAME_CHARACTER = str.maketrans({"\u2014": "\u2015"})
REPLACEMENT = "〓"  # geta mark (げた記号), the traditional stand-in for a missing character


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    group: str
    get: Callable[[dict[str, Any]], Any]
    fields: tuple[str, ...] = ()
    kind: str = TEXT
    width: int = 14
    sensitive: bool = False
    # Filled per chunk by customer_rows (many-to-many: one query per chunk, not per karte).
    tags: bool = False


class ExportRow(NamedTuple):
    pk: int
    name: str
    values: list[Any]


@dataclass
class Unencodable:
    row: int  # the row in the file, as a spreadsheet numbers it (the header is row 1)
    column: str
    characters: str  # each character once, in order of appearance
    customer_id: int | None = None
    customer_name: str = ""

    def code_points(self) -> str:
        return " ".join(f"U+{ord(ch):04X}" for ch in self.characters)


@dataclass
class EncodingReport:
    problems: list[Unencodable] = field(default_factory=list)  # the first MAX_LISTED
    count: int = 0  # cells with characters the encoding cannot hold
    characters: int = 0  # characters replaced with 〓
    rows: int = 0  # data rows written

    def add(self, problem: Unencodable, replaced: int) -> None:
        self.count += 1
        self.characters += replaced
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)


# --- columns ------------------------------------------------------------------------------------


def _label(name: str) -> str:
    return str(capfirst(Customer._meta.get_field(name).verbose_name))


def _choice(name: str, choices) -> Callable[[dict[str, Any]], Any]:
    labels = {value: str(label) for value, label in choices}
    return lambda row: labels.get(row[name], row[name])


def _yes_no() -> Callable[[Any], str]:
    yes, no = _("Yes"), _("No")
    return lambda value: "" if value is None else (yes if value else no)


def _custom_value(definition: FieldDefinition, yes_no: Callable[[Any], str]):
    key, t = definition.key, FieldDefinition.Type

    def get(row: dict[str, Any]) -> Any:
        value = (row["custom_fields"] or {}).get(key)
        if value is None or value == "" or value == []:
            return None
        if definition.type == t.DATE and isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                return value
        if definition.type in (t.NUMBER, t.MONEY) and isinstance(value, int | float):
            return value
        if definition.type == t.BOOLEAN:
            return yes_no(bool(value))
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        return str(value)

    return get


def export_columns(user: User) -> list[Column]:
    """Every column `user` may export, in a sensible order, with headers in the active language.

    Custom fields follow the built-in ones; sensitive ones only for roles that may see them.
    """
    return _columns(sensitive_allowed=can_view_sensitive(user))


def column_headers(keys: list[str]) -> list[str]:
    """The headers of these columns in the active language (an export's history keeps the
    keys, so that each reader reads them in their own); a custom field removed since, by its
    key."""
    headers = {column.key: column.label for column in _columns(sensitive_allowed=True)}
    return [headers.get(key, key.removeprefix(CUSTOM_PREFIX)) for key in keys]


def _columns(*, sensitive_allowed: bool) -> list[Column]:
    yes_no = _yes_no()
    users = None

    def owner(row: dict[str, Any]) -> str:
        nonlocal users
        if users is None:  # loaded once, and only when the column is exported
            users = {u.pk: u.label for u in User.objects.all()}
        return users.get(row["owner_id"], "") if row["owner_id"] else ""

    teams = None

    def team(row: dict[str, Any]) -> str:
        nonlocal teams
        if teams is None:
            teams = dict(Team.objects.values_list("pk", "name"))
        return teams.get(row["team_id"], "") if row["team_id"] else ""

    def plain(name: str, group: str, kind: str = TEXT, width: int = 14) -> Column:
        return Column(name, _label(name), group, itemgetter(name), (name,), kind, width)

    def choice(name: str, group: str, choices) -> Column:
        return Column(name, _label(name), group, _choice(name, choices), (name,))

    def boolean(name: str, group: str) -> Column:
        return Column(name, _label(name), group, lambda row: yes_no(row[name]), (name,))

    def permission(channel: str) -> Column:
        def get(row: dict[str, Any]) -> str:
            value = (row["contact_permissions"] or {}).get(channel)
            return yes_no(value) if isinstance(value, bool) else ""

        # The import's own labels: an exported file maps back column for column.
        labels = {
            "email": _("May contact by e-mail"),
            "phone": _("May contact by phone"),
            "post": _("May contact by post"),
            "sns": _("May contact by SNS"),
        }
        return Column(f"contact_{channel}", labels[channel], contact, get, ("contact_permissions",))

    def linked(name: str, group: str) -> Column:
        # The name of the linked karte, from an annotation that checks it is visible.
        value = f"{name}_name"
        return Column(name, _label(name), group, itemgetter(value), (value,), width=24)

    def address(row: dict[str, Any]) -> str:
        street = "".join(row[n] for n in ("prefecture", "city", "town", "street") if row[n])
        return f"{street} {row['building']}" if row["building"] else street

    basics, contact, place = _("Basics"), _("Contact"), _("Address")
    person, company, relation = _("Person"), _("Company"), _("Relationship")
    notes, record = _("Needs, preferences and notes"), _("Record")
    columns = [
        Column("id", _("Karte no."), basics, itemgetter("pk"), ("pk",), INTEGER, 9),
        plain("code", basics, CODE),
        choice("kind", basics, Customer.Kind.choices),
        plain("name", basics, width=24),
        plain("family_name", basics),
        plain("given_name", basics),
        plain("name_kana", basics, width=24),
        plain("legal_name", basics, width=24),
        plain("postal_code", place, CODE, 10),
        plain("prefecture", place, width=10),
        plain("city", place),
        plain("town", place),
        plain("street", place),
        plain("building", place, width=20),
        Column(
            "address",
            _("Address"),
            place,
            address,
            ("prefecture", "city", "town", "street", "building"),
            width=40,
        ),
        plain("phone", contact, CODE),
        plain("mobile", contact, CODE),
        plain("fax", contact, CODE),
        plain("email", contact, width=28),
        plain("email_alt", contact, width=28),
        plain("website", contact, width=28),
        plain("sns", contact, width=20),
        *(permission(channel) for channel in PERMISSION_LABELS),
        linked("company", person),
        plain("department", person),
        plain("title", person),
        boolean("is_key_person", person),
        boolean("is_decision_maker", person),
        plain("birthday", person, DATE, 12),
        choice("gender", person, Customer.Gender.choices),
        plain("corporate_number", company, CODE),
        plain("industry", company),
        plain("employees", company, INTEGER, 10),
        plain("founded_on", company, DATE, 12),
        plain("fiscal_month", company, INTEGER, 8),
        linked("parent", company),
        Column("owner", _label("owner"), relation, owner, ("owner_id",)),
        Column("team", _label("team"), relation, team, ("team_id",)),
        choice("status", relation, Customer.Status.choices),
        plain("rank", relation, width=6),
        choice("acquisition_channel", relation, Customer.Channel.choices),
        plain("payment_terms", relation),
        Column(
            "tags",
            _label("tags"),
            relation,
            lambda row: "、".join(row["tags"]),
            width=20,
            tags=True,
        ),
        plain("needs", notes, width=40),
        plain("preferences", notes, width=40),
        plain("notes", notes, width=40),
    ]
    custom_group = _("More fields")
    for definition in custom_fields.active_definitions():
        if definition.sensitive and not sensitive_allowed:
            continue
        kind = {
            FieldDefinition.Type.DATE: DATE,
            FieldDefinition.Type.NUMBER: NUMBER,
            FieldDefinition.Type.MONEY: INTEGER,
            FieldDefinition.Type.PHONE: CODE,
        }.get(definition.type, TEXT)
        columns.append(
            Column(
                CUSTOM_PREFIX + definition.key,
                definition.label,
                custom_group,
                _custom_value(definition, yes_no),
                ("custom_fields",),
                kind,
                sensitive=definition.sensitive,
            )
        )
    columns += [
        plain("created_at", record, DATETIME, 18),
        plain("updated_at", record, DATETIME, 18),
        plain("last_confirmed_at", record, DATETIME, 18),
    ]
    return columns


DEFAULT_COLUMNS = (
    "code",
    "kind",
    "name",
    "name_kana",
    "company",
    "department",
    "title",
    "postal_code",
    "prefecture",
    "city",
    "town",
    "street",
    "building",
    "phone",
    "mobile",
    "email",
    "owner",
    "status",
    "rank",
    "tags",
    "updated_at",
)


# --- rows ---------------------------------------------------------------------------------------


def _linked_name(user: User, link: str):
    """The name of the karte's company (or parent company), or "" when the user may not see
    that karte: an export shows no more than the karte page does."""
    visible = customer_visible(user).filter(pk=OuterRef(f"{link}_id")).values("name")[:1]
    return Coalesce(Subquery(visible), Value(""))


LINKS = {"company_name": "company", "parent_name": "parent"}


def _tags_by_customer(pks: list[int]) -> dict[int, list[str]]:
    through = Customer.tags.through
    tags: dict[int, list[str]] = {}
    for customer_id, name in (
        through.objects.filter(customer_id__in=pks)
        .order_by("tag__name")
        .values_list("customer_id", "tag__name")
    ):
        tags.setdefault(customer_id, []).append(name)
    return tags


def customer_rows(
    user: User, queryset, columns: list[Column], *, chunk_size: int = CHUNK
) -> Iterator[ExportRow]:
    """The values of `columns` for each karte of `queryset`, in its order.

    `queryset` must already be the user's (customer_list / customer_visible). It is read in
    two passes so that memory stays flat for a million kartes whatever the sort: first only
    the ids in the list's order (8 bytes each; a sort without an index then sorts ids, not
    whole rows, and the search runs once), then the values of `chunk_size` kartes at a time
    by id, still through the permission filter. Rows are dicts rather than model instances
    (several times faster) with only the fields the columns need; tags come with one query
    per chunk.
    """
    ids = array("q", queryset.values_list("pk", flat=True).iterator(chunk_size=10 * chunk_size))
    needed = {"pk", "name"} | {name for column in columns for name in column.fields}
    annotations = {name: _linked_name(user, LINKS[name]) for name in LINKS if name in needed}
    plain = sorted(needed - annotations.keys())
    visible = customer_visible(user).order_by().values(*plain, **annotations)
    with_tags = any(column.tags for column in columns)
    getters = [column.get for column in columns]
    for start in range(0, len(ids), chunk_size):
        wanted = ids[start : start + chunk_size].tolist()
        found = {row["pk"]: row for row in visible.filter(pk__in=wanted)}
        tags = _tags_by_customer(list(found)) if with_tags else {}
        for pk in wanted:
            row = found.get(pk)
            if row is None:  # deleted, or no longer the user's, since the first pass
                continue
            if with_tags:
                row["tags"] = tags.get(pk, [])
            yield ExportRow(pk, row["name"], [get(row) for get in getters])


# --- cells --------------------------------------------------------------------------------------


def looks_like_formula(text: str) -> bool:
    """Would a spreadsheet take this text for a formula (CSV injection)? A plain negative number
    (-5, -1,200.50) or a lone dash is not one: Excel reads it as the number or the text it is,
    and an apostrophe would only show up in the cell."""
    if not text or text[0] not in FIRST_CHARACTERS:  # nearly every cell: decided at once
        return False
    if text[0] in "\t\r":
        return True
    stripped = text.lstrip(LEADING_SPACES)
    if not stripped or stripped[0] not in FORMULA_STARTS:
        return False
    return not PLAIN_NEGATIVE.fullmatch(stripped)


def _local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def csv_text(value: Any) -> str:
    """One CSV cell: ISO dates, local times, numbers as written, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if looks_like_formula(value) else value
    if isinstance(value, datetime.datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):  # never produced by the columns; kept readable all the same
        return _("Yes") if value else _("No")
    if isinstance(value, int | float | Decimal):
        return str(value)
    return csv_text(str(value))


# --- CSV ----------------------------------------------------------------------------------------

UTF8_BOM = "utf-8-sig"
CP932 = "cp932"
FLUSH_BYTES = 64 * 1024


def _unencodable(text: str, encoding: str) -> str:
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in seen:
            try:
                ch.encode(encoding)
            except UnicodeEncodeError:
                seen[ch] = None
    return "".join(seen)


def csv_chunks(
    rows: Iterable[ExportRow],
    columns: list[Column],
    *,
    encoding: str = UTF8_BOM,
    report: EncodingReport | None = None,
) -> Iterator[bytes]:
    """The CSV file in pieces of about 64 KB, for streaming.

    In cp932, characters it cannot hold become 〓 and each such cell is added to `report`:
    the caller decides whether the file may go out (only when the user chose replacement).
    """
    report = report if report is not None else EncodingReport()
    codec = CP932 if encoding == CP932 else "utf-8"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    out: list[bytes] = ["\ufeff".encode() if encoding == UTF8_BOM else b""]
    size = 0

    def encoded(cells: list[str], row_number: int, row: ExportRow | None) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        line = buffer.getvalue()
        try:
            return line.encode(codec)
        except UnicodeEncodeError:
            pass
        cells = [cell.translate(CP932_SAME_CHARACTER) for cell in cells]
        for index, cell in enumerate(cells):
            bad = _unencodable(cell, codec)
            if not bad:
                continue
            report.add(
                Unencodable(
                    row=row_number,
                    column=columns[index].label,
                    characters=bad,
                    customer_id=row.pk if row else None,
                    customer_name=row.name if row else "",
                ),
                replaced=sum(cell.count(ch) for ch in bad),
            )
            cells[index] = "".join(REPLACEMENT if ch in bad else ch for ch in cell)
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue().encode(codec)

    out.append(encoded([column.label for column in columns], 1, None))
    for number, row in enumerate(rows, start=2):
        line = encoded([csv_text(value) for value in row.values], number, row)
        out.append(line)
        report.rows += 1
        size += len(line)
        if size >= FLUSH_BYTES:
            yield b"".join(out)
            out, size = [], 0
    yield b"".join(out)


def write_csv(
    rows: Iterable[ExportRow],
    columns: list[Column],
    out: IO[bytes],
    *,
    encoding: str = UTF8_BOM,
) -> EncodingReport:
    """Write the whole CSV to `out`; the report lists what cp932 could not hold."""
    report = EncodingReport()
    for chunk in csv_chunks(rows, columns, encoding=encoding, report=report):
        out.write(chunk)
    return report


# --- xlsx ---------------------------------------------------------------------------------------


def write_xlsx(
    rows: Iterable[ExportRow], columns: list[Column], out: IO[bytes], *, sheet_title: str
) -> int:
    """Write an .xlsx workbook with one sheet to `out`; return the number of data rows.

    The rows are streamed into the file (transfer/xlsx.py), so memory stays flat. A cell
    longer than Excel allows is a ValidationError naming its row and column.
    """
    from enishi.transfer import xlsx

    codes = [column.kind == CODE for column in columns]
    zone = timezone.get_current_timezone()  # once, not per cell
    workbook = xlsx.Workbook(out, sheet_title=sheet_title, widths=[c.width for c in columns])
    count = 0
    try:
        workbook.sheet.row(
            (c.label, xlsx.HEADER if not looks_like_formula(c.label) else xlsx.QUOTED)
            for c in columns
        )
        for count, row in enumerate(rows, start=1):  # noqa: B007 - the count is returned
            cells = []
            for index, (value, code) in enumerate(zip(row.values, codes, strict=True)):
                style = xlsx.CODE if code else xlsx.PLAIN
                if isinstance(value, str):
                    if len(value) > XLSX_MAX_CELL:
                        raise _too_long(columns[index], count + 1, value)
                    if looks_like_formula(value):
                        style = xlsx.CODE_QUOTED if code else xlsx.QUOTED
                    # A line break inside an Excel cell is LF.
                    value = value.replace("\r\n", "\n").replace("\r", "\n")
                elif isinstance(value, datetime.datetime) and timezone.is_aware(value):
                    value = value.astimezone(zone).replace(tzinfo=None)
                cells.append((value, style))
            workbook.sheet.row(cells)
        workbook.close()
    except BaseException:
        workbook.abort()
        raise
    return count


def _too_long(column: Column, row_number: int, value: str) -> ValidationError:
    return ValidationError(
        gettext_lazy(
            "Row %(row)s, column %(column)s holds %(count)s characters; an Excel cell "
            "holds at most %(max)s. Export as CSV instead."
        ),
        code="cell_too_long",
        params={
            "row": row_number,
            "column": column.label,
            "count": f"{len(value):,}",
            "max": f"{XLSX_MAX_CELL:,}",
        },
    )
