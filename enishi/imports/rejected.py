"""The rejected rows as a file like the one uploaded: same format, encoding and delimiter, the same
columns, and one more saying why each row was rejected — to fix and upload again. The reasons
are in the language of the person downloading (they are stored for later, `core.later`).

Cells that a spreadsheet would take for a formula are written as text (an apostrophe before
them in CSV, a text cell in .xlsx): a file we hand out never carries a live formula. The import
removes that apostrophe again.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import IO

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from enishi.imports.files import column_letter
from enishi.imports.models import ImportRow, ImportRun
from enishi.imports.writing import column_labels, problems_text

FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")


def defused(text: str) -> str:
    stripped = text.lstrip(" \u3000")
    if text[:1] in ("\t", "\r") or (
        stripped and stripped[0] in FORMULA_STARTS and len(stripped) > 1
    ):
        return "'" + text
    return text


def rejected_rows(run: ImportRun):
    """After the run: the rows it rejected; before: the rows it will reject."""
    rows = run.rows.order_by("number")
    if run.rows.filter(result=ImportRow.Result.REJECTED).exists():
        return rows.filter(result=ImportRow.Result.REJECTED)
    return rows.filter(category=ImportRow.Category.INVALID)


def _reason(row: ImportRow, labels: dict[str, str]) -> str:
    if row.result == ImportRow.Result.REJECTED and row.result_message:
        return row.result_text
    return problems_text(row.problems, labels)


def rejected_file_name(run: ImportRun) -> str:
    stem = Path(run.file_name).stem or "import"
    if run.file_format == "xlsx":
        extension = "xlsx"
    else:
        extension = Path(run.file_name).suffix.lstrip(".").lower() or "csv"
        if extension not in ("csv", "tsv", "txt"):
            extension = "tsv" if run.delimiter == "\t" else "csv"
    suffix = pgettext("file name", "rejected")
    return f"{stem}-{suffix}.{extension}"


def rejected_content_type(run: ImportRun) -> str:
    if run.file_format == "xlsx":
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    # IANA names (Python's codec names such as utf-8-sig are not charsets).
    charset = {
        "cp932": "Windows-31J",
        "euc_jp": "EUC-JP",
        "utf-8-sig": "utf-8",
        "utf_8_sig": "utf-8",
        "utf-16-le": "utf-16le",
        "utf-16-be": "utf-16be",
    }.get(run.encoding, run.encoding or "utf-8")
    kind = "text/tab-separated-values" if run.delimiter == "\t" else "text/csv"
    return f"{kind}; charset={charset}"


def write_rejected(run: ImportRun) -> IO[bytes]:
    """A temporary file with the rejected rows (the caller sends and closes it)."""
    labels = column_labels(run)
    headers = list(run.headers)
    rows = rejected_rows(run).only(
        "number", "line", "values", "problems", "result", "result_message"
    )
    out = tempfile.TemporaryFile(prefix="enishi-rejected-")  # noqa: SIM115 - returned open
    width = len(headers)
    reason_header = _("Why it was rejected")
    line_header = _("Row in the file")
    if run.file_format == "xlsx":
        _write_xlsx(run, out, headers, rows, labels, reason_header, line_header)
    else:
        encoding = run.encoding or "utf-8"
        text = io.TextIOWrapper(
            out, encoding=encoding, errors="replace", newline="", write_through=True
        )
        writer = csv.writer(text, delimiter=run.delimiter or ",", lineterminator="\r\n")
        for row in rows.iterator(chunk_size=2000):
            extra = len(row.values) - width
            if extra > 0:
                headers += [
                    _("Column %(letter)s") % {"letter": column_letter(width + i)}
                    for i in range(extra)
                ]
                width = len(headers)
        writer.writerow([*headers, line_header, reason_header])
        for row in rows.iterator(chunk_size=2000):
            values = [defused(v) for v in row.values] + [""] * (width - len(row.values))
            writer.writerow([*values, row.line, _reason(row, labels)])
        text.flush()
        text.detach()
    out.seek(0)
    return out


def _write_xlsx(run, out, headers, rows, labels, reason_header, line_header) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(run.sheet or _("Rejected rows"))[:31])

    def text_cell(value):
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell

    sheet.append([text_cell(h) for h in [*headers, line_header, reason_header]])
    width = len(headers)
    for row in rows.iterator(chunk_size=2000):
        values = list(row.values) + [""] * (width - len(row.values))
        sheet.append([text_cell(v) for v in values] + [row.line, text_cell(_reason(row, labels))])
    workbook.save(out)
