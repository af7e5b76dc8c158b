"""Yen as people read it: ¥1,234 (whole yen), ¥1,234.50 (a unit price with sen)."""

from decimal import Decimal, InvalidOperation

from django import template

from enishi.sales.services import money_text

register = template.Library()


@register.filter
def yen(value) -> str:
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{money_text(abs(amount))}"


@register.filter
def number(value) -> str:
    """A quantity: 2, 1.5 (no trailing zeros)."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    text = money_text(amount)
    return text.rstrip("0").rstrip(".") if "." in text else text
