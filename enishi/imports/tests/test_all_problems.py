"""A row of contracts shows all its problems at once: a cell that cannot be read does not hide
what the contract rules say about the rest of the row (before, the person fixed one problem,
uploaded again, and only then met the next)."""

import pytest
from django.urls import reverse

from enishi.core import testing
from enishi.imports import decisions, services
from enishi.imports.models import ImportRow
from enishi.sales.models import Contract

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


def test_a_row_with_a_bad_cell_shows_its_karte_like_a_row_with_only_a_rule_problem(client, bob):
    karte = testing.make_customer(bob, name="山田 太郎", code="C001")
    text = HEADER + (
        "C001,点検プラン,2024/4/1,2024/3/1,-5\n"  # a bad cell, and the end before the start
        "C001,点検プラン,2024/4/1,2024/3/1,5\n"  # the end before the start only
        "C001,保守プラン,2024/4/1,2025/3/31,5000\n"
    )
    run = check(bob, upload(bob, text.encode(), target="contracts"))
    rows = list(run.rows.order_by("number"))[:2]
    assert [r.category for r in rows] == [ImportRow.Category.INVALID] * 2
    assert [r.match_id for r in rows] == [karte.pk, karte.pk]
    assert [r.data.get("customer_name") for r in rows] == ["山田 太郎", "山田 太郎"]

    client.force_login(bob)  # in Japanese, as Bob reads it
    page = client.get(reverse("imports:preview", args=[run.pk])).content.decode()
    link = f'<a href="{reverse("customers:detail", args=[karte.pk])}"'
    assert page.count(link) == 3 and page.count("カルテ：") == 3  # every row, the rejected too

    # A rejected row's karte writes and counts nothing.
    assert decisions.action_counts(run)["reject"] == 2
    services.import_start(actor=bob, run=run)
    run.refresh_from_db()
    assert (run.counts["rejected"], run.counts["created"]) == (2, 1)
    assert list(Contract.objects.values_list("plan", flat=True)) == ["保守プラン"]


def test_a_rows_problems_are_listed_in_the_order_of_its_columns(bob):
    testing.make_customer(bob, name="山田 太郎", code="C001")
    # The amount cannot be read (a cell problem, found first); the end before the start is
    # the contract rules' (found after): the end date's column comes first.
    text = HEADER + "C001,点検プラン,2024/4/1,2024/3/1,-5\nNOPE,点検プラン,2024/4/1,,-5\n"
    run = check(bob, upload(bob, text.encode(), target="contracts"))
    keys = [[key for key, _m in row.problems] for row in run.rows.order_by("number")]
    assert keys == [["ends_on", "amount"], ["customer_code", "amount"]]


def test_problems_about_no_field_come_first_and_fields_without_a_column_last():
    from enishi.imports.analysis import in_column_order

    column = {"customer_code": 0, "starts_on": 2, "amount": 4}
    problems = [["amount", 1], ["product", 2], ["starts_on", 3], ["__all__", 4], ["", 5]]
    assert [m for _k, m in in_column_order(problems, column)] == [4, 5, 3, 1, 2]
