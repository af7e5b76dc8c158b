"""Screens for products, orders, contracts and renewals: thin views over the services and
selectors. Each: parse input → one selector or service → render."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enishi.accounts.models import User
from enishi.core.permissions import admin_required, can_write, is_admin, write_required
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_get_for_edit
from enishi.history.conflicts import EditConflict
from enishi.sales import pricing, selectors, services
from enishi.sales.forms import (
    LINE_FIELDS,
    ContractCancelForm,
    ContractForm,
    OrderForm,
    OrderLineForm,
    ProductForm,
    line_is_blank,
)
from enishi.sales.models import Contract, Order, Product, TaxRate

MIN_LINE_ROWS = 3
# Rows a posted form may carry (filled ones beyond the service's limit are refused there).
MAX_LINE_ROWS = services.MAX_LINES + 20
MAX_RENEWAL_DAYS = 730


def _int_or_none(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is None or 0 < number < 2**63 else None


def _date_or_none(value: str | None) -> datetime.date | None:
    try:
        return parse_date(value or "")
    except ValueError:
        return None


def _querystring(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _owners():
    return User.objects.filter(is_active=True).order_by("username")


def _add_errors(form: Form, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _version(request: HttpRequest) -> int | None:
    return _int_or_none(request.POST.get("version"))


# --- products ---------------------------------------------------------------------------------


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    """Everyone may look prices up; admins also see discontinued products and edit them."""
    active = {"1": True, "0": False}.get(request.GET.get("active", ""))
    q = request.GET.get("q", "")[:100]
    qs = selectors.product_list(request.user, active=active, q=q)
    page = Paginator(qs, settings.ENISHI_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sales/product_list.html",
        {
            "page": page,
            "q": q,
            "active": request.GET.get("active", ""),
            "can_edit": is_admin(request.user),
            "querystring": _querystring(request),
        },
    )


def _product_form_page(request: HttpRequest, product: Product | None) -> HttpResponse:
    initial: dict[str, Any] = {"is_active": True, "tax_rate": TaxRate.STANDARD}
    if product is not None:
        initial = {name: getattr(product, name) for name in services.PRODUCT_FIELDS}
    form = ProductForm(request.POST or None, initial=initial)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                saved = services.product_create(actor=request.user, data=form.cleaned_data)
            else:
                saved = services.product_update(
                    actor=request.user,
                    product=product,
                    data=form.cleaned_data,
                    version=_version(request),
                )
        except services.StaleVersionError as exc:
            conflict = exc.current
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved the product %(name)s.") % {"name": saved.name})
            return redirect("sales:product_list")
    status = 409 if conflict else (400 if form.errors else 200)
    return render(
        request,
        "sales/product_form.html",
        {"form": form, "product": product, "conflict": conflict},
        status=status,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest) -> HttpResponse:
    return _product_form_page(request, None)


@admin_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _product_form_page(request, selectors.product_get(request.user, pk))


# --- orders -----------------------------------------------------------------------------------


@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    filters = selectors.OrderFilters(
        status=g.get("status", "") if g.get("status") in Order.Status.values else "",
        date_from=_date_or_none(g.get("from")),
        date_to=_date_or_none(g.get("to")),
        customer=_int_or_none(g.get("customer")),
        owner=_int_or_none(g.get("owner")),
        q=g.get("q", "")[:100],
    )
    qs = selectors.order_list(request.user, filters).select_related("customer", "owner")
    sums = selectors.order_sums(qs)
    paginator = Paginator(qs, settings.ENISHI_PAGE_SIZE)
    # The sums already counted the orders: the pager need not count them again.
    paginator.__dict__["count"] = sums.count
    return render(
        request,
        "sales/order_list.html",
        {
            "page": paginator.get_page(g.get("page")),
            "sums": sums,
            "filters": filters,
            "statuses": Order.Status.choices,
            "owners": _owners(),
            "querystring": _querystring(request),
        },
    )


@dataclass
class TaxRow:
    rate: int
    taxable: Decimal
    tax: Decimal


def _tax_rows(totals: pricing.OrderTotals) -> list[TaxRow]:
    return [TaxRow(rate, taxable, tax) for rate, (taxable, tax) in totals.by_rate.items()]


@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(request.user, pk)
    lines = list(order.lines.all())
    totals = pricing.order_totals((line.amount, line.tax_rate) for line in lines)
    return render(
        request,
        "sales/order_detail.html",
        {
            "order": order,
            "customer": order.customer,
            "lines": lines,
            "tax_rows": _tax_rows(totals),
            "has_reduced": any(line.tax_rate == TaxRate.REDUCED for line in lines),
            "can_edit": can_write(request.user),
            "history": list(selectors.record_history(order)[:20]),
        },
    )


def _posted_rows(post) -> tuple[list[dict[str, str]], int]:
    """The filled line rows as typed (blank rows dropped, so that a line's number in a message
    is its row on the re-shown form), and how many rows the form had."""
    count = min(_int_or_none(post.get("line_count")) or 0, MAX_LINE_ROWS)
    rows = []
    for i in range(count):
        row = {name: post.get(f"line-{i}-{name}", "") for name in LINE_FIELDS}
        if not line_is_blank(row):
            rows.append(row)
    return rows, count


def _line_form(i: int, products, *, row: dict[str, Any] | None = None, bound: bool = False):
    prefix = f"line-{i}"
    if bound and row is not None:
        data = {f"{prefix}-{name}": value for name, value in row.items()}
        return OrderLineForm(data, prefix=prefix, products=products)
    initial = row if row is not None else {"quantity": "1", "discount": "0"}
    return OrderLineForm(prefix=prefix, products=products, initial=initial)


def _line_initial(line) -> dict[str, Any]:
    return {
        "product": line.product_id or "",
        "description": line.description,
        "unit_price": services.money_text(line.unit_price).replace(",", ""),
        "quantity": services.money_text(line.quantity).replace(",", ""),
        "discount": services.money_text(line.discount).replace(",", ""),
        "tax_rate": str(line.tax_rate),
    }


def _order_initial(order: Order | None, user: User) -> dict[str, Any]:
    if order is None:
        return {
            "ordered_on": timezone.localdate(),
            "status": Order.Status.RECEIVED,
            "owner": user if can_write(user) else None,
        }
    return {name: getattr(order, name) for name in services.ORDER_WRITABLE}


def _line_errors_to_forms(exc: ValidationError, form: Form, line_forms: list) -> list[str]:
    """Service problems next to their fields: lines.<i>.<field> on row i; returns the ones
    about the lines as a whole."""
    about_lines: list[str] = []
    for name, errors in exc.message_dict.items():
        if name.startswith("lines."):
            _, index, field = name.split(".", 2)
            target = line_forms[int(index)]
            target.add_error(field if field in target.fields else None, errors)
        elif name == "lines":
            about_lines.extend(errors)
        else:
            form.add_error(name if name in form.fields else None, errors)
    return about_lines


def _order_form_page(request: HttpRequest, customer: Customer, order: Order | None):
    existing = list(order.lines.all()) if order is not None else []
    products = selectors.products_for_lines([ln.product_id for ln in existing if ln.product_id])
    context: dict[str, Any] = {"customer": customer, "order": order, "conflict": None}
    edit = EditConflict(request)  # when the form was shown: a conflict lists what came since
    lines_errors: list[str] = []
    amounts: list[Decimal | None] = []
    preview = None
    status = 200
    if request.method == "POST":
        rows, shown = _posted_rows(request.POST)
        action = request.POST.get("action", "save")
        if action == "add_line":
            # Only more room: nothing is checked yet, everything typed stays.
            form = OrderForm(initial=request.POST.dict())
            line_forms = [_line_form(i, products, row=row) for i, row in enumerate(rows)]
            blanks = max(shown - len(rows), 0) + 1
        else:
            form = OrderForm(request.POST)
            line_forms = [
                _line_form(i, products, row=row, bound=True) for i, row in enumerate(rows)
            ]
            blanks = max(1, MIN_LINE_ROWS - len(rows))
            valid = form.is_valid() & all([f.is_valid() for f in line_forms])
            if valid:
                lines = [f.service_line() for f in line_forms]
                try:
                    if action == "preview":
                        priced, totals = services.order_lines_price(lines)
                        amounts = [line.amount for line in priced]
                        preview = {"totals": totals, "tax_rows": _tax_rows(totals)}
                    else:
                        saved = _order_save(request, customer, order, form, lines)
                        messages.success(
                            request, _("Saved the order %(number)s.") % {"number": saved.number}
                        )
                        return redirect(saved)
                except services.StaleVersionError as exc:
                    context["conflict"] = exc.current
                    edit.found(exc.current)
                except ValidationError as exc:
                    lines_errors = _line_errors_to_forms(exc, form, line_forms)
            has_errors = bool(form.errors or lines_errors or any(f.errors for f in line_forms))
            # A preview with problems shows them without failing (htmx swaps only 2xx).
            failed = has_errors and action != "preview"
            status = 409 if context["conflict"] else (400 if failed else 200)
    else:
        form = OrderForm(initial=_order_initial(order, request.user))
        line_forms = [
            _line_form(i, products, row=_line_initial(line)) for i, line in enumerate(existing)
        ]
        amounts = [line.amount for line in existing]
        blanks = max(1, MIN_LINE_ROWS - len(existing))
    start = len(line_forms)
    line_forms += [_line_form(start + i, products) for i in range(blanks)]
    amounts += [None] * (len(line_forms) - len(amounts))
    context.update(
        has_errors=bool(form.errors or lines_errors or any(f.errors for f in line_forms)),
        form=form,
        line_rows=list(zip(line_forms, amounts, strict=True)),
        line_count=len(line_forms),
        lines_errors=lines_errors,
        preview=preview,
        products_json=[
            {"id": p.pk, "name": p.name, "price": str(p.unit_price), "rate": p.tax_rate}
            for p in products
        ],
        version=(context["conflict"] or order).version if order is not None else "",
    )
    if order is not None:
        context.update(edit.context)
    return render(request, "sales/order_form.html", context, status=status)


def _order_save(request, customer, order, form, lines) -> Order:
    data = form.service_data()
    if order is None:
        return services.order_create(actor=request.user, customer=customer, data=data, lines=lines)
    return services.order_update(
        actor=request.user, order=order, data=data, lines=lines, version=_version(request)
    )


@write_required
@require_http_methods(["GET", "POST"])
def order_create(request: HttpRequest) -> HttpResponse:
    """/sales/orders/new/?customer=<id>: an order is always for one karte."""
    customer = customer_get_for_edit(request.user, _int_or_none(request.GET.get("customer")) or 0)
    return _order_form_page(request, customer, None)


@write_required
@require_http_methods(["GET", "POST"])
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(request.user, pk)
    return _order_form_page(request, order.customer, order)


@write_required
@require_POST
def order_delete(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(request.user, pk)
    services.order_delete(actor=request.user, order=order)
    messages.success(request, _("Moved the order %(number)s to the trash.") % {"number": order})
    return redirect(order.customer)


# --- contracts --------------------------------------------------------------------------------


@require_GET
def contract_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    within = _int_or_none(g.get("renews_within"))
    filters = selectors.ContractFilters(
        state=g.get("state", "") if g.get("state") in selectors.CONTRACT_STATES else "",
        renews_within=min(within, MAX_RENEWAL_DAYS) if within else None,
        customer=_int_or_none(g.get("customer")),
        owner=_int_or_none(g.get("owner")),
        q=g.get("q", "")[:100],
    )
    qs = selectors.contract_list(request.user, filters).select_related(
        "customer", "owner", "product"
    )
    return render(
        request,
        "sales/contract_list.html",
        {
            "page": Paginator(qs, settings.ENISHI_PAGE_SIZE).get_page(g.get("page")),
            "filters": filters,
            "states": [
                ("active", _("Running")),
                ("ending", _("Ending soon")),
                ("ended", _("Ended")),
                ("cancelled", _("Cancelled")),
            ],
            "owners": _owners(),
            "querystring": _querystring(request),
            "today": timezone.localdate(),
        },
    )


@require_GET
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(request.user, pk)
    return render(
        request,
        "sales/contract_detail.html",
        {
            "contract": contract,
            "customer": contract.customer,
            "can_edit": can_write(request.user),
            "tasks": selectors.contract_tasks(contract),
            "history": list(selectors.record_history(contract)[:20]),
        },
    )


def _contract_initial(contract: Contract | None, user: User) -> dict[str, Any]:
    if contract is None:
        return {"starts_on": timezone.localdate(), "period": Contract.Period.YEAR, "owner": user}
    initial = {name: getattr(contract, name) for name in services.CONTRACT_FIELDS}
    initial["product"] = contract.product_id or ""
    return initial


def _contract_form_page(request: HttpRequest, customer: Customer, contract: Contract | None):
    products = selectors.products_for_lines(
        [contract.product_id] if contract is not None and contract.product_id else []
    )
    form = ContractForm(
        request.POST or None, initial=_contract_initial(contract, request.user), products=products
    )
    conflict = None
    edit = EditConflict(request)  # when the form was shown: a conflict lists what came since
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            if contract is None:
                saved = services.contract_create(actor=request.user, customer=customer, data=data)
            else:
                saved = services.contract_update(
                    actor=request.user, contract=contract, data=data, version=_version(request)
                )
        except services.StaleVersionError as exc:
            conflict = exc.current
            edit.found(conflict)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved the contract %(plan)s.") % {"plan": saved.plan})
            return redirect(saved)
    status = 409 if conflict else (400 if form.errors else 200)
    return render(
        request,
        "sales/contract_form.html",
        {
            "form": form,
            "customer": customer,
            "contract": contract,
            "conflict": conflict,
            "version": (conflict or contract).version if contract is not None else "",
            **(edit.context if contract is not None else {}),
            "renewal_notice_days": settings.ENISHI_RENEWAL_NOTICE_DAYS,
            "products_json": [
                {"id": p.pk, "name": p.name, "price": str(pricing.to_yen(p.unit_price, "round"))}
                for p in products
            ],
        },
        status=status,
    )


@write_required
@require_http_methods(["GET", "POST"])
def contract_create(request: HttpRequest) -> HttpResponse:
    """/sales/contracts/new/?customer=<id>"""
    customer = customer_get_for_edit(request.user, _int_or_none(request.GET.get("customer")) or 0)
    return _contract_form_page(request, customer, None)


@write_required
@require_http_methods(["GET", "POST"])
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(request.user, pk)
    return _contract_form_page(request, contract.customer, contract)


@write_required
@require_http_methods(["GET", "POST"])
def contract_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(request.user, pk)
    form = ContractCancelForm(
        request.POST or None,
        initial={
            "cancelled_on": contract.cancelled_on or timezone.localdate(),
            "cancellation_reason": contract.cancellation_reason,
        },
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.contract_cancel(
                actor=request.user,
                contract=contract,
                cancelled_on=form.cleaned_data["cancelled_on"],
                reason=form.cleaned_data["cancellation_reason"],
                version=_version(request),
            )
        except services.StaleVersionError as exc:
            conflict = exc.current
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, _("Recorded the cancellation of %(plan)s.") % {"plan": saved.plan}
            )
            return redirect(saved)
    status = 409 if conflict else (400 if form.errors else 200)
    return render(
        request,
        "sales/contract_cancel.html",
        {
            "form": form,
            "contract": contract,
            "customer": contract.customer,
            "conflict": conflict,
            "version": (conflict or contract).version,
        },
        status=status,
    )


@write_required
@require_POST
def contract_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contract = selectors.contract_get(request.user, pk)
    services.contract_delete(actor=request.user, contract=contract)
    messages.success(request, _("Moved the contract %(plan)s to the trash.") % {"plan": contract})
    return redirect(contract.customer)


@require_GET
def renewals(request: HttpRequest) -> HttpResponse:
    """Contracts renewing within N days (default: the notice period), and overdue renewals."""
    days = _int_or_none(request.GET.get("days")) or settings.ENISHI_RENEWAL_NOTICE_DAYS
    days = min(days, MAX_RENEWAL_DAYS)
    owner = _int_or_none(request.GET.get("owner"))
    services.renewal_tasks_ensure()
    return render(
        request,
        "sales/renewals.html",
        {
            "renewals": selectors.renewals_due(request.user, days, owner=owner),
            "days": days,
            "owner": owner,
            "owners": _owners(),
            "today": timezone.localdate(),
        },
    )
