"""Order arithmetic in whole yen, as a Japanese invoice (適格請求書) computes it.

- A line's amount is unit price × quantity, rounded to whole yen, less its discount.
- Consumption tax is computed once per tax rate on the sum of that rate's lines (not per line),
  and rounded by ENISHI_TAX_ROUNDING ("floor" = 切り捨て is the usual choice).
- Total = subtotal + tax. Decimal throughout, never float.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.conf import settings

ONE_YEN = Decimal(1)
_MODES = {"floor": ROUND_FLOOR, "round": ROUND_HALF_UP, "ceil": ROUND_CEILING}


def to_yen(value: Decimal, mode: str | None = None) -> Decimal:
    return Decimal(value).quantize(ONE_YEN, rounding=_MODES[mode or settings.ENISHI_TAX_ROUNDING])


def line_gross(unit_price: Decimal, quantity: Decimal) -> Decimal:
    """Unit price × quantity in whole yen, rounded half up (before any discount)."""
    return to_yen(Decimal(unit_price) * Decimal(quantity), "round")


def line_amount(unit_price: Decimal, quantity: Decimal, discount: Decimal = Decimal(0)) -> Decimal:
    """Before tax. The gross is rounded half up (a price is a price); the discount is whole yen."""
    return line_gross(unit_price, quantity) - Decimal(discount)


@dataclass
class OrderTotals:
    subtotal: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    # rate (percent) -> (taxable amount, tax): the breakdown an invoice must show.
    by_rate: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)


def order_totals(lines: Iterable[tuple[Decimal, int]]) -> OrderTotals:
    """Totals from (amount before tax, tax rate in percent) per line."""
    sums: dict[int, Decimal] = {}
    for amount, rate in lines:
        sums[int(rate)] = sums.get(int(rate), Decimal(0)) + Decimal(amount)
    totals = OrderTotals()
    for rate in sorted(sums, reverse=True):
        taxable = sums[rate]
        tax = to_yen(taxable * rate / 100)
        totals.by_rate[rate] = (taxable, tax)
        totals.subtotal += taxable
        totals.tax += tax
    totals.total = totals.subtotal + totals.tax
    return totals
