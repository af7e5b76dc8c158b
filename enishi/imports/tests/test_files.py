"""Reading uploaded files: what they are, their encoding, delimiter, sheets and header row."""

import codecs
import csv
import datetime
import io
import re
import zipfile

import openpyxl
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from enishi.imports import files
from enishi.imports.files import ImportFileError

JAPANESE = "氏名,フリガナ,住所\n山田 太郎,ヤマダ タロウ,東京都千代田区千代田1-1\n高橋 花子,タカハシ ハナコ,大阪府大阪市北区梅田1-2-3\n"


def write(tmp_path, content: bytes, name: str = "upload.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def xlsx(tmp_path, build, name: str = "book.xlsx"):
    workbook = openpyxl.Workbook()
    build(workbook)
    path = tmp_path / name
    workbook.save(path)
    return path


class TestWhatTheFileIs:
    @pytest.mark.parametrize(
        ("head", "words"),
        [
            (b"%PDF-1.7 ...", "PDF"),
            (b"\x89PNG\r\n\x1a\n....", "image"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, ".xls"),
            (b"\x00\x01\x02\x03binary\x00\x00\x00" * 20, "does not contain text"),
        ],
    )
    def test_it_names_files_that_are_not_spreadsheets(self, head, words):
        with pytest.raises(ImportFileError) as caught:
            files.sniff_format(head)
        assert words.lower() in caught.value.message.lower()

    def test_it_calls_an_empty_file_empty(self, tmp_path):
        for content in (b"", b"\r\n\r\n", codecs.BOM_UTF8):
            with pytest.raises(ImportFileError) as caught:
                files.inspect(write(tmp_path, content))
            assert "empty" in caught.value.message

    def test_it_tells_a_word_document_from_a_workbook(self, tmp_path):
        path = tmp_path / "fake.xlsx"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("word/document.xml", "<w/>")
        with pytest.raises(ImportFileError) as caught:
            files.inspect(path, file_name="fake.xlsx")
        assert "Word" in caught.value.message

    def test_it_reads_a_csv_that_is_named_like_a_workbook_and_says_so(self, tmp_path):
        layout = files.inspect(
            write(tmp_path, JAPANESE.encode(), "list.xlsx"), file_name="list.xlsx"
        )
        assert layout.format == "csv"
        assert layout.notes

    def test_a_damaged_workbook_is_a_clear_message(self, tmp_path):
        path = write(tmp_path, b"PK\x03\x04" + b"\x00" * 100, "broken.xlsx")
        with pytest.raises(ImportFileError) as caught:
            files.inspect(path)
        assert "damaged" in caught.value.message

    def test_a_file_that_has_gone_is_a_clear_message(self, tmp_path):
        with pytest.raises(ImportFileError):
            files.inspect(tmp_path / "gone.csv")


class TestEncodings:
    @pytest.mark.parametrize(
        ("encoding", "expected"),
        [
            ("utf-8", "utf-8"),
            ("utf-8-sig", "utf-8-sig"),
            ("cp932", "cp932"),
            ("euc_jp", "euc_jp"),
            ("utf-16", "utf-16"),
        ],
    )
    def test_it_detects_the_encodings_japanese_files_come_in(self, tmp_path, encoding, expected):
        layout = files.inspect(write(tmp_path, JAPANESE.encode(encoding)))
        assert layout.encoding == expected
        assert layout.headers == ["氏名", "フリガナ", "住所"]
        assert layout.sample[1][0] == "高橋 花子"

    def test_cp932_keeps_the_old_forms_of_kanji(self, tmp_path):
        layout = files.inspect(write(tmp_path, JAPANESE.replace("高橋", "髙橋").encode("cp932")))
        assert (layout.encoding, layout.sample[1][0]) == ("cp932", "髙橋 花子")

    def test_plain_ascii_is_utf8(self):
        assert files.detect_encoding(b"name,phone\nTaro,03-1234-5678\n", complete=True) == (
            "utf-8",
            True,
        )

    def test_a_sample_cut_inside_a_character_is_still_utf8(self):
        data = ("山田" * 100).encode("utf-8")[:-1]
        assert files.detect_encoding(data, complete=False)[0] == "utf-8"

    def test_bytes_that_several_encodings_read_are_a_guess(self):
        # Half-width katakana only: valid cp932 and (as pairs) valid EUC-JP.
        data = "ﾔﾏﾀﾞ,ﾀﾛｳｽ\n".encode("cp932") * 50
        encoding, certain = files.detect_encoding(data, complete=True)
        assert encoding == "cp932"
        assert certain is False

    def test_the_person_may_override_the_encoding(self, tmp_path):
        path = write(tmp_path, JAPANESE.encode("cp932"))
        layout = files.inspect(path, encoding="euc_jp")
        assert layout.encoding == "euc_jp"
        assert "氏名" not in layout.headers  # read wrongly, as asked: the page shows it

    def test_utf16_chosen_for_a_file_that_is_not_is_a_clear_message(self, tmp_path):
        path = write(tmp_path, JAPANESE.encode("cp932"))
        with pytest.raises(ImportFileError) as caught:
            files.inspect(path, encoding="utf-16")
        assert "UTF-16" in caught.value.message

    def test_utf16_without_its_mark_is_read_in_the_byte_order_it_shows(self, tmp_path):
        path = write(tmp_path, "name,phone\nTaro,03-1234-5678\n".encode("utf-16-be"))
        layout = files.inspect(path, encoding="utf-16")
        assert layout.encoding == "utf-16-be"
        assert [r.cells for r in files.iter_rows(path, layout)] == [["Taro", "03-1234-5678"]]

    def test_unreadable_bytes_become_a_mark_on_the_row_not_a_failure(self, tmp_path):
        data = JAPANESE.encode("cp932") + b"\x82\xa0\x82\x20,x,y\n"
        layout = files.inspect(write(tmp_path, data))
        rows = list(files.iter_rows(tmp_path / "upload.csv", layout))
        assert files.UNREADABLE in rows[-1].cells[0]

    @given(
        st.lists(
            st.lists(
                st.text(
                    alphabet=st.sampled_from(
                        list("山田太郎髙橋花子あいうアイウｱｲｳABCabc0123 -,\"'\n")
                    ),
                    max_size=12,
                ),
                min_size=3,
                max_size=3,
            ),
            min_size=1,
            max_size=6,
        ),
        st.sampled_from(["utf-8", "utf-8-sig", "cp932", "euc_jp"]),
    )
    def test_any_csv_of_japanese_text_reads_back_cell_for_cell(
        self, tmp_path_factory, rows, encoding
    ):
        tmp = tmp_path_factory.mktemp("csv")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["氏名", "電話番号", "メール"])
        writer.writerows(rows)
        try:
            path = write(tmp, out.getvalue().encode(encoding))
        except UnicodeEncodeError:
            assume(False)
        layout = files.inspect(path, header_row=1)
        text = "".join("".join(r) for r in rows)
        if encoding == "utf-8-sig" or any(ord(c) > 127 for c in text) or encoding == "utf-8":
            # ASCII-only cp932/EUC-JP files are indistinguishable from UTF-8, and read the same.
            assert layout.encoding in (encoding, "utf-8") or not any(ord(c) > 127 for c in text)
        read = [r.cells for r in files.iter_rows(path, layout)]
        expected = [r for r in rows if any(c.strip() for c in r)]
        trimmed = []
        for r in expected:
            cells = list(r)
            while cells and not cells[-1].strip():
                cells.pop()
            trimmed.append(cells)
        assert [[c.replace("\r\n", "\n") for c in r] for r in read] == [
            [c.replace("\r\n", "\n").replace("\r", "\n") for c in r] for r in trimmed
        ]


class TestDelimiters:
    @pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
    def test_it_detects_the_delimiter(self, tmp_path, delimiter):
        text = JAPANESE.replace(",", delimiter)
        layout = files.inspect(write(tmp_path, text.encode()))
        assert layout.delimiter == delimiter
        assert len(layout.headers) == 3

    def test_commas_inside_quotes_do_not_fool_it(self, tmp_path):
        text = '氏名\t住所\t備考\n山田\t"東京都, 千代田区"\t"a,b,c,d"\n佐藤\t大阪\t"x,y"\n'
        assert files.inspect(write(tmp_path, text.encode())).delimiter == "\t"

    def test_a_tsv_file_name_prefers_tabs(self):
        assert files.detect_delimiter(["a\tb,c", "d\te,f"], file_name="list.tsv") == "\t"


class TestHeaderRow:
    def test_it_skips_title_rows_above_the_headers(self, tmp_path):
        text = "顧客一覧\n作成日: 2024年4月1日\n\n氏名,電話番号,メール\n山田,03-1234-5678,a@example.jp\n"
        layout = files.inspect(
            write(tmp_path, text.encode()), known_headers={"氏名", "電話番号", "メール"}
        )
        assert layout.header_row == 4
        assert layout.headers == ["氏名", "電話番号", "メール"]
        assert layout.sample == [["山田", "03-1234-5678", "a@example.jp"]]

    def test_without_known_headers_the_first_wide_row_of_words_is_the_header(self, tmp_path):
        text = "名簿\nNo,Who,Where\n1,Taro,Tokyo\n2,Hanako,Osaka\n"
        assert files.inspect(write(tmp_path, text.encode())).header_row == 2

    def test_a_file_without_headers_can_be_read_as_all_data(self, tmp_path):
        path = write(tmp_path, "山田,03-1234-5678\n佐藤,06-1234-5678\n".encode())
        layout = files.inspect(path, header_row=0)
        assert layout.headers == ["Column A", "Column B"]
        assert len(list(files.iter_rows(path, layout))) == 2

    def test_empty_and_repeated_headers_get_names(self):
        names = files.header_names(["氏名", "", "氏名"], 4)
        assert names[0] == "氏名" and names[2] == "氏名 (2)"
        assert names[1] != "" and names[3] != ""


class TestRows:
    def test_ragged_rows_keep_their_cells(self, tmp_path):
        text = "氏名,電話番号\n山田\n佐藤,06-1234-5678,余計,もっと\n\n鈴木,03-0000-0000\n"
        path = write(tmp_path, text.encode())
        layout = files.inspect(path)
        rows = list(files.iter_rows(path, layout))
        assert [r.cells for r in rows] == [
            ["山田"],
            ["佐藤", "06-1234-5678", "余計", "もっと"],
            ["鈴木", "03-0000-0000"],
        ]
        assert [r.line for r in rows] == [2, 3, 5]

    def test_quoted_newlines_keep_the_line_numbers_right(self, tmp_path):
        text = '氏名,備考\n山田,"一行目\n二行目"\n佐藤,x\n'
        path = write(tmp_path, text.encode())
        rows = list(files.iter_rows(path, files.inspect(path)))
        assert [r.line for r in rows] == [2, 4]
        assert rows[0].cells[1] == "一行目\n二行目"

    def test_nul_bytes_do_not_break_the_file(self, tmp_path):
        path = write(tmp_path, "氏名,電話\n山\x00田,03\n".encode())
        rows = list(files.iter_rows(path, files.inspect(path)))
        assert files.UNREADABLE in rows[0].cells[0]

    def test_a_cell_longer_than_anyone_types_is_a_clear_message(self, tmp_path):
        path = write(
            tmp_path, ('氏名,備考\n山田,"' + "あ" * (files.CELL_LIMIT + 10) + '"\n').encode()
        )
        with pytest.raises(ImportFileError) as caught:
            files.inspect(path, header_row=1)
        assert "Line 2" in caught.value.message


class TestWorkbooks:
    def test_it_lists_the_sheets_and_picks_the_one_with_data(self, tmp_path):
        def build(wb):
            wb.active.title = "表紙"
            data = wb.create_sheet("顧客")
            data.append(["氏名", "電話番号"])
            data.append(["山田", "03-1234-5678"])
            wb.active = 1

        layout = files.inspect(xlsx(tmp_path, build))
        assert [s.name for s in layout.sheets] == ["表紙", "顧客"]
        assert layout.sheet == "顧客"
        assert layout.headers == ["氏名", "電話番号"]

    def test_formulas_are_read_as_the_values_excel_saved_and_dates_as_dates(self, tmp_path):
        def build(wb):
            ws = wb.active
            ws.append(["氏名", "会社名", "生年月日", "従業員数", "メモ"])
            ws.append(
                [
                    "山田",
                    '=CONCAT("株式会社","キャッシュ")',
                    datetime.datetime(1984, 7, 19),
                    "=10*5",
                    '=HYPERLINK("http://evil.example","x")',
                ]
            )

        path = xlsx(tmp_path, build)
        # As Excel saves it: each formula with the value it showed (openpyxl writes none).
        with zipfile.ZipFile(path) as archive:
            parts = {n: archive.read(n) for n in archive.namelist()}
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        sheet = re.sub(
            r'<c r="B2"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?',
            r'<c r="B2" t="str"><f>\2</f><v>株式会社キャッシュ</v>',
            sheet,
        )
        sheet = re.sub(
            r'<c r="D2"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?', r'<c r="D2"><f>\2</f><v>50</v>', sheet
        )
        parts["xl/worksheets/sheet1.xml"] = sheet.encode()
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in parts.items():
                archive.writestr(name, data)
        rows = list(files.iter_rows(path, files.inspect(path)))
        cells = rows[0].cells
        assert cells[1] == "株式会社キャッシュ"
        assert cells[2] == datetime.datetime(1984, 7, 19)
        assert files.cell_text(cells[3]) == "50"
        # A formula saved without its value (a program wrote it) is unknown, not empty.
        assert cells[4] == files.UnsavedFormula('=HYPERLINK("http://evil.example","x")')

    def test_a_formula_never_calculated_is_told_apart_from_an_empty_cell(self, tmp_path):
        def build(wb):
            ws = wb.active
            ws.append(["氏名", "金額", "備考", "担当"])
            ws.append(["山田", "=B3*2", None, "=SUM(B2:B3)"])
            ws.append(["佐藤", 100, '=IF(B3>0,"","x")'])
            ws.append(["鈴木", None, None])
            ws.append([None, None, None, None, "=" + "A1&" * 40 + "A1"])

        path = xlsx(tmp_path, build)
        # As Excel would have saved 佐藤's 備考: a formula whose result is "" (saved, empty).
        with zipfile.ZipFile(path) as archive:
            parts = {n: archive.read(n) for n in archive.namelist()}
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        sheet = re.sub(
            r'<c r="C3"><f>(.*?)</f><v\s*/>', r'<c r="C3" t="str"><f>\1</f><v></v>', sheet
        )
        parts["xl/worksheets/sheet1.xml"] = sheet.encode()
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in parts.items():
                archive.writestr(name, data)
        layout = files.inspect(path)
        assert layout.headers == ["氏名", "金額", "備考", "担当"]
        rows = list(files.iter_rows(path, layout))
        assert rows[0].cells == [
            "山田",
            files.UnsavedFormula("=B3*2"),
            None,
            files.UnsavedFormula("=SUM(B2:B3)"),
        ]
        assert files.cell_text(rows[0].cells[1]) == "=B3*2"
        assert rows[1].cells == ["佐藤", 100]  # its formula's saved result is ""
        assert rows[2].cells == ["鈴木"]
        long = rows[3].cells[4]
        assert long.formula.startswith("=A1&A1&") and len(long.formula) == files.FORMULA_SHOWN
        assert long.formula.endswith("…")

    def test_a_cell_merged_across_columns_stays_in_its_first_column(self, tmp_path):
        """A note merged over 備考 and 担当 is a note, not an owner; a company merged down over
        its contacts belongs to each; a block is copied down its first column only."""

        def build(wb):
            ws = wb.active
            ws.append(["会社名", "氏名", "備考", "担当"])
            ws.append(["株式会社山田商事", "山田 太郎", "年賀状不要、電話は午後", None])
            ws.merge_cells("C2:D2")
            ws.append([None, "山田 花子", "佐藤へ", "佐藤"])
            ws.merge_cells("A2:A3")
            ws.append(["株式会社鈴木", "鈴木 一郎", "展示会で名刺交換", None])
            ws.append([None, "鈴木 二郎", None, "鈴木"])
            ws.merge_cells("A4:A5")
            ws.merge_cells("C4:D5")  # both ways: down the first column only

        path = xlsx(tmp_path, build)
        layout = files.inspect(path)
        assert layout.headers == ["会社名", "氏名", "備考", "担当"]
        rows = [r.cells + [None] * (4 - len(r.cells)) for r in files.iter_rows(path, layout)]
        assert rows == [
            ["株式会社山田商事", "山田 太郎", "年賀状不要、電話は午後", None],
            ["株式会社山田商事", "山田 花子", "佐藤へ", "佐藤"],
            ["株式会社鈴木", "鈴木 一郎", "展示会で名刺交換", None],
            ["株式会社鈴木", "鈴木 二郎", "展示会で名刺交換", None],
        ]

    def test_a_heading_merged_across_columns_names_each_of_them(self, tmp_path):
        def build(wb):
            ws = wb.active
            ws.append(["氏名", "住所", None, None, "備考"])
            ws.merge_cells("B1:D1")
            ws.merge_cells("E1:F1")
            ws.append(["山田 太郎", "東京都", "千代田区", "千代田1-1", "メモ", "続き"])

        path = xlsx(tmp_path, build)
        layout = files.inspect(path)
        assert layout.header_row == 1
        assert layout.headers == ["氏名", "住所", "住所 (2)", "住所 (3)", "備考", "備考 (2)"]
        assert layout.sample == [["山田 太郎", "東京都", "千代田区", "千代田1-1", "メモ", "続き"]]

    def test_a_two_row_heading_is_read_from_its_lower_row(self, tmp_path):
        """氏名 merged down over both header rows, 住所 across its three parts above them: the
        lower row names every column."""

        def build(wb):
            ws = wb.active
            ws.append(["氏名", "住所", None, None])
            ws.append([None, "都道府県", "市区町村", "番地"])
            ws.merge_cells("A1:A2")
            ws.merge_cells("B1:D1")
            ws.append(["山田 太郎", "東京都", "千代田区", "千代田1-1"])
            ws.append(["佐藤 花子", "大阪府", "大阪市", "梅田1-2-3"])

        path = xlsx(tmp_path, build)
        layout = files.inspect(path, known_headers={"氏名", "都道府県", "市区町村", "番地"})
        assert layout.header_row == 2
        assert layout.headers == ["氏名", "都道府県", "市区町村", "番地"]
        assert [r.cells[0] for r in files.iter_rows(path, layout)] == ["山田 太郎", "佐藤 花子"]

    def test_the_header_row_may_be_further_down_and_merged_cells_are_filled(self, tmp_path):
        def build(wb):
            ws = wb.active
            ws["A1"] = "2024年度 顧客名簿"
            ws.merge_cells("A1:C1")
            ws.append([])
            ws.append(["会社名", "氏名", "電話番号"])
            ws.append(["株式会社山田商事", "山田 太郎", "03-1234-5678"])
            ws.append([None, "山田 花子", "03-1234-5679"])
            ws.merge_cells("A4:A5")

        path = xlsx(tmp_path, build)
        layout = files.inspect(path, known_headers={"会社名", "氏名", "電話番号"})
        assert layout.header_row == 3
        rows = list(files.iter_rows(path, layout))
        assert [r.cells[0] for r in rows] == ["株式会社山田商事", "株式会社山田商事"]
        assert [r.line for r in rows] == [4, 5]

    def test_a_sheet_that_is_not_there_is_a_clear_message(self, tmp_path):
        path = xlsx(tmp_path, lambda wb: wb.active.append(["氏名"]))
        layout = files.inspect(path)
        layout.sheet = "無い"
        with pytest.raises(ImportFileError):
            list(files.iter_rows(path, layout))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (12.0, "12"),
        (0.1, "0.1"),
        (True, "TRUE"),
        (datetime.datetime(2024, 4, 1), "2024-04-01"),
        (datetime.datetime(2024, 4, 1, 9, 30), "2024-04-01 09:30:00"),
        (datetime.date(2024, 4, 1), "2024-04-01"),
    ],
)
def test_cells_read_as_people_see_them(value, text):
    assert files.cell_text(value) == text


@pytest.mark.parametrize(
    ("file_name", "file_format", "delimiter", "expected"),
    [
        ("顧客.xlsx", "xlsx", "", "顧客-rejected.xlsx"),
        ("顧客.csv", "csv", ",", "顧客-rejected.csv"),
        ("顧客.tsv", "csv", "\t", "顧客-rejected.tsv"),
        ("顧客.dat", "csv", "\t", "顧客-rejected.tsv"),
        ("顧客.dat", "csv", ",", "顧客-rejected.csv"),
    ],
)
def test_the_rejected_rows_file_is_named_after_its_format(
    file_name, file_format, delimiter, expected
):
    from django.utils import translation

    from enishi.imports.models import ImportRun
    from enishi.imports.rejected import rejected_file_name

    run = ImportRun(file_name=file_name, file_format=file_format, delimiter=delimiter)
    with translation.override("en"):
        assert rejected_file_name(run) == expected


class TestUnclosedQuotes:
    def rows(self, tmp_path, text: str):
        path = write(tmp_path, text.encode())
        return list(files.iter_rows(path, files.inspect(path)))

    def test_a_quote_never_closed_marks_the_row_it_swallowed_the_file_into(self, tmp_path):
        rows = self.rows(
            tmp_path, '会社名,電話番号\n株式会社A,03-1000-0001\n"株式会社クオート,03-1000-0004\n'
        )
        assert [r.unclosed_quote for r in rows] == [False, True]

    def test_closed_quotes_and_quotes_inside_a_cell_are_fine(self, tmp_path):
        rows = self.rows(tmp_path, '品名,住所\n14" モニター,"東京都\n千代田区"\nA,"B ""C"""\n')
        assert not any(r.unclosed_quote for r in rows)
        assert rows[0].cells == ['14" モニター', "東京都\n千代田区"]


def test_the_check_rejects_a_row_whose_quote_is_not_closed(bob):
    from enishi.imports.tests.conftest import as_read, check, upload

    run = check(
        bob,
        upload(
            bob,
            '会社名,電話番号\n株式会社A,03-1000-0001\n"株式会社クオート,03-1000-0004\n'.encode(),
        ),
    )
    row = as_read(run.rows.get(number=2))
    assert row.category == "invalid"
    assert "quote" in row.problems[0][1] or "引用符" in row.problems[0][1]


@pytest.mark.parametrize(
    "text,encoding",
    [
        ("氏名\r\n山田\r\n佐藤\r\n", "cp932"),
        ("氏名\r\n山田\r\n佐藤", "cp932"),
        ("氏名\n山田\n佐藤\n", "utf-8"),
        ("氏名\n山田\n佐藤\n", "utf-16-le"),
        ("氏名\n山田\n佐藤", "utf-16-be"),
    ],
)
def test_the_progress_counts_the_rows_a_file_has_not_one_more(tmp_path, text, encoding):
    from types import SimpleNamespace

    from enishi.imports.analysis import estimate_rows

    path = tmp_path / "rows.csv"
    path.write_bytes(text.encode(encoding))
    run = SimpleNamespace(file_format="csv", header_row=1)
    assert estimate_rows(run, path) == 2
