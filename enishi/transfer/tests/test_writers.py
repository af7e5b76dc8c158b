"""The file writers on their own: encodings, what cp932 cannot hold, the formula guard,
codes and phones kept as text, real dates in .xlsx."""

import csv
import datetime
import io
import zipfile
from decimal import Decimal
from operator import itemgetter

import openpyxl
import pytest
from django.utils import translation

from enishi.transfer.export import (
    CODE,
    DATE,
    DATETIME,
    INTEGER,
    MAX_LISTED,
    Column,
    ExportRow,
    csv_chunks,
    looks_like_formula,
    write_csv,
    write_xlsx,
)

NAME = Column("name", "氏名", "g", itemgetter("name"), ("name",))
PHONE = Column("phone", "電話番号", "g", itemgetter("phone"), ("phone",), CODE)
NOTES = Column("notes", "備考", "g", itemgetter("notes"), ("notes",))
COUNT = Column("employees", "従業員数", "g", itemgetter("employees"), ("employees",), INTEGER)
BIRTHDAY = Column("birthday", "誕生日", "g", itemgetter("birthday"), ("birthday",), DATE)
UPDATED = Column("updated_at", "更新日時", "g", itemgetter("updated_at"), ("updated_at",), DATETIME)

# Every way a cell can start a formula in Excel, LibreOffice or Google Sheets.
TRIGGERS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
    " =1+1",
    "\u3000=1+1",
    "  @x",
]
HYPERLINK = '=HYPERLINK("http://x","y")'


def rows(*names, column="name"):
    return [ExportRow(i, f"#{i}", [value]) for i, value in enumerate(names, start=1)]


def csv_bytes(values, columns=(NAME,), encoding="utf-8-sig"):
    data = [ExportRow(i, f"#{i}", list(v)) for i, v in enumerate(values, start=1)]
    out = io.BytesIO()
    report = write_csv(data, list(columns), out, encoding=encoding)
    return out.getvalue(), report


def read_csv(data: bytes, encoding="utf-8-sig"):
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def xlsx_sheet(values, columns=(NAME,)):
    data = [ExportRow(i, f"#{i}", list(v)) for i, v in enumerate(values, start=1)]
    out = io.BytesIO()
    count = write_xlsx(data, list(columns), out, sheet_title="顧客")
    assert count == len(values)
    out.seek(0)
    return openpyxl.load_workbook(out).active


class TestCsvUtf8:
    def test_it_starts_with_a_bom_and_a_header(self):
        data, _report = csv_bytes([["山田 太郎"]])
        assert data.startswith(b"\xef\xbb\xbf")
        assert read_csv(data) == [["氏名"], ["山田 太郎"]]

    def test_it_ends_lines_as_excel_does(self):
        data, _report = csv_bytes([["a"], ["b"]])
        assert data.count(b"\r\n") == 3

    def test_it_keeps_any_character_and_quotes_line_breaks(self):
        text = '𠮷野家 😀 "引用" a,b\n二行目'
        data, report = csv_bytes([[text]])
        assert read_csv(data)[1] == [text]
        assert report.count == 0

    def test_it_writes_dates_as_iso_and_times_in_local_time(self):
        moment = datetime.datetime(2026, 11, 24, 1, 2, 3, tzinfo=datetime.UTC)
        data, _report = csv_bytes(
            [[datetime.date(1980, 4, 1), moment, 12]], columns=(BIRTHDAY, UPDATED, COUNT)
        )
        assert read_csv(data)[1] == ["1980-04-01", "2026-11-24 10:02:03", "12"]

    def test_it_keeps_leading_zeros(self):
        data, _report = csv_bytes([["09012345678", "0012"]], columns=(PHONE, NAME))
        assert read_csv(data)[1] == ["09012345678", "0012"]

    def test_it_streams_in_pieces(self):
        chunks = list(csv_chunks(rows(*["x" * 1000] * 300), [NAME]))
        assert len(chunks) > 2
        assert sum(len(c) for c in chunks) > 300_000


class TestCp932:
    def test_it_writes_bytes_japanese_excel_reads(self):
        text = "髙橋 﨑 ① ㈱ ｱｲｳ 彅 ～"
        data, report = csv_bytes([[text]], encoding="cp932")
        assert report.count == 0
        assert not data.startswith(b"\xef\xbb\xbf")
        assert read_csv(data, "cp932") == [["氏名"], [text]]
        assert "①".encode("cp932") in data

    def test_it_writes_the_jis_dashes_and_wave_dash_as_cp932_has_them(self):
        data, report = csv_bytes([["10〜12時 — 2−1"]], encoding="cp932")
        assert report.count == 0
        assert b"\x81\x60" in data  # 〜 is cp932's ～
        assert b"\x81\x5c" in data  # — is the same JIS character as cp932's ―
        assert b"\x81\x7c" in data  # − is cp932's －

    def test_it_reports_every_character_it_cannot_hold_with_row_and_column(self):
        data, report = csv_bytes(
            [["𠮷田 花子", "03-1234-5678"], ["山田", "090-0000-0000"], ["佐藤 😀🙇", "x€"]],
            columns=(NAME, PHONE),
            encoding="cp932",
        )
        found = [(p.row, p.column, p.characters, p.customer_id) for p in report.problems]
        assert found == [(2, "氏名", "𠮷", 1), (4, "氏名", "😀🙇", 3), (4, "電話番号", "€", 3)]
        assert report.count == 3 and report.characters == 4 and report.rows == 3
        assert report.problems[0].code_points() == "U+20BB7"
        # Never dropped: each character became the visible 〓 (sent only if the user agrees).
        assert read_csv(data, "cp932")[1] == ["〓田 花子", "03-1234-5678"]

    @pytest.mark.parametrize("text", ["𠮷", "😀", "\u00a0", "™", "–", "俱", "剝", "𩸽"])
    def test_these_characters_are_not_in_cp932(self, text):
        _data, report = csv_bytes([[f"a{text}b"]], encoding="cp932")
        assert report.problems[0].characters == text

    def test_a_header_it_cannot_hold_is_reported_as_row_one(self):
        label = Column("cf:x", "好きな絵文字😀", "g", itemgetter("x"), ("x",))
        _data, report = csv_bytes([["a"]], columns=(label,), encoding="cp932")
        assert [(p.row, p.customer_id) for p in report.problems] == [(1, None)]

    def test_it_lists_the_first_problems_and_counts_them_all(self):
        _data, report = csv_bytes([["😀"]] * (MAX_LISTED + 20), encoding="cp932")
        assert len(report.problems) == MAX_LISTED
        assert report.count == MAX_LISTED + 20


class TestFormulaGuard:
    @pytest.mark.parametrize("value", TRIGGERS + [HYPERLINK])
    def test_a_csv_cell_that_starts_a_formula_gets_an_apostrophe(self, value):
        data, _report = csv_bytes([[value]])
        assert read_csv(data)[1] == ["'" + value]

    @pytest.mark.parametrize("value", TRIGGERS + [HYPERLINK])
    def test_the_guard_holds_in_cp932_too(self, value):
        data, _report = csv_bytes([[value]], encoding="cp932")
        assert read_csv(data, "cp932")[1] == ["'" + value]

    @pytest.mark.parametrize("value", ["a=b", "山田=1", "03-1234-5678", "(株)山田", "", "'quoted"])
    def test_ordinary_text_is_left_alone(self, value):
        assert not looks_like_formula(value)
        data, _report = csv_bytes([[value]])
        assert read_csv(data)[1] == [value]

    @pytest.mark.parametrize("value", ["-5", "-1,200.50", "-0.5", "-"])
    def test_a_plain_negative_number_or_a_dash_is_written_as_it_is(self, value):
        assert not looks_like_formula(value)
        data, _report = csv_bytes([[value]])
        assert read_csv(data)[1] == [value]

    @pytest.mark.parametrize("value", ["-5+cmd|' /C calc'!A0", "-5-", "--5", "-5e3", "-1,2"])
    def test_a_dash_before_anything_else_is_still_defused(self, value):
        assert looks_like_formula(value)

    def test_numbers_are_numbers_not_text(self):
        data, _report = csv_bytes([[-5]], columns=(COUNT,))
        assert read_csv(data)[1] == ["-5"]

    @pytest.mark.parametrize("value", TRIGGERS + [HYPERLINK, "#N/A", "#REF!", "=", "=A1"])
    def test_an_xlsx_cell_is_a_plain_string_never_a_formula(self, value):
        cell = xlsx_sheet([[value]])["A2"]
        assert cell.data_type == "s"
        assert cell.value == value.replace("\r", "\n")  # Excel's line break in a cell is LF
        if looks_like_formula(value):
            assert cell.quotePrefix  # and stays text if someone edits it in Excel

    def test_the_hyperlink_is_inert_in_both_formats(self):
        data, _report = csv_bytes([[HYPERLINK]])
        assert read_csv(data)[1][0].startswith("'=")
        cell = xlsx_sheet([[HYPERLINK]])["A2"]
        assert (cell.data_type, cell.value, cell.hyperlink) == ("s", HYPERLINK, None)


class TestXlsx:
    def test_it_writes_a_bold_header_and_freezes_it(self):
        ws = xlsx_sheet([["山田"]])
        assert ws["A1"].value == "氏名" and ws["A1"].font.b
        assert ws.freeze_panes == "A2"
        assert ws.title == "顧客"

    def test_phones_and_codes_stay_text_with_their_leading_zero(self):
        ws = xlsx_sheet([["09012345678"]], columns=(PHONE,))
        cell = ws["A2"]
        assert (cell.value, cell.data_type, cell.number_format) == ("09012345678", "s", "@")

    def test_dates_are_real_dates_and_times_local(self):
        moment = datetime.datetime(2026, 11, 24, 1, 2, 3, tzinfo=datetime.UTC)
        ws = xlsx_sheet([[datetime.date(1980, 4, 1), moment, 12]], (BIRTHDAY, UPDATED, COUNT))
        birthday, updated, count = ws["A2"], ws["B2"], ws["C2"]
        assert birthday.is_date and birthday.value == datetime.datetime(1980, 4, 1)
        assert updated.is_date and updated.value == datetime.datetime(2026, 11, 24, 10, 2, 3)
        assert (count.value, count.data_type) == (12, "n")

    def test_it_keeps_characters_outside_cp932(self):
        assert xlsx_sheet([["𠮷野家 😀"]])["A2"].value == "𠮷野家 😀"

    def test_line_breaks_become_excels_own(self):
        assert xlsx_sheet([["一行目\r\n二行目\r三行目"]])["A2"].value == "一行目\n二行目\n三行目"

    def test_control_characters_an_xlsx_cannot_hold_are_left_out(self):
        assert xlsx_sheet([["a\x00b\x0bc\td"]])["A2"].value == "abc\td"

    def test_an_empty_export_has_only_the_header(self):
        ws = xlsx_sheet([])
        assert [c.value for c in ws[1]] == ["氏名"] and ws.max_row == 1


class TestXlsxLimits:
    def test_a_cell_longer_than_excel_allows_is_refused_with_its_place(self):
        from django.core.exceptions import ValidationError

        from enishi.transfer.export import XLSX_MAX_CELL

        data = [ExportRow(1, "#1", ["短い"]), ExportRow(2, "#2", ["長" * (XLSX_MAX_CELL + 1)])]
        with translation.override("en"):
            with pytest.raises(ValidationError) as caught:
                write_xlsx(data, [NOTES], io.BytesIO(), sheet_title="顧客")
            # The message is kept for later: read in the language of whoever reads it.
            assert "Row 3, column 備考 holds 32,768 characters" in caught.value.messages[0]

    def test_a_sheet_stopped_half_way_raises_and_writes_nothing_more(self):
        out = io.BytesIO()

        def rows():
            yield ExportRow(1, "#1", ["山田"])
            raise RuntimeError("stopped")

        with pytest.raises(RuntimeError):
            write_xlsx(rows(), [NAME], out, sheet_title="顧客")
        size = len(out.getvalue())
        with pytest.raises(Exception):  # noqa: B017 - the half-written file is no workbook
            openpyxl.load_workbook(io.BytesIO(out.getvalue()))
        assert len(out.getvalue()) == size


class TestXlsxPackage:
    """What Excel needs to open the file: every part, well-formed, pointing at each other."""

    def workbook(self, values, columns=(NAME, PHONE), title="顧客"):
        data = [ExportRow(i, f"#{i}", list(v)) for i, v in enumerate(values, start=1)]
        out = io.BytesIO()
        write_xlsx(data, list(columns), out, sheet_title=title)
        return zipfile.ZipFile(io.BytesIO(out.getvalue()))

    def test_every_part_is_there_and_well_formed(self):
        from xml.etree import ElementTree

        zf = self.workbook([["山田 & <太郎>", "0312345678"]])
        assert set(zf.namelist()) == {
            "[Content_Types].xml",
            "_rels/.rels",
            "docProps/app.xml",
            "docProps/core.xml",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
        }
        for name in zf.namelist():
            ElementTree.fromstring(zf.read(name))  # noqa: S314 - our own output; raises if malformed
        assert zf.testzip() is None

    def test_the_autofilter_covers_the_data_and_has_its_defined_name(self):
        zf = self.workbook([["a", "1"], ["b", "2"]], title="顧客's")
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        assert '<autoFilter ref="A1:B3"/>' in sheet
        book = zf.read("xl/workbook.xml").decode()
        assert "&#x27;顧客&#x27;&#x27;s&#x27;!$A$1:$B$3" in book or "'顧客''s'!$A$1:$B$3" in book
        ws = openpyxl.load_workbook(io.BytesIO(self._bytes(zf))).active
        assert ws.auto_filter.ref == "A1:B3" and ws.title == "顧客's"

    def test_column_widths_are_kept(self):
        zf = self.workbook([["a", "1"]])
        ws = openpyxl.load_workbook(io.BytesIO(self._bytes(zf))).active
        assert ws.column_dimensions["A"].width == NAME.width
        assert ws.column_dimensions["B"].width == PHONE.width

    def test_a_sheet_title_excel_refuses_is_cleaned(self):
        zf = self.workbook([], title="顧客[一覧]:2026/11*?")
        assert openpyxl.load_workbook(io.BytesIO(self._bytes(zf))).active.title == "顧客一覧202611"

    def test_empty_cells_stay_empty_and_numbers_are_numbers(self):
        score = Column("score", "点数", "g", itemgetter("score"), ("score",), "number")
        zf = self.workbook([[None, "", 1.5], ["x", None, Decimal("12.25")]], (NAME, PHONE, score))
        ws = openpyxl.load_workbook(io.BytesIO(self._bytes(zf))).active
        assert [c.value for c in ws[2]] == [None, None, 1.5]
        assert [c.value for c in ws[3]] == ["x", None, 12.25]

    @staticmethod
    def _bytes(zf):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as copy:
            for name in zf.namelist():
                copy.writestr(name, zf.read(name))
        return out.getvalue()
