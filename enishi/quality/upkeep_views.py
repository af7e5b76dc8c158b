"""Screens for the house style, its one-time clean-up and the freshness report."""

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enishi.core.models import HouseStyle, StyleCleanup
from enishi.core.permissions import admin_required, can_write, is_admin
from enishi.core.records import StaleVersionError
from enishi.quality import house_style, upkeep

EXAMPLE_COMPANIES = ("(株)山田商事", "山田商事㈱", "ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ", "株式会社 山田商事")
EXAMPLE_STREETS = ("一丁目２番地の３ 山田ビル5F", "4丁目20番20号 101号室")


def _examples(style: house_style.Style) -> dict:
    return {
        "companies": [
            (n, house_style.company_name_styled(n, style.company_name)) for n in EXAMPLE_COMPANIES
        ],
        "streets": [(s, house_style.street_styled(s, style.street)) for s in EXAMPLE_STREETS],
        "date": house_style.date_styled(datetime.date(2026, 4, 1), style.dates, for_reader=False),
    }


@admin_required
@require_http_methods(["GET", "POST"])
def style_edit(request: HttpRequest) -> HttpResponse:
    current = upkeep.house_style_get()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        data = {k: request.POST.get(k, "") for k in ("company_name", "street", "dates")}
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = None
        try:
            upkeep.house_style_update(actor=request.user, data=data, version=version)
        except ValidationError as exc:
            errors, status = exc.message_dict, 400
        except StaleVersionError:
            messages.error(
                request,
                _("Someone else changed the house style meanwhile. Check it and save again."),
            )
            return redirect("upkeep:style")
        else:
            messages.success(request, _("House style saved. It applies from the next save."))
            return redirect("upkeep:style")
    style = house_style.Style(
        company_name=current.company_name, street=current.street, dates=current.dates
    )
    return render(
        request,
        "quality/upkeep_style.html",
        {
            "style": current,
            "choices": {
                "company_name": HouseStyle.CompanyName.choices,
                "street": HouseStyle.Street.choices,
                "dates": HouseStyle.Dates.choices,
            },
            "errors": errors,
            "examples": _examples(style),
            "latest": upkeep.cleanup_latest(),
            "settings_section": "style",
        },
        status=status,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def cleanup(request: HttpRequest) -> HttpResponse:
    """Preview of what the house style would change in existing kartes, and the button to run it.

    Every change can be reviewed: the preview is paged by karte id (`?after=<id>`: the changes
    after that karte). "Show more" adds the next page under the table with htmx (`part=rows`
    answers the rows alone); without JavaScript it is a link to the next page. Only the first
    page counts the changes (within its time limit)."""
    if request.method == "POST":
        try:
            run = upkeep.cleanup_start(actor=request.user)
        except upkeep.CleanupActive as active:
            messages.info(
                request, _("A clean-up is already running: here is its progress (one at a time).")
            )
            run = active.run
        return redirect("upkeep:cleanup_run", pk=run.pk)
    current = upkeep.house_style_get()
    style = house_style.Style(company_name=current.company_name, street=current.street)
    after = _karte_id(request.GET.get("after"))
    page = upkeep.cleanup_preview_page(style, after=after)
    if request.htmx and request.GET.get("part") == "rows":
        return render(request, "quality/_cleanup_rows.html", {"page": page})
    return render(
        request,
        "quality/upkeep_cleanup.html",
        {
            "style": current,
            "page": page,
            "count": None if after else upkeep.cleanup_count(style),
            "preview_size": upkeep.PREVIEW_SIZE,
            "latest": upkeep.cleanup_latest(),
            "settings_section": "style",
        },
    )


def _karte_id(value: str | None) -> int:
    """A karte id from the query string; 0 (from the start) for anything else."""
    return int(value) if value and value.isdigit() and len(value) < 19 else 0


@admin_required
@require_GET
def cleanup_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(StyleCleanup.objects.select_related("created_by", "undone_by"), pk=pk)
    template = (
        "quality/upkeep_cleanup_progress.html"
        if request.htmx
        else "quality/upkeep_cleanup_run.html"
    )
    return render(request, template, {"run": run, "settings_section": "style"})


@admin_required
@require_POST
def cleanup_undo(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(StyleCleanup, pk=pk)
    try:
        upkeep.cleanup_undo_start(actor=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("upkeep:cleanup_run", pk=run.pk)


def _months(value: str | None) -> int:
    try:
        months = int(value or 12)
    except ValueError:
        return 12
    return months if months in upkeep.FRESHNESS_MONTHS else 12


@require_GET
def freshness(request: HttpRequest) -> HttpResponse:
    """Kartes nobody has updated or confirmed for N months, by owner, oldest first."""
    months = _months(request.GET.get("months"))
    owner = request.GET.get("owner", "")
    owner_id = int(owner) if owner.isdigit() and len(owner) < 19 else None
    stale = upkeep.stale_customers(
        request.user, months=months, owner_id=owner_id, unowned=owner == "none"
    )
    page = Paginator(stale, settings.ENISHI_PAGE_SIZE).get_page(request.GET.get("page"))
    query = {"months": months, **({"owner": owner} if owner else {})}
    by_owner = upkeep.stale_by_owner(request.user, months=months)
    return render(
        request,
        "quality/upkeep_freshness.html",
        {
            "months": months,
            "month_choices": upkeep.FRESHNESS_MONTHS,
            "owner": owner,
            "by_owner": by_owner,
            "everyone": sum(row.stale for row in by_owner),
            "page": page,
            "querystring": urlencode(query),
            "can_confirm": can_write(request.user),
        },
    )


@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Confirmed today" from the freshness report: the row answers in place."""
    from enishi.customers import selectors, services

    customer = selectors.customer_get_for_edit(request.user, pk)
    services.customer_confirm(actor=request.user, customer=customer)
    if request.htmx:
        return render(request, "quality/upkeep_confirmed.html", {"customer": customer})
    messages.success(request, _("Marked as confirmed today."))
    return redirect(request.POST.get("next") if _safe(request) else "upkeep:freshness")


@require_POST
def confirm_many(request: HttpRequest) -> HttpResponse:
    """ "Confirmed today" for the kartes ticked in the freshness report (or the whole page)."""
    from enishi.customers import selectors, services

    if not can_write(request.user):
        raise Http404
    field = "page_ids" if request.POST.get("all") else "ids"
    ids = [int(v) for v in request.POST.getlist(field)[: settings.ENISHI_PAGE_SIZE] if v.isdigit()]
    kartes = list(selectors.customer_visible(request.user).filter(pk__in=ids)) if ids else []
    for customer in kartes:
        services.customer_confirm(actor=request.user, customer=customer)
    if kartes:
        messages.success(
            request,
            ngettext(
                "Marked %(count)s karte as confirmed today.",
                "Marked %(count)s kartes as confirmed today.",
                len(kartes),
            )
            % {"count": len(kartes)},
        )
    else:
        messages.error(request, _("Tick the kartes to mark as confirmed today."))
    return redirect(request.POST.get("next") if _safe(request) else "upkeep:freshness")


def _safe(request: HttpRequest) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


@require_GET
def data_hub(request: HttpRequest) -> HttpResponse:
    """Moving data in and out and keeping it clean: one page that leads to each tool."""
    return render(
        request,
        "quality/upkeep_data.html",
        {"can_write": can_write(request.user), "is_admin": is_admin(request.user)},
    )
