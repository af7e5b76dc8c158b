"""Reading uploaded files: what they really are, their encoding, delimiter, sheets and header row.

Nothing here trusts the file name: the first bytes decide whether a file is a workbook, text or
something else (a PDF, an old .xls, a Word file), and the message says which. Text files are
decoded by a strict try-order (UTF-8, cp932, EUC-JP; a BOM wins outright); when more than one
encoding reads the bytes, charset-normalizer's coherence picks one and the page says it was a
guess. Workbooks are read in openpyxl's read-only mode (constant memory), formulas as the
values Excel saved with them (never evaluated here; a formula saved without its value comes as
an `UnsavedFormula`, which the check turns into a problem on its row instead of an empty cell).
A merged cell is one value: copied down the rows it spans (a company name merged over its
contacts belongs to each of them) but never across columns, where it would land in unrelated
fields — except in the header row, where a heading merged over several columns names each.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enishi.core.later import later, stored, translated
from enishi.imports import conf

SAMPLE_BYTES = 256 * 1024
HEADER_SCAN_ROWS = 30
SAMPLE_ROWS = 5
# A cell longer than this is not customer data: the file is probably not what it claims.
CELL_LIMIT = 128 * 1024
UNREADABLE = "\ufffd"

ENCODINGS: tuple[tuple[str, Any], ...] = (
    ("utf-8", gettext_lazy("UTF-8")),
    ("utf-8-sig", gettext_lazy("UTF-8 with BOM")),
    ("cp932", gettext_lazy("Shift_JIS (cp932, Japanese Windows / Excel)")),
    ("euc_jp", gettext_lazy("EUC-JP")),
    ("utf-16", gettext_lazy("UTF-16 (Excel “Unicode text”)")),
)
ENCODING_NAMES = {code for code, _label in ENCODINGS}
DELIMITERS: tuple[tuple[str, Any], ...] = (
    (",", gettext_lazy("Comma (,)")),
    ("\t", gettext_lazy("Tab")),
    (";", gettext_lazy("Semicolon (;)")),
    ("|", gettext_lazy("Vertical bar (|)")),
)
DELIMITER_CHARS = {code for code, _label in DELIMITERS}
# Sheet XML and shared strings may expand this much beyond the upload limit (zip bombs).
XLSX_EXPANSION = 25


_DAMAGED = gettext_lazy(
    "This file looks like an Excel workbook but cannot be opened: it may be damaged."
)


class ImportFileError(Exception):
    """The file cannot be read as an import. `stored` keeps why for later (`core.later`: a
    gettext_lazy proxy with its parameters, stored on the run and read in each reader's
    language); `message` says it in the active language."""

    def __init__(self, message: Any, /, **params: Any) -> None:
        self.stored = later(message, **params).stored if params else stored(message)
        super().__init__(translated(self.stored))

    @property
    def message(self) -> str:
        return translated(self.stored)


# --- what the file is ----------------------------------------------------------------------


def sniff_format(head: bytes, names: list[str] | None = None) -> str:
    """ "xlsx" or "csv" from the first bytes (and a zip's member names); else ImportFileError."""
    if not head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise ImportFileError(gettext_lazy("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        names = names or []
        if "xl/workbook.xml" in names:
            return "xlsx"
        if any(n.startswith("word/") for n in names):
            raise ImportFileError(
                gettext_lazy(
                    "This is a Word document. Save the list as .xlsx or CSV and upload that."
                )
            )
        if "content.xml" in names:
            raise ImportFileError(
                gettext_lazy(
                    "This is an OpenDocument (LibreOffice) file. Save it as .xlsx or CSV "
                    "and upload that."
                )
            )
        raise ImportFileError(
            gettext_lazy(
                "This is a ZIP archive, not a workbook. Upload the .xlsx or CSV file inside it."
            )
        )
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise ImportFileError(
            gettext_lazy(
                "This is an old Excel file (.xls) or a password-protected workbook. Open it in "
                "Excel and save it as .xlsx (without a password) or as CSV."
            )
        )
    for magic, what in (
        (b"%PDF", gettext_lazy("a PDF document")),
        (b"\x89PNG", gettext_lazy("an image")),
        (b"\xff\xd8\xff", gettext_lazy("an image")),
        (b"GIF8", gettext_lazy("an image")),
        (b"{\\rtf", gettext_lazy("a rich-text document")),
    ):
        if head.startswith(magic):
            raise ImportFileError(
                gettext_lazy(
                    "This file is %(what)s, not a spreadsheet. Upload an .xlsx, CSV or TSV file."
                ),
                what=what,
            )
    if _looks_binary(head):
        raise ImportFileError(
            gettext_lazy(
                "This file does not contain text or a workbook that can be read. Upload an "
                ".xlsx, CSV or TSV file."
            )
        )
    return "csv"


def _looks_binary(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    sample = head[:8192]
    if _utf16_without_bom(sample):
        return False
    # A stray NUL in a text file happens (it becomes a problem on its row); binary files are
    # full of them and of other control bytes.
    controls = sum(1 for b in sample if b < 0x09 or 0x0E <= b < 0x20)
    return sample.count(0) > max(2, len(sample) // 200) or controls > len(sample) * 0.05


def _utf16_without_bom(sample: bytes) -> str | None:
    """ "utf-16-le" / "utf-16-be" when every other byte is NUL (ASCII-heavy UTF-16 text)."""
    if len(sample) < 8:
        return None
    even = sample[0::2]
    odd = sample[1::2]
    if odd.count(0) > len(odd) * 0.6 and even.count(0) < len(even) * 0.1:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.6 and odd.count(0) < len(odd) * 0.1:
        return "utf-16-be"
    return None


# --- text encodings --------------------------------------------------------------------------


def _strict_decode(data: bytes, encoding: str, *, complete: bool) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        # final=False forgives a character cut in half at the end of a sample.
        return decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        return None


def detect_encoding(sample: bytes, *, complete: bool = False) -> tuple[str, bool]:
    """(encoding, certain) for a text sample. A BOM decides; otherwise the encodings that
    read the bytes strictly are tried in the order UTF-8, cp932, EUC-JP."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    if _utf16_without_bom(sample[:8192]):
        return _utf16_without_bom(sample[:8192]) or "utf-16", False
    readable = [
        encoding
        for encoding in ("utf-8", "cp932", "euc_jp")
        if _strict_decode(sample, encoding, complete=complete) is not None
    ]
    if readable[:1] == ["utf-8"]:
        # ASCII-only text reads in all three; UTF-8 is then as good as any.
        return "utf-8", True
    if len(readable) == 1:
        return readable[0], True
    import charset_normalizer

    if readable:
        best = _best_of(charset_normalizer, sample, readable)
        return (best or readable[0]), False
    # A few broken bytes in an otherwise good file: read it, and mark the rows they are in.
    damaged = []
    for encoding in ("utf-8", "cp932", "euc_jp"):
        text = sample.decode(encoding, errors="replace")
        damaged.append(
            (
                text.count(UNREADABLE) - sample.decode(encoding, errors="ignore").count(UNREADABLE),
                encoding,
            )
        )
    errors, encoding = min(damaged)
    if errors <= max(3, len(sample) // 2000):
        return encoding, False
    guess = charset_normalizer.from_bytes(sample[:65536]).best()
    if guess is not None:
        name = codecs.lookup(guess.encoding).name
        for supported in ("cp932", "euc_jp", "utf-8"):
            if codecs.lookup(supported).name == name:
                return supported, False
    raise ImportFileError(
        gettext_lazy(
            "The file's characters could not be read as UTF-8, Shift_JIS (cp932) or EUC-JP. "
            "Save it from Excel as “CSV UTF-8” and upload it again."
        )
    )


def _best_of(charset_normalizer, sample: bytes, encodings: list[str]) -> str | None:
    """Of several encodings that all read the bytes, the one whose text is least chaotic."""
    scored = []
    for encoding in encodings:
        for match in charset_normalizer.from_bytes(sample[:65536], cp_isolation=[encoding]):
            scored.append((match.chaos, -match.coherence, encodings.index(encoding), encoding))
    return min(scored)[3] if scored else None


def encoding_label(encoding: str) -> str:
    return str(dict(ENCODINGS).get(encoding, encoding))


def delimiter_label(delimiter: str) -> str:
    return str(dict(DELIMITERS).get(delimiter, delimiter))


def detect_delimiter(lines: list[str], *, file_name: str = "") -> str:
    """The delimiter that splits the first lines into the most consistent number of cells."""
    if file_name.lower().endswith((".tsv", ".tab")) and any("\t" in line for line in lines):
        return "\t"
    best, best_score = ",", 0.0
    for delimiter in (",", "\t", ";", "|"):
        try:
            rows = [r for r in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not rows:
            continue
        widths: dict[int, int] = {}
        for row in rows:
            widths[len(row)] = widths.get(len(row), 0) + 1
        width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
        if width < 2:
            continue
        score = width * count / len(rows)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- cells ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnsavedFormula:
    """A workbook cell holding a formula whose result was never saved (the workbook was
    written by a program and never opened in Excel): its value is unknown, not empty."""

    formula: str

    def __str__(self) -> str:
        return self.formula


def cell_text(value: Any) -> str:
    """A cell as text, as the person would see it in the spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, UnsavedFormula):
        return value.formula
    text = getattr(value, "text", None)  # openpyxl's ArrayFormula / DataTableFormula
    if isinstance(text, str):
        return text
    return str(value)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- layout -----------------------------------------------------------------------------------


@dataclass
class SheetInfo:
    name: str
    rows: int
    hidden: bool = False


@dataclass
class Layout:
    """How a file is read: what the upload page found, and what the person may override."""

    format: str
    encoding: str = ""
    encoding_certain: bool = True
    delimiter: str = ""
    sheets: list[SheetInfo] = field(default_factory=list)
    sheet: str = ""
    header_row: int = 1  # 1-based; 0: no header row
    headers: list[str] = field(default_factory=list)
    sample: list[list[str]] = field(default_factory=list)
    # Worth knowing about the file, each stored for later (`core.later`).
    notes: list[Any] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.headers)


@dataclass
class SourceRow:
    line: int  # row number in the sheet, line number in the text file
    cells: list[Any]
    # The file ended inside this row's quoted cell: a quote was not closed, and whatever
    # followed it (often the rest of the file) was read into that one cell.
    unclosed_quote: bool = False
    # Workbooks: (first, last) 0-based columns of each cell merged across columns on this row;
    # its value is in the first only.
    merged_across: list[tuple[int, int]] = field(default_factory=list)
    # Text files: how many cells the line had as written, empty ones at its end included (they
    # are dropped from `cells`). Fewer than the header row's means cells are missing, not empty:
    # often a line break inside a value without quotes. None for workbooks, whose rows have
    # every cell and only empty ones at the end.
    written_cells: int | None = None


def inspect(
    path: Path,
    *,
    file_name: str = "",
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    known_headers: set[str] | None = None,
) -> Layout:
    """Find the layout of an uploaded file (overrides win over what is detected)."""
    with open_binary(path) as fh:
        head = fh.read(SAMPLE_BYTES)
        complete = len(head) < SAMPLE_BYTES
    names: list[str] = []
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            raise ImportFileError(_DAMAGED) from None
    file_format = sniff_format(head, names)
    if file_format == "xlsx":
        layout = _inspect_xlsx(path, sheet=sheet)
    else:
        layout = _inspect_text(
            head, complete, file_name=file_name, encoding=encoding, delimiter=delimiter
        )
        if file_name.lower().endswith((".xlsx", ".xlsm", ".xls")):
            layout.notes.append(
                stored(
                    gettext_lazy(
                        "The file is named like a workbook but contains text: it is read as CSV."
                    )
                )
            )
    first = _first_rows(path, layout, HEADER_SCAN_ROWS + SAMPLE_ROWS)
    if not first:
        raise ImportFileError(gettext_lazy("The file is empty: it has no rows with values."))
    if header_row is None:
        header_row = detect_header_row(first, known_headers or set())
    layout.header_row = header_row
    if header_row:
        # The header row says how many columns there are; a longer row is a problem of its own.
        header = next((r for r in first if r.line == header_row), None)
        header_cells = _merged_headings(header) if header else []
        width = len(header_cells) or max(len(r.cells) for r in first)
        layout.headers = header_names([cell_text(c) for c in header_cells], width)
    else:
        width = max(len(r.cells) for r in first)
        layout.headers = header_names([], width)
    after = [r for r in first if r.line > header_row][:SAMPLE_ROWS]
    layout.sample = [[cell_text(c) for c in r.cells] + [""] * (width - len(r.cells)) for r in after]
    return layout


def _merged_headings(row: SourceRow) -> list[Any]:
    """The header row's cells, a heading merged over several columns naming each of them
    (repeats are numbered by `header_names`: 住所, 住所 (2) …), so no column is left nameless."""
    cells = list(row.cells)
    for first, last in row.merged_across:
        value = cells[first] if first < len(cells) else None
        if value in (None, ""):
            continue
        cells.extend([None] * (last + 1 - len(cells)))
        for index in range(first + 1, last + 1):
            if cells[index] in (None, ""):
                cells[index] = value
    return cells


def header_names(cells: list[str], width: int) -> list[str]:
    """Headers as shown: spaces collapsed, empty ones named by their column, repeats numbered."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for index in range(max(width, len(cells))):
        raw = cells[index] if index < len(cells) else ""
        name = re.sub(r"\s+", " ", raw).strip()[:100]
        if not name:
            name = _("Column %(letter)s") % {"letter": column_letter(index)}
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _inspect_text(
    head: bytes, complete: bool, *, file_name: str, encoding: str | None, delimiter: str | None
) -> Layout:
    detected, certain = detect_encoding(head, complete=complete)
    chosen = (
        encoding if encoding in ENCODING_NAMES or encoding in ("utf-16-le", "utf-16-be") else None
    )
    if chosen == "utf-16" and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # UTF-16 without its byte order mark: only when the bytes look like it (a NUL beside
        # every ASCII character), and then with the byte order they show.
        chosen = _utf16_without_bom(head[:8192])
        if chosen is None:
            raise ImportFileError(
                gettext_lazy(
                    "This file is not UTF-16 text: it has neither the mark UTF-16 files start "
                    "with nor their pattern of bytes. Choose another encoding."
                )
            )
    layout = Layout(
        format="csv", encoding=chosen or detected, encoding_certain=certain or bool(chosen)
    )
    text = head.decode(_codec(layout.encoding), errors="replace")
    lines = text.splitlines()[:60]
    if not complete and lines:
        lines = lines[:-1]  # the last line of a sample may be cut short
    layout.delimiter = (
        delimiter if delimiter in DELIMITER_CHARS else detect_delimiter(lines, file_name=file_name)
    )
    return layout


def _codec(encoding: str) -> str:
    return encoding or "utf-8"


def _inspect_xlsx(path: Path, *, sheet: str | None) -> Layout:
    workbook = _open_workbook(path)
    try:
        sheets = []
        for ws in workbook.worksheets:
            rows = ws.max_row or 0
            sheets.append(SheetInfo(name=ws.title, rows=rows, hidden=ws.sheet_state != "visible"))
        names = [s.name for s in sheets]
        if sheet not in names:
            active = workbook.active.title if workbook.active is not None else None
            with_data = [s.name for s in sheets if s.rows > 1 and not s.hidden]
            sheet = active if active in with_data else (with_data or names or [""])[0]
    finally:
        workbook.close()
    return Layout(format="xlsx", sheets=sheets, sheet=sheet or "")


def _open_workbook(path: Path):
    import openpyxl

    open_binary(path).close()
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise ImportFileError(_DAMAGED) from None
    if expanded > conf.max_bytes() * XLSX_EXPANSION:
        raise ImportFileError(
            gettext_lazy(
                "This workbook unpacks to more data than imports accept. Save it as CSV instead."
            )
        )
    try:
        # A formula cell is read as the value Excel saved with it (what the person sees in
        # the sheet), never evaluated here; a workbook saved without values (written by a
        # program, never opened in Excel) has empty cells there.
        return openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl raises many kinds for damaged files
        raise ImportFileError(_DAMAGED) from None


# --- header row -----------------------------------------------------------------------------


def _is_number_like(text: str) -> bool:
    return bool(re.fullmatch(r"[\d\s,.\-+/:年月日〒()（）]+", text))


def detect_header_row(rows: list[SourceRow], known: set[str]) -> int:
    """The 1-based row holding the headers: the one naming the most known headers, else the
    first row that is as wide as the table and made of distinct words, not numbers."""
    from enishi.imports.targets import header_key

    best_line, best_known = 0, 0
    widest = max((sum(1 for c in r.cells if cell_text(c).strip()) for r in rows), default=0)
    for row in rows[:HEADER_SCAN_ROWS]:
        texts = [cell_text(c).strip() for c in row.cells if cell_text(c).strip()]
        recognised = sum(1 for t in texts if header_key(t) in known)
        if recognised > best_known:
            best_line, best_known = row.line, recognised
    if best_known >= 2 or (best_known == 1 and widest <= 2):
        return best_line
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        texts = [cell_text(c).strip() for c in row.cells if cell_text(c).strip()]
        if len(texts) < max(2, round(widest * 0.6)):
            continue
        if any(not isinstance(c, str) for c in row.cells if c not in (None, "")):
            continue
        if len(set(texts)) != len(texts) or any(_is_number_like(t) for t in texts):
            continue
        if index + 1 < len(rows) or len(rows) == 1:
            return row.line
    return rows[0].line if rows else 1


# --- reading rows --------------------------------------------------------------------------------


def _first_rows(path: Path, layout: Layout, limit: int) -> list[SourceRow]:
    rows = []
    for row in iter_source(path, layout, skip_header=False):
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows


def iter_rows(path: Path, layout: Layout) -> Iterator[SourceRow]:
    """The data rows (after the header row), blank rows left out."""
    return iter_source(path, layout, skip_header=True)


def iter_source(path: Path, layout: Layout, *, skip_header: bool) -> Iterator[SourceRow]:
    source = _iter_xlsx(path, layout.sheet) if layout.format == "xlsx" else _iter_text(path, layout)
    for row in source:
        if skip_header and row.line <= layout.header_row:
            continue
        cells = list(row.cells)
        while cells and (
            cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())
        ):
            cells.pop()
        if cells:
            yield SourceRow(
                row.line,
                cells,
                row.unclosed_quote,
                row.merged_across,
                None if layout.format == "xlsx" else len(row.cells),
            )


def _nul_free(stream: io.TextIOBase) -> Iterator[str]:
    # The csv module refuses NUL; it cannot be stored anyway. It becomes the mark of an
    # unreadable character, which puts a problem on the row instead of failing the file.
    for line in stream:
        yield line.replace("\x00", UNREADABLE) if "\x00" in line else line


def _opens_unclosed_quote(text: str, delimiter: str) -> bool:
    if text.count('"') % 2 == 0:
        return False
    stripped = text.lstrip()
    return stripped.startswith('"') or f'{delimiter}"' in text


def open_binary(path: Path):
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise ImportFileError(
            gettext_lazy("The uploaded file is no longer on the server: upload it again.")
        ) from None


def _iter_text(path: Path, layout: Layout) -> Iterator[SourceRow]:
    with open_binary(path) as raw:
        stream = io.TextIOWrapper(
            raw, encoding=_codec(layout.encoding), errors="replace", newline=""
        )
        consumed: list[str] = []

        def lines() -> Iterator[str]:
            for line in _nul_free(stream):
                consumed.append(line)
                yield line

        reader = csv.reader(lines(), delimiter=layout.delimiter or ",")
        previous = 0
        last: SourceRow | None = None
        try:
            for cells in reader:
                if last is not None:
                    yield last
                last = SourceRow(previous + 1, cells)
                previous = reader.line_num
                text = "".join(consumed)  # the lines this row was read from
                consumed.clear()
            if last is not None:
                # Only the last row can end inside quotes (the csv module then ends the cell
                # at the end of the file without a word): an odd number of quotes that opens
                # a cell says so.
                last.unclosed_quote = _opens_unclosed_quote(text, layout.delimiter or ",")
                yield last
        except UnicodeError:
            raise ImportFileError(
                gettext_lazy(
                    "Line %(line)s cannot be read as %(encoding)s: choose another encoding."
                ),
                line=f"{previous + 1:,}",
                encoding=dict(ENCODINGS).get(layout.encoding, layout.encoding),
            ) from None
        except csv.Error as exc:
            if "field larger" in str(exc):
                raise ImportFileError(
                    gettext_lazy(
                        "Line %(line)s has a cell longer than %(limit)s characters: this does "
                        "not look like a list of customers (or a quote is not closed)."
                    ),
                    line=f"{previous + 1:,}",
                    limit=f"{CELL_LIMIT:,}",
                ) from None
            raise ImportFileError(
                gettext_lazy("Line %(line)s cannot be read as CSV: %(error)s"),
                line=f"{previous + 1:,}",
                error=str(exc),
            ) from None


csv.field_size_limit(CELL_LIMIT)


# Cell types whose empty value is a saved result (a formula that gave ""), not a missing one.
_TEXT_TYPES = frozenset({"str", "inlineStr", "s"})
FORMULA_SHOWN = 60


@dataclass
class _SheetExtras:
    """What openpyxl's read-only rows do not say: the merged cells and the formulas saved
    without their value."""

    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    # {row: [(column, formula)]}, 1-based
    unsaved: dict[int, list[tuple[int, str]]] = field(default_factory=dict)


# A formula or a merged cell anywhere in a sheet's XML (any namespace prefix).
_EXTRAS_MARK = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:f|mergeCell)[\s/>]")
_SCAN_CHUNK = 1024 * 1024


def _has_extras(ws) -> bool:
    """Whether the sheet has formulas or merged cells at all: a scan of its raw bytes, about
    twenty times cheaper than parsing them, which most sheets (plain lists) then skip."""
    tail = b""
    with ws._get_source() as source:
        while chunk := source.read(_SCAN_CHUNK):
            if _EXTRAS_MARK.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


def _sheet_extras(ws) -> _SheetExtras:
    """One pass over the sheet's XML (the merged cells come after the rows): the formula cells
    without a saved value are noted on the way, at the cost of looking at each cell's
    children. A sheet with neither formulas nor merged cells is not parsed."""
    from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

    extras = _SheetExtras()
    if not _has_extras(ws):
        return extras
    with ws._get_source() as source:
        # expat 2.4+ refuses entity-expansion bombs and ElementTree resolves no external
        # entities; openpyxl parses the same file with the same parser.
        for _event, element in ElementTree.iterparse(source, events=("end",)):  # noqa: S314
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "c":
                _note_unsaved(element, extras, coordinate_to_tuple)
                element.clear()
            elif tag == "row":
                element.clear()
            elif tag == "mergeCell":
                try:
                    min_col, min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
                except (ValueError, TypeError):
                    continue
                extras.merged.append((min_row, min_col, max_row, max_col))
    return extras


def _note_unsaved(cell, extras: _SheetExtras, coordinate_to_tuple) -> None:
    formula = value = None
    for child in cell:
        name = child.tag.rsplit("}", 1)[-1]
        if name == "f":
            formula = child
        elif name == "v":
            value = child
    if formula is None or (value is not None and value.text):
        return
    if value is not None and cell.get("t") in _TEXT_TYPES:
        return  # saved, and it was ""
    try:
        row, column = coordinate_to_tuple(cell.get("r", ""))
    except (ValueError, TypeError, AttributeError):
        return
    # A formula shared from another cell has its text there; "=…" still says what it is.
    text = "=" + (formula.text or "…")
    if len(text) > FORMULA_SHOWN:
        text = text[: FORMULA_SHOWN - 1] + "…"
    extras.unsaved.setdefault(row, []).append((column, text))


def _iter_xlsx(path: Path, sheet: str) -> Iterator[SourceRow]:
    workbook = _open_workbook(path)
    try:
        if sheet not in workbook.sheetnames:
            raise ImportFileError(
                gettext_lazy("The workbook has no sheet called “%(name)s”."), name=sheet
            )
        ws = workbook[sheet]
        extras = _sheet_extras(ws)
        ws.reset_dimensions()  # some writers record a wrong size; read what is there
        pending = sorted(extras.merged)
        active: list[tuple[int, int, int, int, Any]] = []
        for line, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            cells = list(values)
            for column, formula in extras.unsaved.get(line, ()):
                if len(cells) < column:
                    cells.extend([None] * (column - len(cells)))
                if cells[column - 1] in (None, ""):
                    cells[column - 1] = UnsavedFormula(formula)
            while pending and pending[0][0] <= line:
                min_row, min_col, max_row, max_col = pending.pop(0)
                value = cells[min_col - 1] if min_col - 1 < len(cells) else None
                active.append((min_row, min_col, max_row, max_col, value))
            across = []
            if active:
                for min_row, min_col, _max_row, max_col, value in active:
                    if max_col > min_col:
                        across.append((min_col - 1, max_col - 1))
                    # Excel shows the value once, in the first cell; down the rows it belongs
                    # to each (a company over its contacts), across the columns to none of the
                    # others (a note merged over 備考 and 担当 is no owner).
                    if line != min_row:
                        if len(cells) < min_col:
                            cells.extend([None] * (min_col - len(cells)))
                        cells[min_col - 1] = value
                    for col in range(min_col + 1, min(max_col, len(cells)) + 1):
                        cells[col - 1] = None
                active = [a for a in active if a[2] > line]
            yield SourceRow(line, cells, merged_across=across)
    finally:
        workbook.close()
