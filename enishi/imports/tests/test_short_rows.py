"""A line of a text file with fewer cells than the header row: the row says so, before the
problems that follow from it, and only when an imported column is among the missing cells."""

import io

import openpyxl
import pytest

from enishi.imports import services
from enishi.imports.models import ImportRow

from .conftest import as_read, check, upload

pytestmark = pytest.mark.django_db


def rows_of(run):
    return {r.number: as_read(r) for r in ImportRow.objects.filter(run=run)}


def test_a_row_with_fewer_cells_than_the_header_says_so_first(bob):
    text = (
        "氏名,フリガナ,電話番号,メール,備考\n"
        "ragged,only\n"  # a line broken in two: its reading is not a reading
        "山田 太郎,ヤマダ タロウ,03-1234-5678\n"  # short, otherwise fine
        "佐藤 花子,サトウ ハナコ,,,\n"  # every cell written, some empty: nothing to say
    )
    rows = rows_of(check(bob, upload(bob, text.encode())))
    assert rows[1].category == "invalid"
    assert "only 2 of the header row's 5 cells" in rows[1].problems[0][1]
    assert len(rows[1].problems) >= 2  # the reading's own problem follows
    assert rows[2].category == "new"
    assert any("only 3 of the header row's 5 cells" in note for _k, note in rows[2].notes)
    assert rows[3].category == "new"
    assert not any("cells" in note for _k, note in rows[3].notes)


def test_a_short_row_missing_only_columns_not_imported_says_nothing(bob):
    run = upload(bob, "氏名,電話番号,備考\n山田 太郎,03-1234-5678\n".encode())
    services.import_set_mapping(actor=bob, run=run, mapping=["name", "phone", ""])
    rows = rows_of(check(bob, run))
    assert rows[1].category == "new" and rows[1].notes == []


def test_workbook_rows_are_never_short(bob):
    workbook = openpyxl.Workbook()
    workbook.active.append(["氏名", "電話番号", "備考"])
    workbook.active.append(["山田 太郎", "03-1234-5678"])
    out = io.BytesIO()
    workbook.save(out)
    rows = rows_of(check(bob, upload(bob, out.getvalue(), "顧客.xlsx")))
    assert rows[1].category == "new"
    assert not any("cells" in note for _k, note in rows[1].notes)
