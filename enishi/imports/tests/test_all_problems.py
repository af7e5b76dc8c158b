"""A row of contracts shows all its problems at once: a cell that cannot be read does not hide
what the contract rules say about the rest of the row (before, the person fixed one problem,
uploaded again, and only then met the next)."""

import pytest

from enishi.core import testing
from enishi.imports.models import ImportRow

from .conftest import as_read, check, upload

pytestmark = pytest.mark.django_db

HEADER = "顧客コード,プラン,開始日,終了日,金額\n"


def problems_of(run) -> dict[str, str]:
    row = as_read(run.rows.get())
    assert row.category == ImportRow.Category.INVALID
    return {key: message for key, message in row.problems}


def test_a_bad_amount_and_an_end_before_the_start_are_both_reported(bob):
    testing.make_customer(bob, name="山田 太郎", code="C001")
    text = HEADER + "C001,点検プラン,2024/4/1,2024/3/1,-5\n"
    problems = problems_of(check(bob, upload(bob, text.encode(), target="contracts")))
    assert set(problems) == {"amount", "ends_on"}
    assert "before the start" in problems["ends_on"]


def test_a_field_with_a_problem_in_its_cell_gets_no_second_one(bob):
    testing.make_customer(bob, name="山田 太郎", code="C001")
    # The start date cannot be read: the rules' "enter the start date" would say it twice.
    text = HEADER + "C001,点検プラン,2024/13/45,2024/3/1,5000\n"
    problems = check(bob, upload(bob, text.encode(), target="contracts")).rows.get().problems
    assert [key for key, _message in problems] == ["starts_on"]


def test_an_unknown_customer_is_reported_beside_the_bad_cell(bob):
    text = HEADER + "NOPE,点検プラン,2024/4/1,,-5\n"
    problems = problems_of(check(bob, upload(bob, text.encode(), target="contracts")))
    assert set(problems) == {"amount", "customer_code"}


def test_a_karte_the_person_may_not_see_is_not_tried(bob, carol):
    testing.make_customer(carol, name="キャロルの 顧客", code="C009")
    text = HEADER + "C009,点検プラン,2024/4/1,2024/3/1,-5\n"
    problems = problems_of(check(bob, upload(bob, text.encode(), target="contracts")))
    # Bob sees neither the karte nor what its contract would break.
    assert set(problems) == {"amount", "customer_code"}
