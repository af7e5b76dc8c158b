"""Screens for deals: thin views over the services and selectors.

The board moves cards with a plain form POST (← / → buttons and a "move to" select on every
card), which deals.js turns into drag and drop and in-place moves (it asks for JSON).
"""

import datetime
import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enishi.core.permissions import admin_required, can_write, write_required
from enishi.customers.selectors import customer_get_for_edit
from enishi.deals import selectors, services
from enishi.deals.forms import DealForm, MoveForm, PipelineForm, StageRowFormSet
from enishi.deals.models import Deal, Stage
from enishi.history.conflicts import EditConflict


def _int_or_none(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is None or 0 < number < 2**63 else None


def _date_or_none(value: str | None) -> datetime.date | None:
    try:
        day = datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is None or 1900 <= day.year <= 2999 else None


def _month_or_none(value: str | None) -> datetime.date | None:
    try:
        day = datetime.datetime.strptime(value, "%Y-%m").date() if value else None
    except ValueError:
        return None
    return day if day is None or 1900 <= day.year <= 2999 else None


def _decimal_or_none(value: str | None) -> Decimal | None:
    try:
        number = Decimal(value.replace(",", "")) if value else None
    except InvalidOperation:
        return None
    return number if number is None or (number.is_finite() and abs(number) < 10**15) else None


def _owner_filter(request: HttpRequest) -> tuple[str, int | None]:
    raw = request.GET.get("owner", "")
    if raw == "me":
        return raw, request.user.pk
    owner = _int_or_none(raw)
    return (str(owner) if owner else ""), owner


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _add_errors(form, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


# --- board ------------------------------------------------------------------------------------


def _stage_options(stages: list[Stage]) -> str:
    """The "move to" select's options, rendered once and shared by every card."""
    return format_html_join(
        "", '<option value="{}">{}</option>', ((s.pk, s.name) for s in stages if s.is_active)
    )


def _decorate_columns(board: selectors.Board) -> None:
    """Each column's previous and next stage in use (the cards' ← and → buttons), and its sums
    for deals.js to update after a move."""
    active = [c.stage for c in board.columns if c.stage.is_active]
    for column in board.columns:
        before = [
            s for s in active if (s.position, s.pk) < (column.stage.position, column.stage.pk)
        ]
        after = [s for s in active if (s.position, s.pk) > (column.stage.position, column.stage.pk)]
        column.prev_stage = before[-1] if before else None
        column.next_stage = after[0] if after else None
        column.sums_json = json.dumps({c: str(v) for c, v, _w in column.total.items()})


@require_GET
def board(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    pipeline = selectors.pipeline_get(pk) if pk else selectors.pipeline_first()
    pipelines = selectors.pipeline_list()
    if pipeline is None:
        return render(request, "deals/board.html", {"board": None, "pipelines": pipelines})
    owner_value, owner = _owner_filter(request)
    the_board = selectors.board(request.user, pipeline, owner=owner)
    _decorate_columns(the_board)
    open_total = selectors.Money()
    for column in the_board.columns:
        if column.stage.outcome == Stage.Outcome.OPEN:
            open_total.merge(column.total)
    return render(
        request,
        "deals/board.html",
        {
            "board": the_board,
            "pipeline": pipeline,
            "pipelines": pipelines,
            "owner_value": owner_value,
            "owners": selectors.owner_choices(),
            "open_total": open_total,
            "can_edit": can_write(request.user),
            "stage_options": _stage_options(the_board.stages),
            "next": request.get_full_path(),
            "closed_days": selectors.BOARD_CLOSED_DAYS,
            "cards_per_column": selectors.BOARD_CARDS_PER_COLUMN,
        },
    )


# --- list with totals -------------------------------------------------------------------------


def _list_filters(request: HttpRequest) -> selectors.DealFilters:
    g = request.GET
    return selectors.DealFilters(
        pipeline=_int_or_none(g.get("pipeline")),
        stage=_int_or_none(g.get("stage")),
        owner=_owner_filter(request)[1],
        customer=_int_or_none(g.get("customer")),
        status=g.get("status", "") if g.get("status") in selectors.STATUSES else "",
        close_from=_date_or_none(g.get("close_from")),
        close_to=_date_or_none(g.get("close_to")),
        q=g.get("q", "")[:100],
        amount_min=_decimal_or_none(g.get("amount_min")),
    )


@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    filters = _list_filters(request)
    qs = selectors.deal_list(request.user, filters)
    page = Paginator(qs, settings.ENISHI_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    report_query = query.copy()
    report_query.pop("period", None)
    pipelines = selectors.pipeline_list()
    report_pipeline = next(
        (p for p in pipelines if p.pk == filters.pipeline), pipelines[0] if pipelines else None
    )
    start = _month_or_none(request.GET.get("from"))
    # Conversion and time in stage of the deals created in the last 12 months, or of all.
    period = "all" if request.GET.get("period") == "all" else "12m"
    since = None if period == "all" else timezone.localdate() - datetime.timedelta(days=365)
    # The conversion table reads every stage move of the period (~0.5 s at 100k deals): the
    # page comes first and the table follows when it scrolls into view (or on request).
    part = request.GET.get("part")
    metrics = None
    if report_pipeline and (part == "metrics" or request.GET.get("metrics") == "1"):
        metrics = selectors.stage_metrics(request.user, report_pipeline, since=since)
    report_query.pop("metrics", None)
    report_query.pop("part", None)
    if part == "metrics" and request.htmx:
        return render(
            request,
            "deals/_metrics.html",
            {
                "metrics": metrics or [],
                "report_pipeline": report_pipeline,
                "period": period,
                "report_query": report_query.urlencode(),
            },
        )
    return render(
        request,
        "deals/list.html",
        {
            "page": page,
            "filters": filters,
            "owner_value": _owner_filter(request)[0],
            "querystring": query.urlencode(),
            "pipelines": pipelines,
            "stages": [s for p in pipelines for s in p.stages.all()],
            "owners": selectors.owner_choices(),
            "statuses": Stage.Outcome.choices,
            "by_month": selectors.forecast(request.user, filters=filters, by="month", start=start),
            "by_owner": selectors.forecast(request.user, filters=filters, by="owner"),
            "report_pipeline": report_pipeline,
            "metrics": metrics,
            "period": period,
            "report_query": report_query.urlencode(),
        },
    )


# --- one deal ---------------------------------------------------------------------------------


@require_GET
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_get(request.user, pk)
    return render(
        request,
        "deals/detail.html",
        {
            "deal": deal,
            "changes": selectors.stage_changes_for(deal),
            "related": selectors.deal_related(request.user, deal),
            "can_edit": can_write(request.user),
            "move_form": MoveForm(deal=deal, initial={"stage": deal.stage_id}),
        },
    )


@require_http_methods(["GET", "POST"])
@write_required
def deal_create(request: HttpRequest) -> HttpResponse:
    """A new deal for a karte: /deals/new/?customer=<pk>[&pipeline=<pk>]."""
    customer = customer_get_for_edit(request.user, _int_or_none(request.GET.get("customer")) or 0)
    pipeline = selectors.pipeline_first()
    wanted = _int_or_none(request.GET.get("pipeline"))
    if wanted:
        pipeline = selectors.pipeline_get(wanted, active_only=True)
    first = next(
        (s for _p, stages in selectors.stage_choices(pipeline=pipeline) for s in stages), None
    )
    form = DealForm(
        request.POST or None,
        user=request.user,
        customer=customer,
        initial={"owner": request.user, "stage": first.pk if first else None, "currency": "JPY"},
    )
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            stage = form.stage_object()
            if stage is None:
                raise ValidationError({"stage": [_("Choose a stage.")]})
            deal = services.deal_create(actor=request.user, customer=customer, stage=stage, **data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved the deal “%(title)s”.") % {"title": deal.title})
            return redirect(deal)
    return render(
        request,
        "deals/form.html",
        {"form": form, "customer": customer, "deal": None},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_get_for_edit(request.user, pk)
    initial = {
        **{name: getattr(deal, name) for name in services.DEAL_EDITABLE if name != "contacts"},
        "contacts": list(deal.contacts.all()),
    }
    form = DealForm(
        request.POST or None, user=request.user, customer=deal.customer, deal=deal, initial=initial
    )
    conflict = None
    edit = EditConflict(request)  # when the form was shown: a conflict lists what came since
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        if "contacts" in data:
            # Contacts the user may not see were not offered: keep them.
            offered = set(form.fields["contacts"].queryset.values_list("pk", flat=True))
            data["contacts"] += [c for c in deal.contacts.all() if c.pk not in offered]
        try:
            saved = services.deal_update(
                actor=request.user,
                deal=deal,
                data=data,
                version=_int_or_none(request.POST.get("version")),
            )
        except services.StaleVersionError as exc:
            conflict = exc.current
            edit.found(conflict)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved the deal “%(title)s”.") % {"title": saved.title})
            return redirect(saved)
    status = 409 if conflict else (400 if form.errors else 200)
    return render(
        request,
        "deals/form.html",
        {
            "form": form,
            "customer": deal.customer,
            "deal": deal,
            "conflict": conflict,
            **edit.context,
        },
        status=status,
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _card_html(request: HttpRequest, deal: Deal) -> str:
    """One board card, as the board renders it (for deals.js after a move)."""
    stages = list(deal.pipeline.stages.order_by("position", "id"))
    active = [s for s in stages if s.is_active]
    index = next((i for i, s in enumerate(active) if s.pk == deal.stage_id), None)
    column = {
        "stage": deal.stage,
        "prev_stage": active[index - 1] if index else None,
        "next_stage": active[index + 1] if index is not None and index + 1 < len(active) else None,
    }
    deal.days_in_stage = max(0, (timezone.now() - deal.stage_entered_at).days)
    return render_to_string(
        "deals/_card.html",
        {
            "deal": deal,
            "column": column,
            "can_edit": True,
            "stage_options": _stage_options(stages),
            "next": _safe_next(request, reverse("deals:board_pipeline", args=[deal.pipeline_id])),
        },
        request=request,
    )


@require_http_methods(["GET", "POST"])
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """POST stage (or `to`, from the ← / → buttons), version and, for a lost stage, lost_reason.

    deals.js asks for JSON: {ok, card, stage, version} or {ok: false, message, errors, card}
    (409 when someone moved or changed the deal first: `card` is its current state). Without
    JavaScript a lost stage first shows this page to ask for the reason.
    """
    deal = selectors.deal_get_for_edit(request.user, pk)
    back = _safe_next(request, reverse("deals:board_pipeline", args=[deal.pipeline_id]))
    if request.method == "GET":
        form = MoveForm(deal=deal, initial={"stage": _int_or_none(request.GET.get("stage"))})
        return render(request, "deals/move.html", {"deal": deal, "form": form, "next": back})
    stage_id = _int_or_none(request.POST.get("to")) or _int_or_none(request.POST.get("stage"))
    stage = selectors.stage_get(stage_id)
    form = MoveForm(
        {"stage": stage_id or "", "lost_reason": request.POST.get("lost_reason", "")}, deal=deal
    )
    asked = "lost_reason" in request.POST
    if stage is not None and stage.outcome == Stage.Outcome.LOST and not asked:
        if _wants_json(request):
            return JsonResponse(
                {"ok": False, "needs_reason": True, "message": _("Say why the deal was lost.")},
                status=422,
            )
        form = MoveForm(deal=deal, initial={"stage": stage.pk})
        return render(request, "deals/move.html", {"deal": deal, "form": form, "next": back})
    status, message, errors = 200, "", {}
    try:
        if stage is None:
            raise ValidationError({"stage": [_("Choose a stage.")]})
        deal = services.deal_move(
            actor=request.user,
            deal=deal,
            stage=stage,
            version=_int_or_none(request.POST.get("version")),
            lost_reason=request.POST.get("lost_reason", ""),
        )
    except services.StaleVersionError as exc:
        deal = selectors.deal_get(request.user, exc.current.pk)
        status = 409
        message = _(
            "Someone changed this deal after you loaded the board: it is now in “%(stage)s”. "
            "Nothing was moved."
        ) % {"stage": deal.stage.name}
    except ValidationError as exc:
        status = 422 if _wants_json(request) else 400
        errors = exc.message_dict
        message = " ".join(m for ms in errors.values() for m in ms)
    else:
        deal = selectors.deal_get(request.user, deal.pk)
        message = _("Moved “%(title)s” to %(stage)s.") % {
            "title": deal.title,
            "stage": deal.stage.name,
        }
    if _wants_json(request):
        body = {
            "ok": status == 200,
            "stage": deal.stage_id,
            "version": deal.version,
            "card": _card_html(request, deal),
            "message": message,
        }
        if status != 200:
            body["errors"] = errors
        return JsonResponse(body, status=status)
    if status == 200:
        messages.success(request, message)
        return redirect(back)
    if status == 409:
        form = MoveForm(deal=deal, initial={"stage": stage_id})
    else:
        form.is_valid()
        _add_errors(form, ValidationError(errors))
    return render(
        request,
        "deals/move.html",
        {"deal": deal, "form": form, "next": back, "message": message},
        status=status,
    )


@require_POST
def deal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_get_for_edit(request.user, pk)
    services.deal_delete(actor=request.user, deal=deal)
    messages.success(request, _("Moved the deal “%(title)s” to the trash.") % {"title": deal.title})
    return redirect(deal.customer)


# --- pipeline settings (admin) ----------------------------------------------------------------


@admin_required
@require_GET
def pipeline_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "deals/pipelines/list.html",
        {"pipelines": selectors.pipeline_list(active_only=False), "form": PipelineForm()},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def pipeline_create(request: HttpRequest) -> HttpResponse:
    """A new pipeline starts with the standard stages; they are edited on the next page."""
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.pipeline_create(actor=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Created the pipeline “%(name)s” with the standard stages: adjust them here.")
                % {"name": pipeline.name},
            )
            return redirect("deals:pipeline_edit", pk=pipeline.pk)
    return render(
        request,
        "deals/pipelines/create.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _stage_rows(formset) -> list[dict]:
    """The formset's filled rows, in the order their numbers give (ties: as listed)."""
    rows = [
        (f.cleaned_data.get("position") or (i + 1), i, f.cleaned_data)
        for i, f in enumerate(formset.forms)
        if f.cleaned_data.get("filled")
    ]
    return [
        {
            "id": data.get("id"),
            "name": data.get("name") or "",
            "probability": data.get("probability") or 0,
            "outcome": data.get("outcome"),
            "is_active": bool(data.get("is_active")),
            "delete": bool(data.get("delete")),
        }
        for _position, _i, data in sorted(rows, key=lambda r: (r[0], r[1]))
    ]


@admin_required
@require_http_methods(["GET", "POST"])
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = selectors.pipeline_get(pk)
    stages = list(pipeline.stages.order_by("position", "id"))
    form = PipelineForm(
        request.POST or None, initial={"name": pipeline.name, "is_active": pipeline.is_active}
    )
    formset = StageRowFormSet(
        request.POST or None,
        prefix="stages",
        initial=[
            {
                "id": s.pk,
                "name": s.name,
                "probability": s.probability,
                "outcome": s.outcome,
                "is_active": s.is_active,
                "position": i + 1,
            }
            for i, s in enumerate(stages)
        ],
    )
    errors: list[str] = []
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            with transaction.atomic():
                services.pipeline_update(
                    actor=request.user, pipeline=pipeline, data=form.cleaned_data
                )
                services.pipeline_stages_save(
                    actor=request.user, pipeline=pipeline, rows=_stage_rows(formset)
                )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                _add_errors(form, exc)
            else:
                errors = exc.messages
        else:
            messages.success(request, _("Saved the pipeline “%(name)s”.") % {"name": pipeline.name})
            return redirect("deals:pipeline_edit", pk=pipeline.pk)
    in_use = {s.pk for s in stages if services.stage_in_use_by_deals(s)}
    return render(
        request,
        "deals/pipelines/edit.html",
        {
            "pipeline": pipeline,
            "form": form,
            "formset": formset,
            "errors": errors,
            "in_use": in_use,
        },
        status=400
        if (errors or form.errors or not formset.is_valid()) and request.method == "POST"
        else 200,
    )
