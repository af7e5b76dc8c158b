"""Money and rates as the deal screens show them (deals.js formats moved totals the same way)."""

from decimal import Decimal

from django import template

from enishi.deals.services import CURRENCIES

register = template.Library()


@register.filter
def money(value: Decimal | int | None, currency: str = "JPY") -> str:
    """¥1,200,000 for yen; "USD 1,200.50" for the others (never mixed in one sum)."""
    if value is None:
        return "—"
    places = CURRENCIES.get(currency, 2)
    text = f"{Decimal(value):,.{places}f}"
    return f"¥{text}" if currency == "JPY" else f"{currency} {text}"


@register.filter
def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


@register.filter
def days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"
