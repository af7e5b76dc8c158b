"""Screens of the duplicates queue (名寄せ): the queue and its scan, the side-by-side
comparison, the merge with its preview, merge records with undo, and the "似たお客様がいます"
hint of the new-customer form. Each view: parse input → one selector or service → render."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enishi.accounts.models import User
from enishi.core.permissions import can_write, is_manager_or_admin, write_required
from enishi.core.records import StaleVersionError
from enishi.customers.models import Customer
from enishi.customers.selectors import capped_count
from enishi.history.models import HistoryEntry
from enishi.quality import selectors, services
from enishi.quality.forms import PICK, MergeForm
from enishi.quality.merge import (
    KEEP_EMAILS,
    KEEP_PHONES,
    MAX_MERGE,
    KarteGoneError,
    customer_merge,
    merge_plan,
)
from enishi.quality.merge_undo import (
    customer_merge_undo,
    merge_undo_notes,
    merge_undo_problems,
)
from enishi.quality.models import DuplicatePair, ScanRun

MAX_ID = 2**63 - 1


def _int_or_none(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is None or 0 < number <= MAX_ID else None


def _filters(request: HttpRequest, params: QueryDict | None = None) -> selectors.QueueFilters:
    g = request.GET if params is None else params
    owner = request.user.pk if g.get("owner") == "me" else _int_or_none(g.get("owner"))
    return selectors.QueueFilters(
        kind=g.get("kind", "") if g.get("kind") in Customer.Kind.values else "",
        band=g.get("band", "") if g.get("band") in selectors.BANDS else "",
        owner=owner,
        status=g.get("status")
        if g.get("status") in DuplicatePair.Status.values
        else DuplicatePair.Status.OPEN,
    )


def _querystring(request: HttpRequest, *drop: str) -> str:
    query = request.GET.copy()
    for name in ("page", *drop):
        query.pop(name, None)
    return query.urlencode()


# --- The queue and its scan ---------------------------------------------------------------------


@require_GET
def duplicate_queue(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    qs = selectors.duplicate_queue(request.user, filters)
    # Counting 100,000 pairs with both kartes checked takes half a second; "10,000+" will do.
    count, capped = capped_count(qs, cap=settings.ENISHI_COUNT_CAP * 10)
    paginator = Paginator(qs, settings.ENISHI_PAGE_SIZE)
    paginator.__dict__["count"] = count
    page = paginator.get_page(request.GET.get("page"))
    for pair in page.object_list:
        pair.score_now, codes, pair.rechecked = selectors.pair_reasons(pair)
        pair.labels = selectors.reason_labels(codes)
    services.pairs_keep_current(page.object_list)
    return render(
        request,
        "quality/queue.html",
        {
            "page": page,
            "count": count,
            "capped": capped,
            "filters": filters,
            "owner_value": request.GET.get("owner", ""),
            "querystring": _querystring(request),
            "kinds": Customer.Kind.choices,
            "bands": [(key, label) for key, (label, _low, _high) in selectors.BANDS.items()],
            "statuses": DuplicatePair.Status.choices,
            "owners": User.objects.filter(is_active=True).order_by("username"),
            "scan": selectors.scan_latest(),
            "can_scan": is_manager_or_admin(request.user),
        },
    )


@require_POST
def scan_start(request: HttpRequest) -> HttpResponse:
    """Admins and managers start a scan; it runs in the background with a progress bar."""
    if not is_manager_or_admin(request.user):
        raise Http404
    scan, created = services.scan_start(actor=request.user)
    if request.htmx:
        return _scan_fragment(request, scan)
    if created:
        messages.success(request, _("The duplicate scan has started."))
    else:
        messages.info(request, _("A scan is already running: its progress is shown below."))
    return redirect("quality:duplicates")


def _scan_fragment(request: HttpRequest, scan: ScanRun) -> HttpResponse:
    return render(
        request,
        "quality/_scan.html",
        {"scan": scan, "can_scan": is_manager_or_admin(request.user), "polling": True},
    )


@require_GET
def scan_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The scan's progress (the fragment the queue page polls every second while it runs), for
    those who may start scans."""
    if not is_manager_or_admin(request.user):
        raise Http404
    scan = selectors.scan_get(pk)
    if request.htmx:
        return _scan_fragment(request, scan)
    return render(
        request,
        "quality/scan.html",
        {"scan": scan, "can_scan": is_manager_or_admin(request.user), "polling": True},
    )


# --- One candidate pair ---------------------------------------------------------------------------


@require_GET
def pair_compare(request: HttpRequest, pk: int) -> HttpResponse:
    pair = selectors.pair_get(request.user, pk)
    filters = _filters(request)
    kartes = [pair.a, pair.b]
    following = selectors.pair_next(request.user, pair, filters)
    query = _querystring(request)
    result = selectors.comparison(request.user, kartes)
    score, reasons, rechecked = selectors.pair_reasons(pair)
    services.pairs_keep_current([pair])
    for row in result.rows:
        # (karte, value) per column: a phone shows each value under its karte's number.
        row.columns = list(zip(kartes, row.cells, strict=True))
    return render(
        request,
        "quality/compare.html",
        {
            "pair": pair,
            "score": score,
            "labels": selectors.reason_labels(reasons),
            "rechecked": rechecked,
            "comparison": result,
            "count_rows": [
                (label, list(zip(kartes, numbers, strict=True)))
                for label, numbers, _total in result.count_rows()
            ],
            "group": selectors.group_members(request.user, pair),
            "next_pair": following,
            "querystring": query,
            "can_edit": can_write(request.user),
        },
    )


def _back_to_queue(request: HttpRequest, pair: DuplicatePair) -> HttpResponse:
    query = request.POST.get("query", "")[:500]
    following = selectors.pair_next(request.user, pair, _filters(request, QueryDict(query)))
    if following is not None:
        return redirect(f"{following.get_absolute_url()}?{query}" if query else following)
    return redirect(f"{reverse('quality:duplicates')}?{query}" if query else "quality:duplicates")


@require_POST
@write_required
def pair_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    pair = selectors.pair_get(request.user, pk)
    try:
        services.pair_dismiss(actor=request.user, pair=pair)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(pair)
    messages.success(
        request,
        _("Marked %(a)s and %(b)s as not duplicates: no scan will propose them again.")
        % {"a": pair.a.name, "b": pair.b.name},
    )
    return _back_to_queue(request, pair)


@require_POST
@write_required
def pair_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    pair = selectors.pair_get(request.user, pk)
    try:
        services.pair_reopen(actor=request.user, pair=pair)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("The pair is back in the queue."))
    return redirect(pair)


# --- Merging ------------------------------------------------------------------------------------


def _ids(request: HttpRequest) -> list[int]:
    source = request.POST if request.method == "POST" else request.GET
    ids: list[int] = []
    for raw in source.getlist("ids")[: MAX_MERGE + 1]:
        pk = _int_or_none(raw)
        if pk is None:
            raise Http404
        if pk not in ids:
            ids.append(pk)
    return ids


@require_http_methods(["GET", "POST"])
@write_required
def merge(request: HttpRequest) -> HttpResponse:
    """Choose the surviving karte and the value of every field that differs, see the result,
    merge. Without two kartes the user may change, there is nothing to merge (404)."""
    ids = _ids(request)
    if len(ids) > MAX_MERGE:
        messages.error(
            request,
            _("At most %(max)s kartes can be merged at once; you chose %(count)s.")
            % {"max": MAX_MERGE, "count": len(ids)},
        )
        return redirect("quality:duplicates")
    if len(ids) < 2:
        raise Http404
    try:
        kartes = selectors.kartes_for_merge(request.user, ids)
    except KarteGoneError as exc:
        messages.error(request, exc.messages[0])
        return redirect("quality:duplicates")
    source = request.POST if request.method == "POST" else request.GET
    survivor_id = _int_or_none(source.get("survivor"))
    survivor = next((c for c in kartes if c.pk == survivor_id), kartes[0])
    others = [c for c in kartes if c.pk != survivor.pk]
    ordered = [survivor, *others]
    pair_id = _int_or_none(source.get("pair"))
    plain = selectors.comparison(request.user, ordered)
    posted = request.method == "POST"
    form = MergeForm(
        request.POST if posted else None,
        kartes=ordered,
        rows=plain.rows,
        initial={
            "keep_phones": True,
            "keep_emails": True,
            **{f"version_{c.pk}": c.version for c in ordered},
        },
    )
    choices = {KEEP_PHONES: True, KEEP_EMAILS: True}
    errors: list[str] = []
    status = 200
    if posted and form.is_valid():
        choices = form.choices()
    elif posted:
        errors.append(_("The form was changed meanwhile: check the choices and try again."))
        status = 400
    if posted and not errors and request.POST.get("confirm") == "1":
        try:
            done = customer_merge(
                actor=request.user,
                survivor=survivor,
                others=others,
                choices=choices,
                versions=form.versions(),
                via=HistoryEntry.Via.UI,
            )
        except PermissionDenied:
            raise Http404 from None
        except KarteGoneError as exc:
            messages.error(request, exc.messages[0])
            return redirect("quality:duplicates")
        except StaleVersionError as exc:
            errors.append(
                _(
                    "%(name)s was changed by someone else after you opened this page: nothing "
                    "was merged. The page now shows the current values; check and merge again."
                )
                % {"name": exc.current.name}
            )
            status = 409
            return _merge_page(request, ids, survivor, pair_id, errors, status)
        except ValidationError as exc:
            errors.extend(exc.messages)
            status = 400
        else:
            messages.success(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    _("Merged %(others)s into %(name)s.")
                    % {"others": done.merged_names, "name": done.survivor_name},
                    done.get_absolute_url(),
                    _("Details and undo"),
                ),
            )
            return redirect(done.survivor)
    return _render_merge(
        request,
        kartes=ordered,
        form=form,
        choices=choices,
        pair_id=pair_id,
        errors=errors,
        status=status,
    )


def _merge_page(request, ids, survivor, pair_id, errors, status) -> HttpResponse:
    """The merge page afresh from the database (after a stale version): new versions, the
    user's choices kept where they still apply."""
    kartes = selectors.kartes_for_merge(request.user, ids)
    fresh = next(c for c in kartes if c.pk == survivor.pk)
    ordered = [fresh, *(c for c in kartes if c.pk != fresh.pk)]
    plain = selectors.comparison(request.user, ordered)
    data = request.POST.copy()
    for c in ordered:
        data[f"version_{c.pk}"] = str(c.version)
    form = MergeForm(data, kartes=ordered, rows=plain.rows)
    choices = form.choices() if form.is_valid() else {KEEP_PHONES: True, KEEP_EMAILS: True}
    return _render_merge(
        request,
        kartes=ordered,
        form=form,
        choices=choices,
        pair_id=pair_id,
        errors=errors,
        status=status,
    )


def _render_merge(request, *, kartes, form, choices, pair_id, errors, status) -> HttpResponse:
    survivor, others = kartes[0], kartes[1:]
    plan = None
    for attempt in (choices, {KEEP_PHONES: True, KEEP_EMAILS: True}):
        try:
            plan = merge_plan(actor=request.user, survivor=survivor, others=others, choices=attempt)
            break
        except ValidationError as exc:
            # Bad choices: show the defaults; kartes that cannot be merged at all: no result.
            errors = [*errors, *(m for m in exc.messages if m not in errors)]
            status = 400
    result = selectors.comparison(request.user, kartes, plan=plan)
    if not form.is_bound:
        for row in result.rows:
            if row.picked is not None:
                form.initial[PICK + row.key] = str(row.picked)
    for row in result.rows:
        radios = form.radios(row)
        # (karte, value, radio) per column: a phone shows each value under its karte's number.
        row.columns = list(zip(kartes, row.cells, radios or [None] * len(row.cells), strict=False))
        row.both = radios[len(row.cells)] if len(radios) > len(row.cells) else None
    count_rows = [
        (label, list(zip(kartes, numbers, strict=False)), total)
        for label, numbers, total in result.count_rows()
    ]
    moved = {
        label: sum(result.counts[c.pk].get(label, 0) for c in others)
        for label in result.count_labels
    }
    context = {
        "kartes": kartes,
        "survivor": survivor,
        "others": others,
        "form": form,
        "comparison": result,
        "count_rows": count_rows,
        "plan": plan,
        "moved": {k: v for k, v in moved.items() if v},
        "errors": errors,
        "pair_id": pair_id,
        "ids": [c.pk for c in kartes],
        "original_ids": _ids(request),
    }
    if request.htmx and request.POST.get("confirm") != "1":
        # The live preview: htmx swaps only 2xx answers, and the errors are in the fragment.
        return render(request, "quality/_merge_table.html", context)
    return render(request, "quality/merge.html", context, status=status)


# --- Merge records and undo ------------------------------------------------------------------------


@require_GET
def merge_list(request: HttpRequest) -> HttpResponse:
    qs = selectors.merges_visible(request.user).order_by("-created_at", "-id")
    page = Paginator(qs, settings.ENISHI_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "quality/merge_list.html", {"page": page, "querystring": ""})


@require_GET
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    done = selectors.merge_get(request.user, pk)
    members = selectors.merged_members(done)
    for member in members:
        member.history = selectors.merged_karte_history(member)
    return render(
        request,
        "quality/merge_detail.html",
        {
            "merge": done,
            "members": members,
            "fields": selectors.merge_field_rows(request.user, done),
            "moved": selectors.merge_moved_rows(done),
            "history": selectors.merge_history(done),
            "problems": merge_undo_problems(done) if not done.is_undone else [],
            "undo_notes": merge_undo_notes(done),
            "can_edit": can_write(request.user),
        },
    )


@require_POST
@write_required
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    done = selectors.merge_get(request.user, pk)
    try:
        customer_merge_undo(actor=request.user, merge=done, via=HistoryEntry.Via.UI)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(done)
    messages.success(
        request,
        ngettext(
            "Merge undone: %(names)s is back as it was.",
            "Merge undone: %(names)s are back as they were.",
            done.members.count(),
        )
        % {"names": done.merged_names},
    )
    return redirect(done)


# --- "似たお客様がいます" ----------------------------------------------------------------------------


@require_POST
@write_required
def similar_hint(request: HttpRequest) -> HttpResponse:
    """Kartes like the one being typed (an htmx fragment of the new-customer form); empty
    when nothing is similar. Only kartes the user may see."""
    rows = selectors.similar_to_typed(request.user, request.POST)
    return render(request, "quality/_similar.html", {"similar": rows})
