"""Export pages: the export of a customer list (reached from the list with its filters in the
query string), one export's progress and download, the history of exports, and the
full-data export for administrators."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enishi.core.permissions import admin_required, is_admin
from enishi.transfer import full_export, selectors, services
from enishi.transfer.export import DEFAULT_COLUMNS, Column, csv_text, customer_rows, export_columns
from enishi.transfer.forms import ExportForm, filters_from_query, filters_to_query
from enishi.transfer.http import download_response
from enishi.transfer.models import Export

SESSION_KEY = "transfer.export"


def _initial(request: HttpRequest, keys: list[str]) -> dict:
    """The columns and format to offer: a quick pick, else the user's last choice, else the
    default set."""
    remembered = request.session.get(SESSION_KEY, {})
    pick = request.GET.get("pick", "")
    if pick == "all":
        wanted = keys
    elif pick == "none":
        wanted = []
    elif pick == "default":
        wanted = list(DEFAULT_COLUMNS)
    else:
        wanted = remembered.get("columns") or list(DEFAULT_COLUMNS)
    chosen = set(wanted)
    file_format = request.GET.get("format") or remembered.get("format")
    if file_format not in ExportForm.FORMATS:
        file_format = Export.Format.XLSX
    return {"columns": [key for key in keys if key in chosen], "format": file_format}


def _groups(columns: list[Column], chosen: set[str]) -> list[tuple[str, list[tuple[Column, bool]]]]:
    groups: dict[str, list[tuple[Column, bool]]] = {}
    for column in columns:
        groups.setdefault(column.group, []).append((column, column.key in chosen))
    return list(groups.items())


@require_http_methods(["GET", "POST"])
def customer_export(request: HttpRequest) -> HttpResponseBase:
    filters = filters_from_query(request.GET)
    columns = export_columns(request.user)
    report = None
    count = selectors.export_count(request.user, filters)
    background = count > services.background_threshold()
    if request.method == "POST":
        form = ExportForm(request.POST, columns=columns)
        if form.is_valid():
            data = form.cleaned_data
            request.session[SESSION_KEY] = {"columns": data["columns"], "format": data["format"]}
            options = {
                "actor": request.user,
                "filters": filters,
                "column_keys": data["columns"],
                "file_format": data["format"],
                "replace_unencodable": data["unencodable"] == "replace",
            }
            try:
                if background:
                    record = services.customer_export_start(**options)
                    return redirect("transfer:export_detail", pk=record.pk)
                result = services.customer_export(**options)
            except services.UnencodableCharacters as exc:
                report = exc.report
                form.add_error(None, exc)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return download_response(result)
        chosen = request.POST.getlist("columns")
        file_format = request.POST.get("format", "")
    else:
        initial = _initial(request, [column.key for column in columns])
        form = ExportForm(initial=initial, columns=columns)
        chosen, file_format = initial["columns"], initial["format"]
    chosen_columns = [column for column in columns if column.key in set(chosen)]
    preview = [
        [
            "***" if column.sensitive else csv_text(value)
            for column, value in zip(chosen_columns, row.values, strict=True)
        ]
        for row in customer_rows(
            request.user, selectors.export_preview(request.user, filters), chosen_columns
        )
    ]
    return render(
        request,
        "transfer/export.html",
        {
            "form": form,
            "groups": _groups(columns, set(chosen)),
            "formats": [
                (v, label) for v, label in Export.Format.choices if v in ExportForm.FORMATS
            ],
            "file_format": file_format,
            "chosen": chosen,
            "chosen_columns": chosen_columns,
            "preview": preview,
            "count": count,
            "background": background,
            "threshold": services.background_threshold(),
            "keep_days": services.keep_days(),
            "filters_label": services.describe_filters(filters),
            "filters_query": filters_to_query(filters),
            "report": report,
        },
    )


def _export_context(request: HttpRequest, record: Export) -> dict:
    """What the export's page and its polled status show."""
    labels = {column.key: column.label for column in export_columns(request.user)}
    filters = services.filters_from_record(record.filters)
    problems = [p for p in record.problems if "row" in p]
    more = sum(p.get("more", 0) for p in record.problems)
    return {
        "export": record,
        "column_labels": [labels.get(key, key) for key in record.columns],
        "filters_label": services.describe_filters(filters),
        "filters_query": filters_to_query(filters),
        "problems": problems,
        "more_problems": more,
        "keep_days": services.keep_days(),
        "mine": record.created_by_id == request.user.pk,
        "left_out": sum(p.get("left_out", 0) for p in record.problems),
    }


@require_GET
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = selectors.export_get(request.user, pk)
    return render(request, "transfer/export_detail.html", _export_context(request, record))


@require_GET
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled part of the export's page: it stops polling once the export is finished."""
    record = selectors.export_get(request.user, pk)
    response = render(request, "transfer/_export_status.html", _export_context(request, record))
    if record.finished and request.GET.get("polling") == "1":
        # The page's heading and buttons were for an export in progress: show it afresh.
        response["HX-Refresh"] = "true"
    return response


@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    record = selectors.export_get(request.user, pk)
    try:
        result = services.export_open(actor=request.user, record=record)
    except ValidationError as exc:
        context = _export_context(request, record)
        context["download_error"] = " ".join(exc.messages)
        status = 410 if getattr(exc, "code", None) == "expired" else 409
        return render(request, "transfer/export_detail.html", context, status=status)
    return download_response(result)


@require_POST
def export_discard(request: HttpRequest, pk: int) -> HttpResponse:
    record = selectors.export_get(request.user, pk)
    cancel_only = request.POST.get("intent") == "cancel"
    finished = record.finished
    record = services.export_discard(actor=request.user, record=record, cancel_only=cancel_only)
    if cancel_only and finished:
        messages.info(request, _("The export had already finished: its file is kept."))
    return redirect("transfer:export_detail", pk=record.pk)


@require_GET
def export_list(request: HttpRequest) -> HttpResponse:
    """The history of exports: one's own; an administrator sees everyone's."""
    g = request.GET
    admin = is_admin(request.user)
    try:
        creator = int(g.get("creator", "")) if admin and g.get("creator") else None
    except ValueError:
        creator = None
    qs = selectors.export_list(
        request.user,
        mine_only=g.get("mine") == "1",
        kind=g.get("kind", ""),
        creator=creator,
    )
    qs = selectors.filter_shown_status(qs, g.get("status", ""))
    page = Paginator(qs, settings.ENISHI_PAGE_SIZE).get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    return render(
        request,
        "transfer/export_list.html",
        {
            "page": page,
            "admin": admin,
            "creators": selectors.export_creators(request.user),
            "kinds": Export.Kind.choices,
            "statuses": selectors.shown_statuses(),
            "filtered": any(g.get(name) for name in ("creator", "kind", "status", "mine")),
            "f": g,
            "querystring": query.urlencode(),
            "keep_days": services.keep_days(),
        },
    )


@admin_required
@require_http_methods(["GET", "POST"])
def full_export_page(request: HttpRequest) -> HttpResponse:
    """Administrators: every record of every table, as JSON Lines + CSV in a zip."""
    error = ""
    if request.method == "POST":
        try:
            record = services.full_export_start(actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return redirect("transfer:export_detail", pk=record.pk)
    recent = selectors.export_list(request.user, kind=Export.Kind.FULL)[:10]
    return render(
        request,
        "transfer/full_export.html",
        {
            "error": error,
            "tables": [table.name for table in full_export.tables_present()],
            "recent": recent,
            "running": selectors.full_export_running(),
            "keep_days": services.keep_days(),
            "history_url": reverse("transfer:export_list") + "?kind=full",
        },
        status=409 if error else 200,
    )
