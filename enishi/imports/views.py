"""The import wizard: upload → columns → (checking) → preview and decisions → (writing) → result.

Each view: parse input → one selector or service → render. Only people who may change data
import; an import is seen by the one who started it (and by administrators).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enishi.core.later import translated
from enishi.core.permissions import write_required
from enishi.customers.selectors import customer_visible
from enishi.imports import analysis, companies, conf, decisions, files, selectors, services
from enishi.imports.forms import (
    LayoutForm,
    MappingForm,
    RulesForm,
    SizeLimitUploadHandler,
    UploadForm,
)
from enishi.imports.models import ImportRow, ImportRun, ImportTemplate
from enishi.imports.rejected import (
    rejected_content_type,
    rejected_file_name,
    rejected_rows,
    write_rejected,
)
from enishi.imports.undo import kept_for_reader, report_of
from enishi.imports.writing import column_labels

Status = ImportRun.Status
PAGE_SIZE = 50
BUSY = (Status.ANALYSING, Status.RUNNING, Status.UNDOING)
# Records an undo would keep, listed on its confirmation (the result lists them all after).
UNDO_KEPT_SHOWN = 20


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _page_number(request: HttpRequest) -> str:
    return request.GET.get("page") or "1"


# --- start: upload ---------------------------------------------------------------------------------


@csrf_exempt
@write_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # Before anything reads the body: an upload over the limit is stopped, not stored.
        request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
    return _start(request)


@csrf_protect
def _start(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        too_big = getattr(request, "import_too_big", None)
        if too_big:
            form.is_valid()
            form.errors.clear()
            form.add_error(None, services.file_too_big_message(too_big, conf.max_bytes()))
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = services.import_upload(
                    actor=request.user,
                    file=upload,
                    file_name=upload.name,
                    target=form.cleaned_data["target"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                return redirect("imports:mapping", pk=run.pk)
    else:
        form = UploadForm(initial={"target": request.GET.get("target") or "customers"})
    runs = list(selectors.import_runs(request.user).order_by("-created_at", "-id")[:20])
    for r in runs:
        r.interrupted = services.is_interrupted(r)
    return render(
        request,
        "imports/start.html",
        {
            "form": form,
            "runs": runs,
            "templates": selectors.import_templates(request.user),
            "limit": conf.max_mb_text(),
            "max_rows": conf.max_rows(),
        },
        status=400 if request.method == "POST" else 200,
    )


@write_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Wherever this import is now."""
    run = selectors.import_run_get_for_edit(request.user, pk)
    return redirect(_step_url(run))


def _step_url(run: ImportRun) -> str:
    if run.status in BUSY and not services.is_interrupted(run):
        return reverse("imports:progress", args=[run.pk])
    if run.status == Status.MAPPING:
        return reverse("imports:mapping", args=[run.pk])
    if run.status == Status.PREVIEW:
        return reverse("imports:preview", args=[run.pk])
    return reverse("imports:result", args=[run.pk])


# --- columns -------------------------------------------------------------------------------------


def _target_choices(run: ImportRun, user) -> list:
    groups: dict[str, list[tuple[str, str]]] = {}
    for target in services.available_targets(run, user):
        groups.setdefault(str(target.group), []).append((target.key, str(target.label)))
    return [("", _("— do not import —")), *groups.items()]


@write_required
@require_http_methods(["GET", "POST"])
def mapping(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.import_run_get_for_edit(request.user, pk)
    if run.status not in (Status.MAPPING, Status.PREVIEW):
        return redirect(_step_url(run))
    choices = _target_choices(run, request.user)
    layout_form = LayoutForm(
        initial={
            "encoding": run.encoding,
            "delimiter": run.delimiter,
            "sheet": run.sheet,
            "header_row": run.header_row,
        }
    )
    initial = {f"col_{i}": key for i, key in enumerate(run.mapping)}
    initial["default_kind"] = (run.options or {}).get("default_kind", "auto")
    form = MappingForm(initial=initial, columns=len(run.headers), choices=choices)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "check")
        try:
            if action == "layout":
                layout_form = LayoutForm(request.POST)
                if layout_form.is_valid():
                    data = layout_form.cleaned_data
                    services.import_set_layout(
                        actor=request.user,
                        run=run,
                        encoding=data["encoding"] or None,
                        delimiter=data["delimiter"] or None,
                        sheet=data["sheet"] or None,
                        header_row=data["header_row"],
                    )
                    return redirect("imports:mapping", pk=run.pk)
                status = 400
            elif action == "template":
                template = (
                    selectors.import_templates(request.user, run.target)
                    .filter(pk=_int(request.POST.get("template")))
                    .first()
                )
                if template is None:
                    raise ValidationError(_("Choose one of the saved templates."))
                services.import_apply_template(actor=request.user, run=run, template=template)
                messages.success(
                    request, _("The columns were set from “%(name)s”.") % {"name": template.name}
                )
                return redirect("imports:mapping", pk=run.pk)
            else:
                form = MappingForm(request.POST, columns=len(run.headers), choices=choices)
                if form.is_valid():
                    services.import_set_mapping(
                        actor=request.user,
                        run=run,
                        mapping=form.mapping(),
                        default_kind=form.cleaned_data["default_kind"],
                        template_name=form.cleaned_data["template_name"],
                    )
                    services.import_check(actor=request.user, run=run)
                    return redirect(_step_url(run))
                status = 400
        except ValidationError as exc:
            _add_errors(layout_form if action == "layout" else form, exc)
            status = 400
    run.refresh_from_db()
    columns = []
    for index, header in enumerate(run.headers):
        columns.append(
            {
                "index": index,
                "letter": files.column_letter(index),
                "header": header,
                "field": form[f"col_{index}"],
                "samples": [row[index] for row in run.sample if index < len(row) and row[index]],
            }
        )
    return render(
        request,
        "imports/mapping.html",
        {
            "run": run,
            "form": form,
            "layout_form": layout_form,
            "columns": columns,
            "templates": selectors.import_templates(request.user, run.target),
            "encodings": files.ENCODINGS,
            "delimiters": files.DELIMITERS,
            "encoding_label": files.encoding_label(run.encoding),
            "delimiter_label": files.delimiter_label(run.delimiter),
            "detected_label": files.encoding_label(run.detected_encoding),
        },
        status=status,
    )


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


# --- progress ------------------------------------------------------------------------------------


@write_required
@require_GET
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.import_run_get_for_edit(request.user, pk)
    if run.status not in BUSY or services.is_interrupted(run):
        return redirect(_step_url(run))
    return render(request, "imports/progress.html", {"run": run})


@write_required
@require_GET
def status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled every second; when the step is over, the page moves on."""
    run = selectors.import_run_get_for_edit(request.user, pk)
    finished = run.status not in BUSY or services.is_interrupted(run)
    response = render(request, "imports/_progress.html", {"run": run, "finished": finished})
    if finished:
        response["HX-Redirect"] = _step_url(run)
    return response


# --- preview -------------------------------------------------------------------------------------


def _row_views(run: ImportRun, rows: list[ImportRow], user) -> list[dict[str, Any]]:
    labels = column_labels(run)
    rules = decisions.rules_of(run)
    mapped = [(i, key) for i, key in enumerate(run.mapping) if key]
    karte_ids = {r.match_id for r in rows if r.match_id} | {
        r.result_id for r in rows if r.result_id and run.target == "customers"
    }
    # What each person row's company will be (before the run: after it, the karte says).
    links = {
        r.number: companies.link_of(r.company)
        for r in rows
        if run.target == "customers" and run.status == Status.PREVIEW and r.company
    }
    for link in links.values():
        if link.get("id"):
            karte_ids.add(link["id"])
        karte_ids.update(option["id"] for option in link.get("choices", ()))
    visible = dict(customer_visible(user).filter(pk__in=karte_ids).values_list("pk", "name"))
    for link in links.values():
        if link.get("id") in visible:
            link["visible"] = True
            link["name"] = visible[link["id"]]  # as the karte is called now
        for option in link.get("choices", ()):
            option["visible"] = option["id"] in visible
    # The row a repeat repeats, by its line in the file as the first column shows it.
    repeated = {r.duplicate_of for r in rows if r.duplicate_of}
    lines = (
        dict(run.rows.filter(number__in=repeated).values_list("number", "line")) if repeated else {}
    )
    action_labels = dict(ImportRow.Action.choices)
    if run.target == "activities":
        action_labels.update({ImportRow.Action.CREATE: _("Import")})
    views = []
    for row in rows:
        action = decisions.effective_action(row.category, row.decision, rules)
        choices = decisions.row_choices(run.target, row.category)
        views.append(
            {
                "row": row,
                "values": [
                    (run.headers[i], row.values[i] if i < len(row.values) else "")
                    for i, _k in mapped
                ],
                "action": action,
                "action_label": action_labels.get(action, action),
                "choices": [(c, action_labels[c]) for c in choices],
                "match_name": visible.get(row.match_id),
                "result_name": visible.get(row.result_id) if run.target == "customers" else None,
                "reasons": analysis.reasons_text(row.match_reasons),
                "problems": [(labels.get(k, ""), translated(m)) for k, m in row.problems],
                "notes": [(labels.get(k, ""), translated(m)) for k, m in row.notes],
                "company": row.company,
                "company_link": links.get(row.number),
                "repeats_line": lines.get(row.duplicate_of),
            }
        )
    return views


@write_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.import_run_get_for_edit(request.user, pk)
    if run.status != Status.PREVIEW:
        return redirect(_step_url(run))
    rules_form = RulesForm(initial=decisions.rules_of(run), target=run.target)
    row_filter = request.GET.get("show", "all")
    if row_filter not in selectors.ROW_FILTERS:
        row_filter = "all"
    status = 200
    if request.method == "POST":
        rules_form = RulesForm(request.POST, target=run.target)
        if rules_form.is_valid():
            try:
                services.import_set_rules(
                    actor=request.user, run=run, rules=rules_form.cleaned_data
                )
            except ValidationError as exc:
                _add_errors(rules_form, exc)
            else:
                return redirect(f"{reverse('imports:preview', args=[run.pk])}?show={row_filter}")
        status = 400
    counts = decisions.action_counts(run)
    orders = decisions.order_counts(run) if run.target == "orders" else {}
    summary = dict(run.summary)
    if summary.get("new_companies"):
        summary["new_companies"] = decisions.new_company_count(run)
    writing = counts[ImportRow.Action.CREATE] + counts[ImportRow.Action.UPDATE]
    to_choose = decisions.companies_to_choose(run) if summary.get("company_choices") else 0
    if request.htmx and request.GET.get("part") == "counts":
        # The counts, and the line above the start button that says how many rows go in.
        context = {
            "run": run,
            "counts": counts,
            "orders": orders,
            "summary": summary,
            "writing": writing,
            "to_choose": to_choose,
            "oob": True,
        }
        return HttpResponse(
            render_to_string("imports/_counts.html", context, request)
            + render_to_string("imports/_go.html", context, request)
        )
    page = Paginator(selectors.import_rows(run, row_filter), PAGE_SIZE).get_page(
        _page_number(request)
    )
    return render(
        request,
        "imports/preview.html",
        {
            "run": run,
            "rules_form": rules_form,
            "page": page,
            "rows": _row_views(run, list(page.object_list), request.user),
            "counts": counts,
            "orders": orders,
            "summary": summary,
            "show": row_filter,
            "filters": _filters(run),
            "querystring": f"show={row_filter}",
            "mapped_headers": [run.headers[i] for i, key in enumerate(run.mapping) if key],
            "writing": writing,
            "to_choose": to_choose,
        },
        status=status,
    )


def _filters(run: ImportRun) -> list[tuple[str, str]]:
    names = [
        ("all", _("All rows")),
        ("problems", _("With problems")),
        ("create", _("To create") if run.target == "customers" else _("To import")),
        ("update", _("To update")),
        ("duplicates", _("Duplicates")),
        ("skip", _("Skipped")),
        ("notes", _("With notes")),
    ]
    if run.target != "customers":
        names = [n for n in names if n[0] != "update"]
    if (run.summary or {}).get("company_choices"):
        names.append(("companies", _("Company to choose")))
    return names


@write_required
@require_POST
def decide(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    run = selectors.import_run_get_for_edit(request.user, pk)
    selectors.import_row_get(run, number)
    if "company" in request.POST:
        return _choose_company(request, run, number)
    try:
        row = services.import_decide_row(
            actor=request.user, run=run, number=number, decision=request.POST.get("decision", "")
        )
    except ValidationError as exc:
        if request.htmx:
            return HttpResponse(" ".join(exc.messages), status=422)
        messages.error(request, " ".join(exc.messages))
        return redirect("imports:preview", pk=run.pk)
    if request.htmx:
        response = render(
            request,
            "imports/_row.html",
            {"run": run, "r": _row_views(run, [row], request.user)[0], "editable": True},
        )
        # The other lines of an order were decided with it: they change on the page too
        # (out-of-band swaps; <template> keeps the parser from dropping bare table rows).
        others = selectors.import_order_rows(run, row)
        for view in _row_views(run, others, request.user):
            context = {"run": run, "r": view, "editable": True, "oob": True}
            response.content += (
                b"<template>"
                + render_to_string("imports/_row.html", context, request=request).encode()
                + b"</template>"
            )
        response["HX-Trigger"] = "import-decided"
        return response
    return redirect(
        f"{reverse('imports:preview', args=[run.pk])}?show={request.POST.get('show', 'all')}"
    )


# The rows a company choice changed are swapped on the page up to this many; beyond, it reloads.
CHOSEN_ROWS_SWAPPED = 200


def _choose_company(request: HttpRequest, run: ImportRun, number: int) -> HttpResponse:
    """Which company karte a row naming one of several companies of that name is linked to
    (with every row of the file naming it the same way)."""
    try:
        row, others = services.import_choose_company(
            actor=request.user, run=run, number=number, company=request.POST.get("company", "")
        )
    except ValidationError as exc:
        if request.htmx:
            return HttpResponse(" ".join(exc.messages), status=422)
        messages.error(request, " ".join(exc.messages))
        return redirect("imports:preview", pk=run.pk)
    if not request.htmx:
        return redirect(
            f"{reverse('imports:preview', args=[run.pk])}?show={request.POST.get('show', 'all')}"
        )
    if len(others) > CHOSEN_ROWS_SWAPPED:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    show = request.POST.get("show", "all")
    response = render(
        request,
        "imports/_row.html",
        {"run": run, "r": _row_views(run, [row], request.user)[0], "editable": True, "show": show},
    )
    other_rows = list(run.rows.filter(number__in=others).order_by("number"))
    for view in _row_views(run, other_rows, request.user):
        context = {"run": run, "r": view, "editable": True, "oob": True, "show": show}
        response.content += (
            b"<template>"
            + render_to_string("imports/_row.html", context, request=request).encode()
            + b"</template>"
        )
    response["HX-Trigger"] = "import-decided"
    return response


# --- run, resume, undo ----------------------------------------------------------------------------


def _act(request: HttpRequest, pk: int, service) -> HttpResponse:
    run = selectors.import_run_get_for_edit(request.user, pk)
    try:
        service(actor=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    run.refresh_from_db()
    return redirect(_step_url(run))


@write_required
@require_POST
def execute(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.import_start)


@write_required
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.import_resume)


@write_required
@require_http_methods(["GET", "POST"])
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undoing asks first: what will be deleted, put back and kept (a page, or a dialog for
    htmx). Only a POST that confirms (confirm=1, the dialog's own button) starts it."""
    if request.method == "POST" and request.POST.get("confirm") == "1":
        return _act(request, pk, services.import_undo_start)
    run = selectors.import_run_get_for_edit(request.user, pk)
    try:
        plan = services.import_undo_plan(actor=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = _step_url(run)
            return response
        return redirect(_step_url(run))
    # The undo goes from the last row up; people read the file from the top.
    kept = kept_for_reader(plan.kept)
    context = {"run": run, "plan": plan, "kept": kept[:UNDO_KEPT_SHOWN]}
    if request.htmx:
        return render(request, "imports/_undo_dialog.html", context)
    return render(request, "imports/undo.html", context)


@write_required
@require_POST
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.import_run_get_for_edit(request.user, pk)
    try:
        services.import_discard(actor=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_step_url(run))
    messages.success(request, _("The import was discarded."))
    return redirect("imports:start")


# --- result --------------------------------------------------------------------------------------

RESULT_FILTERS = ("created", "updated", "unchanged", "skipped", "rejected", "undone", "kept")
# The tab a result page opens on: what needs attention first, then what was written.
RESULT_TAB_ORDER = ("rejected", "kept", "created", "updated", "undone", "unchanged", "skipped")


@write_required
@require_GET
def result(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.import_run_get_for_edit(request.user, pk)
    if run.status in (Status.MAPPING, Status.PREVIEW) or (
        run.status in BUSY and not services.is_interrupted(run)
    ):
        return redirect(_step_url(run))
    # The rows as they are now (an undo turns created rows into undone or kept ones).
    by_result = dict(
        run.rows.exclude(result="").values_list("result").annotate(n=Count("id")).order_by()
    )
    show = request.GET.get("show", "")
    if show not in RESULT_FILTERS:
        show = next((key for key in RESULT_TAB_ORDER if by_result.get(key)), "created")
    rows = run.rows.filter(result=show).order_by("number")
    page = Paginator(rows, PAGE_SIZE).get_page(_page_number(request))
    interrupted = services.is_interrupted(run)
    return render(
        request,
        "imports/result.html",
        {
            "run": run,
            "interrupted": interrupted,
            "can_undo": services.can_undo(run),
            # An interrupted step wrote its totals never: count what the rows say.
            "counts": {**run.counts, **by_result} if interrupted else run.counts,
            "report": report_of(run),
            "kept_label": ImportRow.Result.KEPT.label,
            "page": page,
            "rows": _row_views(run, list(page.object_list), request.user),
            "show": show,
            "querystring": f"show={show}",
            "result_filters": [
                (key, label, by_result.get(key, 0))
                for key, label in ImportRow.Result.choices
                if by_result.get(key, 0) or key == show
            ],
            "mapped_headers": [run.headers[i] for i, key in enumerate(run.mapping) if key],
            "has_rejected": rejected_rows(run).exists(),
        },
    )


@write_required
@require_GET
def rejected(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows, in the file's own format and encoding, with the reason per row."""
    run = selectors.import_run_get_for_edit(request.user, pk)
    if run.status == Status.MAPPING or not rejected_rows(run).exists():
        raise Http404
    response = FileResponse(
        write_rejected(run),
        as_attachment=True,
        filename=rejected_file_name(run),
        content_type=rejected_content_type(run),
    )
    response["Cache-Control"] = "no-store"
    return response


@write_required
@require_POST
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template: ImportTemplate = selectors.import_template_get_for_delete(request.user, pk)
    services.template_delete(actor=request.user, template=template)
    messages.success(request, _("The template “%(name)s” was deleted.") % {"name": template.name})
    return redirect("imports:start")
