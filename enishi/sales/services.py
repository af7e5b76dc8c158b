"""Writes to products, orders and contracts, and the renewal reminders that contracts bring.

Money is Decimal throughout (never float); the arithmetic is in `pricing`. Every change is
recorded in the history (an order's lines as one readable text, before → after) and bumps the
record's version; updates take the version the writer read and raise StaleVersionError when
someone saved in between. Deleting moves to the trash.

Renewal reminders: a running contract whose renewal date is at most ENISHI_RENEWAL_NOTICE_DAYS
ahead (or passed by at most RENEWAL_GRACE_DAYS) gets one task for its owner (else the
customer's owner), due RENEWAL_LEAD_DAYS before the renewal date (today if that has passed).
`Contract.renewal_task_for` remembers the date a task was made for, so each renewal date gets
exactly one task however often the check runs; a changed date gets a new one and the open task
for the old date goes to the trash. The check runs after a contract is saved, from the
`enishi renewals` command (cron), and lazily from the renewals list and "my tasks"
(`renewal_tasks_ensure`, at most once an hour per process).
"""

import datetime
import time
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enishi.accounts.models import User
from enishi.activities import services as activity_services
from enishi.activities.models import Task
from enishi.core.records import (
    StaleVersionError,
    move_to_trash,
    record_created,
    versioned_update,
)
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.sales import pricing
from enishi.sales.models import Contract, Order, OrderLine, Product, TaxRate

__all__ = ["StaleVersionError"]

# Sane limits: what a person could mean, and what the columns hold.
MAX_UNIT_PRICE = Decimal("99999999999.99")
MAX_QUANTITY = Decimal(1_000_000)
MAX_LINE_AMOUNT = Decimal(999_999_999_999)
MAX_ORDER_TOTAL = Decimal(99_999_999_999_999)
MAX_CONTRACT_AMOUNT = Decimal(999_999_999_999)
MAX_LINES = 100
MAX_NOTE = 10_000

# Renewal reminders (see the module's docstring).
RENEWAL_LEAD_DAYS = 30
RENEWAL_GRACE_DAYS = 30
RENEWAL_CHECK_SECONDS = 3600

PRODUCT_FIELDS = ("code", "name", "category", "unit_price", "tax_rate", "is_active")
ORDER_WRITABLE = ("number", "ordered_on", "delivered_on", "status", "owner", "note")
# What the history shows of an order: its fields, its lines as text, and the totals.
ORDER_FIELDS = (*ORDER_WRITABLE, "lines_summary", "subtotal", "tax", "total")
CONTRACT_FIELDS = (
    "product",
    "plan",
    "starts_on",
    "ends_on",
    "renews_on",
    "auto_renew",
    "amount",
    "period",
    "cancelled_on",
    "cancellation_reason",
    "owner",
    "note",
)

CONTROL_CHARACTER = "\x00"
RATES_TEXT = "10%, 8%, 0%"


# --- numbers ----------------------------------------------------------------------------------


class _NotANumber(Exception):
    pass


def _decimal(value: Any) -> Decimal:
    """A finite Decimal from what a form or the API gives (never through float arithmetic)."""
    if isinstance(value, bool):
        raise _NotANumber
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise _NotANumber from None
    if not number.is_finite():
        raise _NotANumber
    return number


def _places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def money_text(value: Decimal) -> str:
    """1234 → "1,234"; 1234.5 → "1,234.50" (for messages and the lines' summary)."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _yen(value: Any, field: str, *, maximum: Decimal) -> Decimal:
    """Whole yen from 0 to `maximum`, or a ValidationError on `field`."""
    try:
        number = _decimal(value)
    except _NotANumber:
        raise _invalid(field, gettext_lazy("Enter an amount in yen, such as 12000.")) from None
    if number < 0 or number > maximum:
        raise _invalid(
            field, gettext_lazy("Enter an amount from 0 to %(max)s yen."), max=money_text(maximum)
        )
    if _places(number):
        raise _invalid(field, gettext_lazy("Enter whole yen, without decimals."))
    return number.quantize(pricing.ONE_YEN)


def _unit_price(value: Any, field: str) -> Decimal:
    try:
        number = _decimal(value)
    except _NotANumber:
        raise _invalid(field, gettext_lazy("Enter a price in yen, such as 1200.")) from None
    if number < 0 or number > MAX_UNIT_PRICE:
        raise _invalid(
            field,
            gettext_lazy("Enter a price from 0 to %(max)s yen."),
            max=money_text(MAX_UNIT_PRICE),
        )
    if _places(number) > 2:
        raise _invalid(field, gettext_lazy("Enter the price with at most 2 decimal places."))
    return number.quantize(Decimal("0.01"))


def _text(value: Any, field: str, *, limit: int, required_message: Any = "") -> str:
    """`required_message`: a gettext_lazy proxy (kept for later, see `_invalid`)."""
    text = "" if value is None else str(value).strip()
    if CONTROL_CHARACTER in text:
        raise _invalid(
            field, gettext_lazy("The text contains a control character that cannot be stored.")
        )
    if required_message and not text:
        raise _invalid(field, required_message)
    if len(text) > limit:
        raise _invalid(
            field,
            gettext_lazy("Too long: at most %(limit)s characters (this has %(count)s)."),
            limit=f"{limit:,}",
            count=f"{len(text):,}",
        )
    return text


def _tax_rate(value: Any, field: str) -> int:
    try:
        rate = int(value)
    except (TypeError, ValueError):
        rate = -1
    if rate not in TaxRate.values:
        raise _invalid(field, gettext_lazy("Choose a tax rate of %(rates)s."), rates=RATES_TEXT)
    return rate


def _invalid(field: str, message: Any, /, **params: Any) -> ValidationError:
    """A problem of `field`: `message` is a gettext_lazy proxy and `params` its parameters, so
    that a form or the API shows it in the active language while an import keeps it for later
    (`core.later`) and shows it in each reader's language. Never eagerly formatted text."""
    return ValidationError({field: [ValidationError(message, params=params or None)]})


class _Errors:
    """Collects the problems of every field, so that a form shows all of them at once. Keeps
    the ValidationErrors themselves (their messages and params), not text."""

    def __init__(self) -> None:
        self.found: dict[str, list[ValidationError]] = {}

    def run(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ValidationError as exc:
            self.add(exc)
            return None

    def add(self, exc: ValidationError) -> None:
        for name, errors in exc.update_error_dict({}).items():
            self.found.setdefault(name, []).extend(errors)

    def raise_any(self) -> None:
        if self.found:
            raise ValidationError(self.found)


# --- products (settings: the views and the API let only admins write) -------------------------


def _code_taken(code: str) -> ValidationError:
    return _invalid(
        "code", gettext_lazy("Another product already has the code %(code)s."), code=code
    )


def _product_clean(data: dict[str, Any], *, instance: Product | None) -> dict[str, Any]:
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    if "code" in data:
        code = errors.run(
            _text,
            data["code"],
            "code",
            limit=50,
            required_message=gettext_lazy("Enter a product code."),
        )
        if code is not None:
            clash = Product.objects.filter(code=code)
            if instance is not None:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                errors.add(_code_taken(code))
            cleaned["code"] = code
    if "name" in data:
        cleaned["name"] = errors.run(
            _text,
            data["name"],
            "name",
            limit=200,
            required_message=gettext_lazy("Enter the product's name."),
        )
    if "category" in data:
        cleaned["category"] = errors.run(_text, data["category"], "category", limit=100)
    if "unit_price" in data:
        cleaned["unit_price"] = errors.run(_unit_price, data["unit_price"], "unit_price")
    if "tax_rate" in data:
        cleaned["tax_rate"] = errors.run(_tax_rate, data["tax_rate"], "tax_rate")
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    unknown = set(data) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)}")
    errors.raise_any()
    return cleaned


@transaction.atomic
def product_create(
    *, actor: User | None, data: dict[str, Any], via: str = HistoryEntry.Via.UI
) -> Product:
    values = {"code": "", "name": "", "category": "", "unit_price": 0, "tax_rate": 10}
    cleaned = _product_clean({**values, "is_active": True, **data}, instance=None)
    try:
        with transaction.atomic():
            product = Product.objects.create(**cleaned)
    except IntegrityError:  # the same code saved by someone else a moment ago
        raise _code_taken(cleaned["code"]) from None
    record_created(product, actor=actor, via=via, fields=PRODUCT_FIELDS, customer_id=None)
    return product


@transaction.atomic
def product_update(
    *,
    actor: User | None,
    product: Product,
    data: dict[str, Any],
    version: int | None,
    via: str = HistoryEntry.Via.UI,
) -> Product:
    current = Product.objects.select_for_update().get(pk=product.pk)
    if version is not None and current.version != version:
        raise StaleVersionError(current)
    cleaned = _product_clean(data, instance=current)
    try:
        with transaction.atomic():
            return versioned_update(
                Product,
                actor=actor,
                instance=current,
                data=cleaned,
                version=None,
                fields=PRODUCT_FIELDS,
                via=via,
                clean_exclude=("code",),
                customer_id_of=lambda o: None,
            )
    except IntegrityError:
        raise _code_taken(cleaned.get("code", current.code)) from None


# --- orders -----------------------------------------------------------------------------------


def _line_error(errors: _Errors, index: int, field: str, message: Any, /, **params: Any) -> None:
    """A problem of line `index`: `message` names it as people count, "%(line)s" (index + 1)."""
    errors.add(_invalid(f"lines.{index}.{field}", message, line=index + 1, **params))


def _line_clean(errors: _Errors, index: int, line: dict[str, Any]) -> OrderLine | None:
    """One line checked and priced; problems are keyed lines.<index>.<field> and name the line
    by its number as people count (index + 1)."""
    before = len(errors.found)
    product: Product | None = line.get("product")
    description = "" if line.get("description") is None else str(line["description"]).strip()
    if not description and product is not None:
        description = product.name
    if CONTROL_CHARACTER in description:
        _line_error(
            errors,
            index,
            "description",
            gettext_lazy(
                "Line %(line)s: the text contains a control character that cannot be stored."
            ),
        )
    elif not description:
        _line_error(
            errors,
            index,
            "description",
            gettext_lazy("Line %(line)s: say what was sold, or choose a product."),
        )
    elif len(description) > 200:
        _line_error(
            errors,
            index,
            "description",
            gettext_lazy("Line %(line)s: the description is too long (at most 200 characters)."),
        )

    unit_price = line.get("unit_price")
    if unit_price in (None, "") and product is not None:
        unit_price = product.unit_price
    price = None
    if unit_price in (None, ""):
        _line_error(
            errors, index, "unit_price", gettext_lazy("Line %(line)s: enter the unit price.")
        )
    else:
        try:
            price = _unit_price(unit_price, "unit_price")
        except ValidationError:
            _line_error(
                errors,
                index,
                "unit_price",
                gettext_lazy(
                    "Line %(line)s: enter a unit price from 0 to %(max)s yen, "
                    "with at most 2 decimal places."
                ),
                max=money_text(MAX_UNIT_PRICE),
            )

    quantity = None
    raw_quantity = line.get("quantity")
    try:
        quantity = _decimal(1 if raw_quantity in (None, "") else raw_quantity)
    except _NotANumber:
        _line_error(errors, index, "quantity", gettext_lazy("Line %(line)s: enter a quantity."))
    if quantity is not None:
        if quantity <= 0:
            _line_error(
                errors,
                index,
                "quantity",
                gettext_lazy("Line %(line)s: the quantity must be more than 0."),
            )
            quantity = None
        elif quantity > MAX_QUANTITY:
            _line_error(
                errors,
                index,
                "quantity",
                gettext_lazy("Line %(line)s: the quantity can be at most %(max)s."),
                max=money_text(MAX_QUANTITY),
            )
            quantity = None
        elif _places(quantity) > 2:
            _line_error(
                errors,
                index,
                "quantity",
                gettext_lazy("Line %(line)s: enter the quantity with at most 2 decimal places."),
            )
            quantity = None
        else:
            quantity = quantity.quantize(Decimal("0.01"))

    raw_rate = line.get("tax_rate")
    if raw_rate in (None, ""):
        raw_rate = product.tax_rate if product is not None else TaxRate.STANDARD
    try:
        rate = _tax_rate(raw_rate, "tax_rate")
    except ValidationError:
        _line_error(
            errors,
            index,
            "tax_rate",
            gettext_lazy("Line %(line)s: choose a tax rate of %(rates)s."),
            rates=RATES_TEXT,
        )
        rate = None

    raw_discount = line.get("discount")
    discount = None
    try:
        discount = _decimal(0 if raw_discount in (None, "") else raw_discount)
    except _NotANumber:
        _line_error(
            errors, index, "discount", gettext_lazy("Line %(line)s: enter the discount in yen.")
        )
    if discount is not None and (discount < 0 or _places(discount)):
        _line_error(
            errors,
            index,
            "discount",
            gettext_lazy("Line %(line)s: enter the discount in whole yen, 0 or more."),
        )
        discount = None

    if price is None or quantity is None or discount is None or rate is None:
        return None
    gross = pricing.line_gross(price, quantity)
    if discount > gross:
        _line_error(
            errors,
            index,
            "discount",
            gettext_lazy(
                "Line %(line)s: the discount cannot be more than the line's %(gross)s yen."
            ),
            gross=money_text(gross),
        )
        return None
    amount = gross - discount
    if amount > MAX_LINE_AMOUNT:
        _line_error(
            errors,
            index,
            "quantity",
            gettext_lazy("Line %(line)s: the amount is more than one line can hold (%(max)s yen)."),
            max=money_text(MAX_LINE_AMOUNT),
        )
        return None
    if len(errors.found) != before:
        return None
    return OrderLine(
        position=index + 1,
        product=product,
        description=description,
        unit_price=price,
        quantity=quantity,
        discount=discount.quantize(pricing.ONE_YEN),
        tax_rate=rate,
        amount=amount,
    )


def order_lines_price(
    lines: Iterable[dict[str, Any]],
) -> tuple[list[OrderLine], pricing.OrderTotals]:
    """Check and price an order's lines (unsaved) and compute the order's totals.

    Each line: product (optional: gives the description, unit price and tax rate when those are
    left empty), description, unit_price, quantity (default 1), discount (yen, default 0),
    tax_rate. Problems are keyed "lines.<index>.<field>" and name the line's number.
    """
    lines = list(lines)
    if not lines:
        raise _invalid("lines", gettext_lazy("Add at least one line."))
    if len(lines) > MAX_LINES:
        raise _invalid(
            "lines", gettext_lazy("An order can have at most %(max)s lines."), max=MAX_LINES
        )
    errors = _Errors()
    built = [_line_clean(errors, i, line) for i, line in enumerate(lines)]
    errors.raise_any()
    priced = [line for line in built if line is not None]
    totals = pricing.order_totals((line.amount, line.tax_rate) for line in priced)
    if totals.total > MAX_ORDER_TOTAL:
        raise _invalid(
            "lines",
            gettext_lazy("The order's total is more than an order can hold (%(max)s yen)."),
            max=money_text(MAX_ORDER_TOTAL),
        )
    return priced, totals


def lines_summary(lines: Iterable[OrderLine]) -> str:
    """The lines as people read them, one per row: what the history shows before → after."""
    rows = []
    for i, line in enumerate(lines, start=1):
        label = line.description
        if line.product_id is not None and line.product is not None:
            label = f"[{line.product.code}] {label}"
        discount = f" − {money_text(line.discount)}" if line.discount else ""
        rows.append(
            f"{i}. {label} {money_text(line.unit_price)} × {money_text(line.quantity)}"
            f"{discount} ({line.tax_rate}%) = {money_text(line.amount)}"
        )
    return "\n".join(rows)


def _number_taken(number: str) -> ValidationError:
    return _invalid(
        "number", gettext_lazy("Another order already has the number %(number)s."), number=number
    )


def _order_number_clean(number: Any, *, instance: Order | None) -> str:
    text = _text(number, "number", limit=30)
    if text:
        clash = Order.objects.filter(number=text)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise _number_taken(text)
    return text


def _order_fields_clean(
    errors: _Errors, data: dict[str, Any], *, current: dict[str, Any], instance: Order | None
) -> dict[str, Any]:
    unknown = set(data) - set(ORDER_WRITABLE)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)}")
    cleaned = dict(data)
    if "number" in data:
        cleaned["number"] = errors.run(_order_number_clean, data["number"], instance=instance)
    if "note" in data:
        cleaned["note"] = errors.run(_text, data["note"], "note", limit=MAX_NOTE)
    if "status" in data and data["status"] not in Order.Status.values:
        errors.add(_invalid("status", gettext_lazy("Choose one of the statuses.")))
    state = {**current, **cleaned}
    if state.get("ordered_on") is None:
        errors.add(_invalid("ordered_on", gettext_lazy("Enter the order date.")))
    elif state.get("delivered_on") is not None and state["delivered_on"] < state["ordered_on"]:
        errors.add(
            _invalid(
                "delivered_on", gettext_lazy("The delivery date cannot be before the order date.")
            )
        )
    return cleaned


def _order_totals_data(lines: list[OrderLine], totals: pricing.OrderTotals) -> dict[str, Any]:
    return {
        "subtotal": totals.subtotal,
        "tax": totals.tax,
        "total": totals.total,
        "lines_summary": lines_summary(lines),
    }


def _lines_save(order: Order, lines: list[OrderLine]) -> None:
    OrderLine.objects.filter(order=order).delete()
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)


def _order_number_assign(order: Order) -> None:
    """O-<year of the order date>-<id>: unique because the id is (a typed number that happens
    to look the same gets a suffix)."""
    base = f"O-{order.ordered_on.year}-{order.pk:06d}"
    number, n = base, 2
    while Order.objects.filter(number=number).exists():
        number, n = f"{base}-{n}", n + 1
    order.number = number
    Order.objects.filter(pk=order.pk).update(number=number)


@transaction.atomic
def order_create(
    *,
    actor: User | None,
    customer: Customer,
    data: dict[str, Any],
    lines: list[dict[str, Any]],
    via: str = HistoryEntry.Via.UI,
) -> Order:
    """An order with its lines; the number is assigned when left empty."""
    defaults = {
        "number": "",
        "ordered_on": timezone.localdate(),
        "delivered_on": None,
        "status": Order.Status.RECEIVED,
        "owner": actor if actor is not None and actor.pk else None,
        "note": "",
    }
    errors = _Errors()
    values = {**defaults, **_order_fields_clean(errors, data, current=defaults, instance=None)}
    priced = errors.run(order_lines_price, lines)
    errors.raise_any()
    built, totals = priced
    try:
        with transaction.atomic():
            order = Order.objects.create(
                customer=customer,
                **values,
                **_order_totals_data(built, totals),
                created_by=actor,
                updated_by=actor,
            )
    except IntegrityError:
        raise _number_taken(values["number"]) from None
    _lines_save(order, built)
    if not order.number:
        _order_number_assign(order)
    record_created(order, actor=actor, via=via, fields=ORDER_FIELDS, customer_id=customer.pk)
    return order


@transaction.atomic
def order_update(
    *,
    actor: User | None,
    order: Order,
    data: dict[str, Any],
    version: int | None,
    lines: list[dict[str, Any]] | None = None,
    via: str = HistoryEntry.Via.UI,
) -> Order:
    """Change an order's fields and, when `lines` is given, replace all its lines.

    The version is checked first (the row is locked): a stale one raises StaleVersionError
    whatever else is wrong. Nothing changed: nothing recorded, the version stays.
    """
    current = Order.objects.select_for_update().get(pk=order.pk)
    if version is not None and current.version != version:
        raise StaleVersionError(current)
    errors = _Errors()
    state = {name: getattr(current, name) for name in ORDER_WRITABLE}
    cleaned = _order_fields_clean(errors, data, current=state, instance=current)
    priced = errors.run(order_lines_price, lines) if lines is not None else None
    errors.raise_any()
    if priced is not None:
        cleaned.update(_order_totals_data(*priced))
    if "number" in cleaned and not cleaned["number"]:
        cleaned["number"] = current.number  # an emptied number keeps the one it had
    try:
        with transaction.atomic():
            saved = versioned_update(
                Order,
                actor=actor,
                instance=current,
                data=cleaned,
                version=None,
                fields=ORDER_FIELDS,
                via=via,
                clean_exclude=("number",),
            )
    except IntegrityError:
        raise _number_taken(cleaned["number"]) from None
    if priced is not None and saved.version != current.version:
        _lines_save(saved, priced[0])
    return saved


@transaction.atomic
def order_delete(*, actor: User | None, order: Order, via: str = HistoryEntry.Via.UI) -> None:
    move_to_trash(order, actor=actor, via=via)


# --- contracts --------------------------------------------------------------------------------


def _contract_check(contract: Contract) -> None:
    """The rules over the whole contract (all problems at once)."""
    errors = _Errors()
    contract.plan = (
        errors.run(
            _text,
            contract.plan,
            "plan",
            limit=200,
            required_message=gettext_lazy("Enter the plan or product."),
        )
        or ""
    )
    contract.note = errors.run(_text, contract.note, "note", limit=MAX_NOTE) or ""
    contract.cancellation_reason = (
        errors.run(_text, contract.cancellation_reason, "cancellation_reason", limit=300) or ""
    )
    amount = errors.run(_yen, contract.amount, "amount", maximum=MAX_CONTRACT_AMOUNT)
    if amount is not None:
        contract.amount = amount
    if contract.period not in Contract.Period.values:
        errors.add(_invalid("period", gettext_lazy("Choose one of the periods.")))
    start = contract.starts_on
    if start is None:
        errors.add(_invalid("starts_on", gettext_lazy("Enter the start date.")))
    else:
        if contract.ends_on is not None and contract.ends_on < start:
            errors.add(_invalid("ends_on", gettext_lazy("The end cannot be before the start.")))
        if contract.renews_on is not None and contract.renews_on < start:
            errors.add(
                _invalid("renews_on", gettext_lazy("The renewal date cannot be before the start."))
            )
        if contract.cancelled_on is not None and contract.cancelled_on < start:
            errors.add(
                _invalid(
                    "cancelled_on",
                    gettext_lazy("The cancellation date cannot be before the start."),
                )
            )
    if (
        contract.renews_on is not None
        and contract.ends_on is not None
        and contract.renews_on > contract.ends_on
        and not contract.auto_renew
    ):
        errors.add(
            _invalid(
                "renews_on",
                gettext_lazy(
                    "The renewal date cannot be after the end, "
                    "unless the contract renews automatically."
                ),
            )
        )
    if contract.cancelled_on is not None and not contract.cancellation_reason:
        errors.add(
            _invalid("cancellation_reason", gettext_lazy("Say why the contract was cancelled."))
        )
    if contract.cancelled_on is None and contract.cancellation_reason:
        errors.add(
            _invalid(
                "cancelled_on", gettext_lazy("Enter the cancellation date, or clear the reason.")
            )
        )
    errors.raise_any()


def _contract_defaults(data: dict[str, Any], *, current: Contract | None) -> dict[str, Any]:
    """The fields being set, with empty texts as "" and a product giving the plan's name and
    the amount when those are sent empty (or, for a new contract, left out)."""
    data = dict(data)
    product: Product | None = (
        data["product"] if "product" in data else getattr(current, "product", None)
    )
    for name in ("plan", "note", "cancellation_reason"):
        if name in data and data[name] is None:
            data[name] = ""
    creating = current is None
    plan_empty = not (data.get("plan") or "").strip()
    if product is not None and ("plan" in data or creating) and plan_empty:
        data["plan"] = product.name
    if ("amount" in data or creating) and data.get("amount") in (None, ""):
        data["amount"] = (
            pricing.to_yen(product.unit_price, "round") if product is not None else Decimal(0)
        )
    return data


@transaction.atomic
def contract_create(
    *,
    actor: User | None,
    customer: Customer,
    data: dict[str, Any],
    via: str = HistoryEntry.Via.UI,
) -> Contract:
    unknown = set(data) - set(CONTRACT_FIELDS)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)}")
    values = {"owner": actor if actor is not None and actor.pk else None, **data}
    contract = Contract(customer=customer, created_by=actor, updated_by=actor)
    for name, value in _contract_defaults(values, current=None).items():
        setattr(contract, name, value)
    _contract_check(contract)
    contract.save()
    record_created(contract, actor=actor, via=via, fields=CONTRACT_FIELDS, customer_id=customer.pk)
    renewal_task_ensure_for(contract)
    return contract


@transaction.atomic
def contract_update(
    *,
    actor: User | None,
    contract: Contract,
    data: dict[str, Any],
    version: int | None,
    via: str = HistoryEntry.Via.UI,
) -> Contract:
    data = _contract_defaults(data, current=contract)
    before = Contract.objects.filter(pk=contract.pk).values("renews_on", "cancelled_on").get()
    saved = versioned_update(
        Contract,
        actor=actor,
        instance=contract,
        data=data,
        version=version,
        fields=CONTRACT_FIELDS,
        via=via,
        check=_contract_check,
        # The rules give their own messages (amount, dates); Django's would say the same twice.
        clean_exclude=("amount", "plan", "note", "cancellation_reason"),
    )
    renewal_changed = before["renews_on"] != saved.renews_on
    if renewal_changed or (saved.cancelled_on is not None and before["cancelled_on"] is None):
        _renewal_tasks_retire(saved)
    renewal_task_ensure_for(saved)
    return saved


@transaction.atomic
def contract_cancel(
    *,
    actor: User | None,
    contract: Contract,
    cancelled_on: datetime.date | None,
    reason: str,
    version: int | None,
    via: str = HistoryEntry.Via.UI,
) -> Contract:
    """Record a cancellation (解約): the contract and its customer stay, for win-back later."""
    if cancelled_on is None:
        current = Contract.objects.get(pk=contract.pk)
        if version is not None and current.version != version:
            raise StaleVersionError(current)
        raise _invalid("cancelled_on", gettext_lazy("Enter the cancellation date."))
    return contract_update(
        actor=actor,
        contract=contract,
        data={"cancelled_on": cancelled_on, "cancellation_reason": reason or ""},
        version=version,
        via=via,
    )


@transaction.atomic
def contract_delete(
    *, actor: User | None, contract: Contract, via: str = HistoryEntry.Via.UI
) -> None:
    if contract.deleted_at is None:
        _renewal_tasks_retire(contract)
    move_to_trash(contract, actor=actor, via=via)


# --- renewal reminders ------------------------------------------------------------------------


def renewal_window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Renewal dates that get a reminder today: passed by at most the grace period, or at most
    ENISHI_RENEWAL_NOTICE_DAYS ahead."""
    return (
        today - datetime.timedelta(days=RENEWAL_GRACE_DAYS),
        today + datetime.timedelta(days=settings.ENISHI_RENEWAL_NOTICE_DAYS),
    )


def renewal_task_due(renews_on: datetime.date, today: datetime.date) -> datetime.date:
    return max(today, renews_on - datetime.timedelta(days=RENEWAL_LEAD_DAYS))


def _renewals_pending(today: datetime.date):
    return Contract.objects.filter(
        deleted_at__isnull=True,
        cancelled_on__isnull=True,
        customer__deleted_at__isnull=True,
        renews_on__range=renewal_window(today),
    ).exclude(renewal_task_for=F("renews_on"))


def _active(user: User | None) -> User | None:
    return user if user is not None and user.is_active else None


def _renewal_task_make(contract: Contract, today: datetime.date) -> Task | None:
    # Claim the renewal date first: of two checks running at once, only one makes the task.
    claimed = (
        Contract.objects.filter(pk=contract.pk, renews_on=contract.renews_on)
        .exclude(renewal_task_for=contract.renews_on)
        .update(renewal_task_for=contract.renews_on)
    )
    if not claimed:
        return None
    _renewal_tasks_retire(contract, forget=False)
    assignee = _active(contract.owner) or _active(contract.customer.owner)
    with translation.override(assignee.language if assignee else settings.LANGUAGE_CODE):
        title = (
            _("Check before automatic renewal: %(plan)s (%(date)s)")
            if contract.auto_renew
            else _("Renewal: %(plan)s (%(date)s)")
        ) % {"plan": contract.plan, "date": contract.renews_on.isoformat()}
    task = activity_services.task_create(
        actor=None,
        customer=contract.customer,
        title=title[:200],
        due_on=renewal_task_due(contract.renews_on, today),
        assignee=assignee,
        via=HistoryEntry.Via.SYSTEM,
    )
    Task.objects.filter(pk=task.pk).update(contract=contract)
    task.contract = contract
    contract.renewal_task_for = contract.renews_on
    return task


def _renewal_tasks_retire(contract: Contract, *, forget: bool = True) -> None:
    """Open reminders of this contract are for a date that no longer holds: to the trash.
    `forget` lets the current date have a reminder again (a date changed back and forth)."""
    for task in Task.objects.filter(
        contract=contract, done_at__isnull=True, deleted_at__isnull=True
    ):
        activity_services.task_delete(actor=None, task=task, via=HistoryEntry.Via.SYSTEM)
    if forget:
        Contract.objects.filter(pk=contract.pk).update(renewal_task_for=None)
        contract.renewal_task_for = None


def renewal_task_ensure_for(contract: Contract, today: datetime.date | None = None) -> Task | None:
    """Right after a contract is saved: its reminder, if its renewal is due for one now."""
    today = today or timezone.localdate()
    if not _renewals_pending(today).filter(pk=contract.pk).exists():
        return None
    contract = Contract.objects.select_related("customer__owner", "owner").get(pk=contract.pk)
    return _renewal_task_make(contract, today)


def renewal_tasks_create(today: datetime.date | None = None) -> int:
    """Make the reminders that are due (idempotent); returns how many were made."""
    today = today or timezone.localdate()
    made = 0
    pending = _renewals_pending(today).select_related("customer__owner", "owner")
    for contract in pending.order_by("renews_on", "pk"):
        with transaction.atomic():
            if _renewal_task_make(contract, today) is not None:
                made += 1
    return made


def renewal_tasks_ensure() -> int:
    """The lazy check behind the renewals list and "my tasks": at most once an hour per process
    (and at once when the date changes), so those pages stay cheap without a cron job."""
    today = timezone.localdate()
    if not cache.add(
        f"enishi:renewals-checked:{today.isoformat()}", time.time(), RENEWAL_CHECK_SECONDS
    ):
        return 0
    return renewal_tasks_create(today)
