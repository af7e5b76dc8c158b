"""Yen arithmetic: line amounts, consumption tax per rate on the invoice's per-rate sums, and the
rounding rule of the settings."""

from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from enishi.sales import pricing

D = Decimal


def test_it_rounds_a_lines_gross_half_up_and_subtracts_the_discount():
    assert pricing.line_amount(D("1200"), D("3")) == D("3600")
    assert pricing.line_amount(D("99.50"), D("3")) == D("299")  # 298.5 → 299
    assert pricing.line_amount(D("33.33"), D("1.5"), D("10")) == D("40")  # 49.995 → 50, − 10
    assert pricing.line_gross(D("0.49"), D("1")) == D("0")


def test_it_taxes_each_rate_once_on_its_sum_not_line_by_line():
    # Line by line, 10% of 105 floored three times would be 30; on the sum 315 it is 31.
    totals = pricing.order_totals([(D("105"), 10)] * 3)
    assert (totals.subtotal, totals.tax, totals.total) == (D("315"), D("31"), D("346"))


def test_it_keeps_the_standard_and_reduced_rates_apart():
    totals = pricing.order_totals([(D("24000"), 10), (D("3240"), 8), (D("500"), 0)])
    assert totals.by_rate == {
        10: (D("24000"), D("2400")),
        8: (D("3240"), D("259")),  # 259.2
        0: (D("500"), D("0")),
    }
    assert list(totals.by_rate) == [10, 8, 0]
    assert (totals.subtotal, totals.tax, totals.total) == (D("27740"), D("2659"), D("30399"))


@pytest.mark.parametrize(
    ("mode", "tax10", "tax8"),
    [("floor", D("123"), D("98")), ("round", D("123"), D("99")), ("ceil", D("124"), D("99"))],
)
def test_it_rounds_the_tax_by_the_setting(settings, mode, tax10, tax8):
    settings.ENISHI_TAX_ROUNDING = mode
    totals = pricing.order_totals([(D("1234"), 10), (D("1235"), 8)])  # 123.4 and 98.8
    assert totals.by_rate[10][1] == tax10
    assert totals.by_rate[8][1] == tax8
    assert totals.total == D("2469") + tax10 + tax8


def test_it_rounds_half_yen_up_only_in_round_mode(settings):
    settings.ENISHI_TAX_ROUNDING = "round"
    assert pricing.order_totals([(D("1005"), 10)]).tax == D("101")  # 100.5
    settings.ENISHI_TAX_ROUNDING = "floor"
    assert pricing.order_totals([(D("1005"), 10)]).tax == D("100")


def test_an_empty_order_is_zero():
    totals = pricing.order_totals([])
    assert (totals.subtotal, totals.tax, totals.total, totals.by_rate) == (0, 0, 0, {})


prices = st.decimals(min_value=0, max_value=10_000_000, places=2)
quantities = st.decimals(min_value=D("0.01"), max_value=10_000, places=2)
rates = st.sampled_from([10, 8, 0])


@st.composite
def lines(draw):
    price, quantity, rate = draw(prices), draw(quantities), draw(rates)
    gross = pricing.line_gross(price, quantity)
    discount = draw(st.integers(min_value=0, max_value=int(gross)))
    return pricing.line_amount(price, quantity, D(discount)), rate


@settings(max_examples=200, deadline=None)
@given(st.lists(lines(), max_size=12), st.sampled_from(["floor", "round", "ceil"]))
def test_totals_add_up_in_whole_yen_without_float(order_lines, mode):
    with override_settings(ENISHI_TAX_ROUNDING=mode):
        totals = pricing.order_totals(order_lines)
    assert totals.total == totals.subtotal + totals.tax
    assert totals.subtotal == sum((amount for amount, _ in order_lines), D(0))
    assert totals.tax == sum((tax for _, tax in totals.by_rate.values()), D(0))
    for rate, (taxable, tax) in totals.by_rate.items():
        exact = taxable * rate / 100
        assert exact - 1 < tax < exact + 1
        if mode == "floor":
            assert tax <= exact
        assert tax == tax.to_integral_value()
    for value in (totals.subtotal, totals.tax, totals.total):
        assert isinstance(value, Decimal) and not isinstance(value, float)
        assert value >= 0 and value == value.to_integral_value()
