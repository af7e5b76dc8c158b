"""API for products, orders, contracts and renewals: thin handlers over the sales services, every
order and contract reached through a karte the user may see (anything else is a 404).

Money is sent and returned as decimal strings ("12000", "1080.50"): unit prices may carry sen
(2 decimal places), amounts, discounts, tax and totals are whole yen. Numbers are accepted on
input too, but strings keep every digit exact.
"""

import datetime
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema
from ninja.responses import Status

from enishi.api import selectors as api_selectors
from enishi.api.auth import require_write, write_auth
from enishi.api.errors import (
    ErrorOut,
    Forbidden,
    Unprocessable,
    error_responses,
    rule_errors,
    stale_conflict,
)
from enishi.api.schemas import (
    Day,
    Id,
    InSchema,
    Limit,
    PageOut,
    Version,
    cursor_after_id,
    etag,
    id_page,
    text,
    version_wanted,
)
from enishi.core.permissions import is_admin
from enishi.customers.selectors import customer_get
from enishi.history.models import HistoryEntry
from enishi.sales import pricing, selectors, services
from enishi.sales.models import Contract, Order, OrderLine, Product

router = Router()

VIA = HistoryEntry.Via.API
TaxRateIn = Literal[10, 8, 0]
OrderStatus = Literal[tuple(Order.Status.values)]
Period = Literal[tuple(Contract.Period.values)]
ContractState = Literal["active", "ending", "ended", "cancelled"]
MONEY_HELP = 'A decimal string such as "12000" or "1080.50".'
YEN_HELP = 'Whole yen as a decimal string, such as "12000".'


# --- schemas ----------------------------------------------------------------------------------


class ProductOut(Schema):
    id: int
    code: str
    name: str
    category: str
    unit_price: Decimal = Field(description="Before tax. " + MONEY_HELP)
    tax_rate: int = Field(description="Percent: 10 (standard), 8 (reduced) or 0.")
    is_active: bool = Field(description="On sale. Discontinued products are seen by admins only.")
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ProductIn(InSchema):
    code: text(50)
    name: text(200)
    category: text(100) | None = None
    unit_price: Decimal = Field(description="Before tax, 0 to 99,999,999,999.99. " + MONEY_HELP)
    tax_rate: TaxRateIn = 10
    is_active: bool = True


class ProductPatch(InSchema):
    code: text(50) | None = None
    name: text(200) | None = None
    category: text(100) | None = None
    unit_price: Decimal | None = Field(None, description=MONEY_HELP)
    tax_rate: TaxRateIn | None = None
    is_active: bool | None = None
    version: Version | None = Field(None, description="The version you read; or If-Match.")


class ProductPage(PageOut):
    results: list[ProductOut]


class ProductConflict(ErrorOut):
    current: ProductOut


class ProductQuery(Schema):
    active: bool | None = Field(None, description="Admins: true / false; others see on-sale only.")
    q: text(100) | None = Field(None, description="In the code, name or category.")
    cursor: text(200) | None = None
    limit: Limit = 50


class OrderLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    description: str
    unit_price: Decimal = Field(description=MONEY_HELP)
    quantity: Decimal = Field(description="Up to 2 decimal places, as a string.")
    discount: Decimal = Field(description=YEN_HELP)
    tax_rate: int
    amount: Decimal = Field(description="Before tax: unit price × quantity (rounded) − discount.")


class OrderLineIn(InSchema):
    """A product fills in the description, unit price and tax rate that are left out."""

    product_id: Id | None = None
    description: text(200) | None = Field(None, description="Required without a product.")
    unit_price: Decimal | None = Field(None, description="0 to 99,999,999,999.99. " + MONEY_HELP)
    quantity: Decimal = Field(Decimal(1), description="More than 0, at most 1,000,000.")
    discount: Decimal = Field(Decimal(0), description="Yen, at most the line's gross amount.")
    tax_rate: TaxRateIn | None = None


class TaxByRate(Schema):
    rate: int
    taxable: Decimal = Field(description="Sum of the lines at this rate. " + YEN_HELP)
    tax: Decimal = Field(description="Tax on that sum, rounded once. " + YEN_HELP)


class OrderOut(Schema):
    id: int
    customer_id: int
    number: str
    ordered_on: datetime.date
    delivered_on: datetime.date | None
    status: str
    owner_id: int | None
    note: str
    subtotal: Decimal = Field(description=YEN_HELP)
    tax: Decimal = Field(description=YEN_HELP)
    total: Decimal = Field(description=YEN_HELP)
    tax_by_rate: list[TaxByRate]
    lines: list[OrderLineOut]
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class OrderFields(InSchema):
    number: text(30) | None = Field(None, description="Empty: numbered automatically.")
    delivered_on: Day | None = Field(None, description="Not before the order date.")
    owner_id: Id | None = None
    note: text(services.MAX_NOTE) | None = None


class OrderIn(OrderFields):
    customer_id: Id
    ordered_on: Day | None = Field(None, description="Default: today.")
    status: OrderStatus = "received"
    owner_id: Id | None = Field(None, description="Default: the token's user.")
    lines: list[OrderLineIn] = Field(max_length=services.MAX_LINES)


class OrderPatch(OrderFields):
    ordered_on: Day | None = None
    status: OrderStatus | None = None
    lines: list[OrderLineIn] | None = Field(
        None, max_length=services.MAX_LINES, description="Given: replaces all the lines."
    )
    version: Version | None = Field(None, description="The version you read; or If-Match.")


class OrderPage(PageOut):
    results: list[OrderOut]


class OrderConflict(ErrorOut):
    current: OrderOut


class OrderQuery(Schema):
    status: OrderStatus | None = None
    ordered_from: Day | None = None
    ordered_to: Day | None = None
    customer_id: Id | None = None
    owner_id: Id | None = None
    q: text(100) | None = Field(None, description="In the number, customer name, lines, note.")
    cursor: text(200) | None = None
    limit: Limit = 50


class ContractOut(Schema):
    id: int
    customer_id: int
    product_id: int | None
    plan: str
    starts_on: datetime.date
    ends_on: datetime.date | None
    renews_on: datetime.date | None
    auto_renew: bool
    amount: Decimal = Field(description="Per period. " + YEN_HELP)
    period: str
    cancelled_on: datetime.date | None
    cancellation_reason: str
    owner_id: int | None
    note: str
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ContractFields(InSchema):
    product_id: Id | None = None
    plan: text(200) | None = Field(None, description="Default: the product's name.")
    ends_on: Day | None = Field(None, description="Not before the start.")
    renews_on: Day | None = Field(
        None, description="Not before the start; not after the end unless auto_renew."
    )
    auto_renew: bool | None = None
    amount: Decimal | None = Field(None, description="Per period, 0 or more. " + YEN_HELP)
    period: Period | None = None
    owner_id: Id | None = None
    note: text(services.MAX_NOTE) | None = None
    cancelled_on: Day | None = None
    cancellation_reason: text(300) | None = Field(None, description="Required when cancelled.")


class ContractIn(ContractFields):
    customer_id: Id
    starts_on: Day
    owner_id: Id | None = Field(None, description="Default: the token's user.")


class ContractPatch(ContractFields):
    starts_on: Day | None = None
    version: Version | None = Field(None, description="The version you read; or If-Match.")


class ContractCancelIn(InSchema):
    cancelled_on: Day
    reason: text(300)
    version: Version | None = Field(None, description="The version you read; or If-Match.")


class ContractPage(PageOut):
    results: list[ContractOut]


class ContractConflict(ErrorOut):
    current: ContractOut


class ContractQuery(Schema):
    state: ContractState | None = Field(
        None,
        description="active: running; ending: ends within the notice period without renewing "
        "automatically; ended; cancelled.",
    )
    renews_within: int | None = Field(
        None, ge=0, le=730, description="Running, renewal date from today to this many days on."
    )
    customer_id: Id | None = None
    owner_id: Id | None = None
    q: text(100) | None = None
    cursor: text(200) | None = None
    limit: Limit = 50


class RenewalOut(ContractOut):
    overdue: bool = Field(description="The renewal date has passed (and it is not automatic).")
    reminder: Literal["none", "open", "done"] = Field(
        description="The reminder task for the current renewal date."
    )
    reminder_task_id: int | None


class RenewalList(Schema):
    results: list[RenewalOut]


class RenewalQuery(Schema):
    days: int | None = Field(
        None, ge=1, le=730, description="Default: the notice period (ENISHI_RENEWAL_NOTICE_DAYS)."
    )
    owner_id: Id | None = None
    limit: Limit = 200


# --- presenting -------------------------------------------------------------------------------


def _product(p: Product) -> dict[str, Any]:
    return {name: getattr(p, name) for name in ProductOut.model_fields}


def _line(line: OrderLine) -> dict[str, Any]:
    return {name: getattr(line, name) for name in OrderLineOut.model_fields}


def _order(o: Order) -> dict[str, Any]:
    lines = list(o.lines.all())
    totals = pricing.order_totals((line.amount, line.tax_rate) for line in lines)
    return {
        **{
            name: getattr(o, name)
            for name in OrderOut.model_fields
            if name not in ("lines", "tax_by_rate")
        },
        "lines": [_line(line) for line in lines],
        "tax_by_rate": [
            {"rate": rate, "taxable": taxable, "tax": tax}
            for rate, (taxable, tax) in totals.by_rate.items()
        ],
    }


def _contract(c: Contract) -> dict[str, Any]:
    return {name: getattr(c, name) for name in ContractOut.model_fields}


def _renewal(c: Contract, today: datetime.date) -> dict[str, Any]:
    return {
        **_contract(c),
        "overdue": c.renews_on < today,
        "reminder": c.reminder_state,
        "reminder_task_id": c.renewal_task_id if c.reminder_state != "none" else None,
    }


# --- helpers ----------------------------------------------------------------------------------

# Service field names → the API's.
_FIELD_NAMES = {"product": "product_id", "customer": "customer_id", "owner": "owner_id"}
# A cancellation's reason is `reason` in its request, `cancellation_reason` on the contract.
_CANCEL_FIELD_NAMES = {**_FIELD_NAMES, "cancellation_reason": "reason"}


def _invalid(exc: ValidationError, names: dict[str, str] = _FIELD_NAMES) -> Unprocessable:
    return Unprocessable(_("Some values are not valid: see errors."), rule_errors(exc, names))


def _product_ref(field: str, pk: int | None) -> Product | None:
    if pk is None:
        return None
    product = selectors.product_for_line(pk)
    if product is None:
        raise Unprocessable.field(field, "invalid", _("There is no product with this id."))
    return product


def _lines(items: list[OrderLineIn]) -> list[dict[str, Any]]:
    lines = []
    for i, item in enumerate(items):
        data = item.model_dump()
        data["product"] = _product_ref(f"lines.{i}.product_id", data.pop("product_id"))
        lines.append(data)
    return lines


def _blank_text(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """null clears a text field (stored as empty text)."""
    for name in names:
        if name in data and data[name] is None:
            data[name] = ""
    return data


def _refuse_null(data: dict[str, Any], *names: str) -> None:
    for name in names:
        if name in data and data[name] is None:
            raise Unprocessable.field(name, "null", _("This field cannot be empty."))


def _require_admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise Forbidden(_("Only administrators may change products."))


READ_ERRORS = error_responses(401, 422, 429)
ONE_ERRORS = error_responses(401, 404, 422, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 422, 429)
DELETE_ERRORS = error_responses(401, 403, 404, 422, 429)


# --- products ---------------------------------------------------------------------------------


@router.get(
    "/products",
    response={200: ProductPage, **READ_ERRORS},
    tags=["products"],
    summary="List products",
)
def list_products(request: HttpRequest, query: Query[ProductQuery]):
    """Products on sale (admins: also discontinued ones), in id order; page with `cursor`."""
    qs = selectors.product_list(request.user, active=query.active, q=query.q or "").order_by("pk")
    after = cursor_after_id(query.cursor)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    items, next_cursor = id_page(list(qs[: query.limit + 1]), query.limit)
    return {"results": [_product(p) for p in items], "next_cursor": next_cursor}


@router.post(
    "/products",
    response={201: ProductOut, **WRITE_ERRORS},
    tags=["products"],
    summary="Add a product (admins)",
    auth=write_auth(_require_admin),
)
def create_product(request: HttpRequest, response: HttpResponse, payload: ProductIn):
    require_write(request)
    _require_admin(request)
    data = _blank_text(payload.model_dump(), "category")
    try:
        product = services.product_create(actor=request.user, data=data, via=VIA)
    except ValidationError as exc:
        raise _invalid(exc) from None
    response["ETag"] = etag(product.version)
    return Status(201, _product(product))


@router.get(
    "/products/{id}",
    response={200: ProductOut, **ONE_ERRORS},
    tags=["products"],
    summary="Get a product",
)
def get_product(request: HttpRequest, response: HttpResponse, id: Id):
    product = selectors.product_get(request.user, id)
    response["ETag"] = etag(product.version)
    return _product(product)


@router.patch(
    "/products/{id}",
    response={200: ProductOut, 409: ProductConflict, **WRITE_ERRORS},
    tags=["products"],
    summary="Change a product (admins)",
    auth=write_auth(_require_admin),
)
def update_product(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: ProductPatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    require_write(request)
    product = selectors.product_get(request.user, id)
    _require_admin(request)
    version = version_wanted(payload.version, if_match, current=lambda: _product(product))
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    _refuse_null(data, "code", "name", "unit_price", "tax_rate", "is_active")
    data = _blank_text(data, "category")
    try:
        product = services.product_update(
            actor=request.user, product=product, data=data, version=version, via=VIA
        )
    except services.StaleVersionError as exc:
        raise stale_conflict(_product(exc.current)) from None
    except ValidationError as exc:
        raise _invalid(exc) from None
    response["ETag"] = etag(product.version)
    return _product(product)


# --- orders -----------------------------------------------------------------------------------


@router.get(
    "/orders", response={200: OrderPage, **READ_ERRORS}, tags=["orders"], summary="List orders"
)
def list_orders(request: HttpRequest, query: Query[OrderQuery]):
    """Orders on kartes the user may see, in id order, filtered; page with `cursor`."""
    filters = selectors.OrderFilters(
        status=query.status or "",
        date_from=query.ordered_from,
        date_to=query.ordered_to,
        customer=query.customer_id,
        owner=query.owner_id,
        q=query.q or "",
    )
    found = selectors.order_page(
        request.user, filters, after=cursor_after_id(query.cursor), limit=query.limit + 1
    )
    items, next_cursor = id_page(found, query.limit)
    return {"results": [_order(o) for o in items], "next_cursor": next_cursor}


@router.post(
    "/orders",
    response={201: OrderOut, **WRITE_ERRORS},
    tags=["orders"],
    summary="Add an order",
    auth=write_auth(),
)
def create_order(request: HttpRequest, response: HttpResponse, payload: OrderIn):
    """An order with its lines for a customer; totals and the number are computed."""
    require_write(request)
    customer = customer_get(request.user, payload.customer_id)
    data = payload.model_dump(exclude_unset=True, exclude={"customer_id", "lines"})
    data = _blank_text(data, "number", "note")
    if "owner_id" in data:
        data["owner"] = api_selectors.user_active_or_422("owner_id", data.pop("owner_id"))
    if data.get("ordered_on", "") is None:
        data.pop("ordered_on")
    lines = _lines(payload.lines)
    try:
        order = services.order_create(
            actor=request.user, customer=customer, data=data, lines=lines, via=VIA
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    order = selectors.order_get(request.user, order.pk)
    response["ETag"] = etag(order.version)
    return Status(201, _order(order))


@router.get(
    "/orders/{id}", response={200: OrderOut, **ONE_ERRORS}, tags=["orders"], summary="Get an order"
)
def get_order(request: HttpRequest, response: HttpResponse, id: Id):
    order = selectors.order_get(request.user, id)
    response["ETag"] = etag(order.version)
    return _order(order)


@router.patch(
    "/orders/{id}",
    response={200: OrderOut, 409: OrderConflict, **WRITE_ERRORS},
    tags=["orders"],
    summary="Change an order",
    auth=write_auth(),
)
def update_order(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: OrderPatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    """Send only what changes; `lines`, when sent, replace all the order's lines."""
    require_write(request)
    order = selectors.order_get(request.user, id)
    version = version_wanted(payload.version, if_match, current=lambda: _order(order))
    data = payload.model_dump(exclude_unset=True, exclude={"version", "lines"})
    _refuse_null(data, "ordered_on", "status")
    if "lines" in payload.model_fields_set and payload.lines is None:
        raise Unprocessable.field("lines", "null", _("This field cannot be empty."))
    data = _blank_text(data, "number", "note")
    if "owner_id" in data:
        data["owner"] = api_selectors.user_active_or_422("owner_id", data.pop("owner_id"))
    lines = _lines(payload.lines) if payload.lines is not None else None
    try:
        order = services.order_update(
            actor=request.user, order=order, data=data, lines=lines, version=version, via=VIA
        )
    except services.StaleVersionError as exc:
        raise stale_conflict(_order(exc.current)) from None
    except ValidationError as exc:
        raise _invalid(exc) from None
    order = selectors.order_get(request.user, order.pk)
    response["ETag"] = etag(order.version)
    return _order(order)


@router.delete(
    "/orders/{id}",
    response={204: None, **DELETE_ERRORS},
    tags=["orders"],
    summary="Delete an order",
    auth=write_auth(),
)
def delete_order(request: HttpRequest, id: Id):
    require_write(request)
    order = selectors.order_get(request.user, id)
    services.order_delete(actor=request.user, order=order, via=VIA)
    return Status(204, None)


# --- contracts --------------------------------------------------------------------------------


def _contract_data(payload: ContractFields, *, exclude: set[str]) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True, exclude={"version", *exclude})
    data = _blank_text(data, "plan", "note", "cancellation_reason")
    if "owner_id" in data:
        data["owner"] = api_selectors.user_active_or_422("owner_id", data.pop("owner_id"))
    if "product_id" in data:
        data["product"] = _product_ref("product_id", data.pop("product_id"))
    return data


@router.get(
    "/contracts",
    response={200: ContractPage, **READ_ERRORS},
    tags=["contracts"],
    summary="List contracts",
)
def list_contracts(request: HttpRequest, query: Query[ContractQuery]):
    """Contracts on kartes the user may see, in id order, filtered; page with `cursor`."""
    filters = selectors.ContractFilters(
        state=query.state or "",
        renews_within=query.renews_within,
        customer=query.customer_id,
        owner=query.owner_id,
        q=query.q or "",
    )
    found = selectors.contract_page(
        request.user, filters, after=cursor_after_id(query.cursor), limit=query.limit + 1
    )
    items, next_cursor = id_page(found, query.limit)
    return {"results": [_contract(c) for c in items], "next_cursor": next_cursor}


@router.post(
    "/contracts",
    response={201: ContractOut, **WRITE_ERRORS},
    tags=["contracts"],
    summary="Add a contract",
    auth=write_auth(),
)
def create_contract(request: HttpRequest, response: HttpResponse, payload: ContractIn):
    """A renewal date within the notice period also makes a reminder task for the owner."""
    require_write(request)
    customer = customer_get(request.user, payload.customer_id)
    data = _contract_data(payload, exclude={"customer_id"})
    if data.get("auto_renew", False) is None:
        data["auto_renew"] = False
    if data.get("period", "") is None:
        data.pop("period")
    try:
        contract = services.contract_create(
            actor=request.user, customer=customer, data=data, via=VIA
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    response["ETag"] = etag(contract.version)
    return Status(201, _contract(contract))


@router.get(
    "/contracts/{id}",
    response={200: ContractOut, **ONE_ERRORS},
    tags=["contracts"],
    summary="Get a contract",
)
def get_contract(request: HttpRequest, response: HttpResponse, id: Id):
    contract = selectors.contract_get(request.user, id)
    response["ETag"] = etag(contract.version)
    return _contract(contract)


@router.patch(
    "/contracts/{id}",
    response={200: ContractOut, 409: ContractConflict, **WRITE_ERRORS},
    tags=["contracts"],
    summary="Change a contract",
    auth=write_auth(),
)
def update_contract(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: ContractPatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    require_write(request)
    contract = selectors.contract_get(request.user, id)
    version = version_wanted(payload.version, if_match, current=lambda: _contract(contract))
    data = _contract_data(payload, exclude=set())
    _refuse_null(data, "starts_on", "auto_renew", "period")
    try:
        contract = services.contract_update(
            actor=request.user, contract=contract, data=data, version=version, via=VIA
        )
    except services.StaleVersionError as exc:
        raise stale_conflict(_contract(exc.current)) from None
    except ValidationError as exc:
        raise _invalid(exc) from None
    response["ETag"] = etag(contract.version)
    return _contract(contract)


@router.post(
    "/contracts/{id}/cancel",
    response={200: ContractOut, 409: ContractConflict, **WRITE_ERRORS},
    tags=["contracts"],
    summary="Record a contract's cancellation",
    auth=write_auth(),
)
def cancel_contract(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: ContractCancelIn,
    if_match: str | None = Header(None, alias="If-Match"),
):
    """The contract and its customer stay (for win-back analysis); its open renewal reminder
    goes to the trash."""
    require_write(request)
    contract = selectors.contract_get(request.user, id)
    version = version_wanted(payload.version, if_match, current=lambda: _contract(contract))
    try:
        contract = services.contract_cancel(
            actor=request.user,
            contract=contract,
            cancelled_on=payload.cancelled_on,
            reason=payload.reason,
            version=version,
            via=VIA,
        )
    except services.StaleVersionError as exc:
        raise stale_conflict(_contract(exc.current)) from None
    except ValidationError as exc:
        raise _invalid(exc, _CANCEL_FIELD_NAMES) from None
    response["ETag"] = etag(contract.version)
    return _contract(contract)


@router.delete(
    "/contracts/{id}",
    response={204: None, **DELETE_ERRORS},
    tags=["contracts"],
    summary="Delete a contract",
    auth=write_auth(),
)
def delete_contract(request: HttpRequest, id: Id):
    require_write(request)
    contract = selectors.contract_get(request.user, id)
    services.contract_delete(actor=request.user, contract=contract, via=VIA)
    return Status(204, None)


@router.get(
    "/renewals",
    response={200: RenewalList, **READ_ERRORS},
    tags=["contracts"],
    summary="Renewals due",
)
def list_renewals(request: HttpRequest, query: Query[RenewalQuery]):
    """Overdue renewals (date passed, not automatic; most recent first), then running contracts
    renewing within `days`, soonest first; at most `limit` of each."""
    services.renewal_tasks_ensure()
    days = query.days or settings.ENISHI_RENEWAL_NOTICE_DAYS
    found = selectors.renewals_due(request.user, days, owner=query.owner_id, limit=query.limit)
    today = timezone.localdate()
    return {"results": [_renewal(c, today) for c in [*found.overdue, *found.due]]}
