"""Any text survives a UTF-8 CSV export: read back with the csv module, a cell is what was
written, but for the apostrophe that defuses a formula."""

import csv
import io
from operator import itemgetter

from hypothesis import given, settings
from hypothesis import strategies as st

from enishi.transfer.export import Column, ExportRow, looks_like_formula, write_csv

COLUMNS = [Column(f"c{i}", f"列{i}", "g", itemgetter(f"c{i}")) for i in range(3)]
# Any Unicode text but lone surrogates (no database column can hold one), with the characters
# that matter to CSV and to spreadsheets made likely.
cells = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list(',"\r\n\t =+-@＝＋－＠\u3000\ufeff')),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(cells, min_size=3, max_size=3), max_size=5))
def test_it_reads_back_what_it_wrote(table):
    out = io.BytesIO()
    write_csv([ExportRow(i, "", row) for i, row in enumerate(table)], COLUMNS, out)
    read = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline="")))
    assert read[0] == [c.label for c in COLUMNS]
    expected = [["'" + v if looks_like_formula(v) else v for v in row] for row in table]
    assert read[1:] == expected


XML_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from(list("<>&\"' \n\t=+-@＝\u3000")),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(XML_TEXT, min_size=3, max_size=3), max_size=4))
def test_any_text_survives_an_xlsx_export(table):
    """Read back with openpyxl, a cell is the text written but for what XML 1.0 cannot hold
    (C0 controls but tab and LF, U+FFFE, U+FFFF) and CR, which becomes Excel's LF."""
    import re

    import openpyxl

    from enishi.transfer.export import write_xlsx

    out = io.BytesIO()
    write_xlsx(
        [ExportRow(i, "", row) for i, row in enumerate(table)], COLUMNS, out, sheet_title="t"
    )
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    illegal = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
    for r, row in enumerate(table, start=2):
        for c, value in enumerate(row, start=1):
            expected = illegal.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
            assert (ws.cell(row=r, column=c).value or "") == expected
