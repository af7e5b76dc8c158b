"""vCard and PDF downloads of a karte, its QR code, the list's selection, and vCard import.

Each view: parse input → one selector or service → render or send the file. Kartes come from
`customers.selectors` (unseen → 404); importing needs the right to write.
"""

from __future__ import annotations

import base64
import json
import zlib

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from enishi.core.permissions import write_required
from enishi.customers.selectors import CustomerFilters, customer_get
from enishi.transfer import card_selectors as selectors
from enishi.transfer import card_services as services
from enishi.transfer.card_forms import CardSelectionForm, VCardUploadForm
from enishi.transfer.forms import filters_from_query, filters_to_query
from enishi.transfer.services import describe_filters, keep_days, print_export_start
from enishi.transfer.vcard import VERSIONS
from enishi.transfer.vcard_map import customer_vcard, display_name

SESSION_KEY = "cards.import"
KEEP_PREVIEWS = 3  # imports a user may have open in several tabs
QR_SCALE = 4


def file_response(result: services.CardFile) -> HttpResponse:
    """The file as an attachment; a Japanese file name goes as RFC 5987 `filename*`."""
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=result.filename
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def card_vcard(request: HttpRequest, pk: int) -> HttpResponse:
    """The karte as a .vcf (?version=4.0; for a company ?contacts=1: its contact persons)."""
    customer = customer_get(request.user, pk)
    version = request.GET.get("version", "3.0")
    people = selectors.card_people(
        request.user, customer, contacts=request.GET.get("contacts") == "1"
    )
    if not people:
        messages.error(request, _("This company has no contact persons you can see."))
        return redirect(customer)
    result = services.card_vcard_export(
        actor=request.user, customers=people, version=version if version in VERSIONS else "3.0"
    )
    return file_response(result)


@require_GET
def card_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customer_get(request.user, pk)
    result = services.card_pdf_export(
        actor=request.user, customers=[customer], base_url=request.build_absolute_uri("/")
    )
    return file_response(result)


def _qr_svg(payload: str) -> str | None:
    try:
        # Level L, raised by segno when it costs no size: a code on a screen is not smudged,
        # and a smaller code scans faster from further away.
        code = segno.make(payload, encoding="utf-8", error="l", micro=False)
    except segno.DataOverflowError:
        return None
    # Inline SVG: no image request, no script, so the Content-Security-Policy stays strict.
    return mark_safe(code.svg_inline(scale=QR_SCALE, dark="#000", light="#fff"))  # noqa: S308 - segno's markup


@require_GET
def card_qr(request: HttpRequest, pk: int) -> HttpResponse:
    """A QR code of the karte's vCard (3.0, the compact subset) for a phone's camera."""
    customer = customer_get(request.user, pk)
    company = selectors.card_companies(request.user, [customer]).get(customer.company_id)
    payload = customer_vcard(customer, version="3.0", company=company, compact=True)
    return render(
        request,
        "transfer/cards/qr.html",
        {
            "customer": customer,
            "name": display_name(customer),
            "qr_svg": _qr_svg(payload),
            "payload_bytes": len(payload.encode("utf-8")),
        },
    )


@require_http_methods(["GET", "POST"])
def card_selection(request: HttpRequest) -> HttpResponse:
    """The customer list's current kartes as one PDF or one .vcf: a page that says how many,
    and refuses (with the reason) a selection above the limit. A small print is sent at once;
    a bigger one is prepared in the background and the person is taken to its progress.
    Either way it is one export in the export history."""
    filters = filters_from_query(request.GET)
    form = CardSelectionForm(request.POST or None)
    at_once = services.print_at_once_limit()
    print_limit = services.print_background_limit()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            file_format = form.cleaned_data["format"]
            is_pdf = file_format == "pdf"
            try:
                if is_pdf:
                    response = _print_selection(request, filters, at_once, print_limit)
                else:
                    selection = services.card_selection(
                        request.user, filters, limit=services.VCARD_SELECTION_LIMIT
                    )
                    services.card_selection_check(selection, what=_("exported"))
                    response = file_response(
                        services.card_vcard_export(
                            actor=request.user,
                            customers=selection.customers,
                            version="4.0" if file_format == "vcard4" else "3.0",
                            filters=filters,
                        )
                    )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return response
        status = 400
    count = selectors.card_selection_count(
        request.user, filters, cap=services.VCARD_SELECTION_LIMIT
    )
    return render(
        request,
        "transfer/cards/selection.html",
        {
            "form": form,
            "count": min(count, services.VCARD_SELECTION_LIMIT),
            "more": count > services.VCARD_SELECTION_LIMIT,
            "print_limit": print_limit,
            "print_at_once": at_once,
            "vcard_limit": services.VCARD_SELECTION_LIMIT,
            "can_print": 0 < count <= print_limit,
            "print_background": count > at_once,
            "can_vcard": 0 < count <= services.VCARD_SELECTION_LIMIT,
            "keep_days": keep_days(),
            "filters_label": describe_filters(filters),
            "filters_query": filters_to_query(filters),
        },
        status=status,
    )


def _print_selection(
    request: HttpRequest, filters: CustomerFilters, at_once: int, limit: int
) -> HttpResponse:
    """Up to `at_once` kartes: the PDF now. More, up to `limit`: a background export, and the
    person goes to its progress page (the one big exports use)."""
    ids = selectors.card_selection_ids(request.user, filters, limit=limit)
    if len(ids) <= at_once:
        selection = services.card_selection(request.user, filters, limit=at_once)
        services.card_selection_check(selection, what=_("printed"))
        return file_response(
            services.card_pdf_export(
                actor=request.user,
                customers=selection.customers,
                base_url=request.build_absolute_uri("/"),
                filters=filters,
            )
        )
    # More than `limit` (ids holds one more to tell) is refused there, with the same message.
    record = print_export_start(
        actor=request.user,
        filters=filters,
        customer_ids=ids,
        base_url=request.build_absolute_uri("/"),
    )
    return redirect("transfer:export_detail", pk=record.pk)


# --- Import --------------------------------------------------------------------------------


def _store(request: HttpRequest, preview: services.ImportPreview) -> None:
    """Keep the preview in the session, compressed: 1,000 cards are ~1.5 MB of JSON, ~100 KB
    after zlib, and the session is read on every request until the import is done."""
    packed = base64.b64encode(
        zlib.compress(json.dumps(preview.as_dict(), ensure_ascii=False).encode("utf-8"))
    ).decode("ascii")
    previews = request.session.get(SESSION_KEY, {})
    kept = list(previews.items())[-(KEEP_PREVIEWS - 1) :]
    request.session[SESSION_KEY] = {**dict(kept), preview.batch: packed}


def _load(request: HttpRequest, batch: str) -> services.ImportPreview:
    packed = request.session.get(SESSION_KEY, {}).get(batch)
    if packed is None:
        raise Http404
    return services.ImportPreview.from_dict(
        json.loads(zlib.decompress(base64.b64decode(packed)).decode("utf-8"))
    )


def _forget(request: HttpRequest, batch: str) -> None:
    previews = dict(request.session.get(SESSION_KEY, {}))
    previews.pop(batch, None)
    request.session[SESSION_KEY] = previews


@write_required
@require_http_methods(["GET", "POST"])
def card_import(request: HttpRequest) -> HttpResponse:
    """Upload a .vcf: every card is read and checked, nothing is saved yet."""
    form = VCardUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            preview = services.card_import_read(
                actor=request.user,
                data=upload.read(services.IMPORT_MAX_BYTES + 1),
                file_name=upload.name or "",
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            _store(request, preview)
            return redirect("cards:import_preview", batch=preview.batch)
    return render(
        request,
        "transfer/cards/import.html",
        {
            "form": form,
            "max_mb": services.IMPORT_MAX_BYTES // (1024 * 1024),
            "max_cards": services.IMPORT_MAX_CARDS,
        },
        status=400 if form.errors else 200,
    )


@write_required
@require_http_methods(["GET", "POST"])
def card_import_preview(request: HttpRequest, batch: str) -> HttpResponse:
    """Each card with what it would become, its problems and possible duplicates; the user
    chooses create or skip per card, then the chosen ones are created together."""
    try:
        preview = _load(request, batch)
    except Http404:
        return _preview_gone(request, batch)
    errors: list[str] = []
    card_errors: dict[int, list[str]] = {}
    choose = request.GET.get("choose", "")
    if request.method == "POST":
        create = [
            c.number for c in preview.cards if request.POST.get(f"card-{c.number}") == "create"
        ]
        try:
            created = services.card_import_commit(
                actor=request.user, preview=preview, create=create
            )
        except services.CardImportFailed as exc:
            errors, card_errors = exc.messages, exc.card_errors
        except ValidationError as exc:
            if exc.code == "done":
                # Sent twice at once (a double click): the other request made the import.
                _forget(request, batch)
                return _preview_gone(request, batch)
            errors = exc.messages
        else:
            _forget(request, batch)
            messages.success(
                request,
                ngettext(
                    "Created %(count)s karte from the vCard file.",
                    "Created %(count)s kartes from the vCard file.",
                    len(created),
                )
                % {"count": len(created)},
            )
            return redirect("cards:import_done", batch=batch)
    decisions = {}
    for card in preview.cards:
        if not card.can_create:
            decisions[card.number] = "skip"
        elif request.method == "POST":
            decisions[card.number] = request.POST.get(f"card-{card.number}", "skip")
        elif choose in ("create", "skip"):
            decisions[card.number] = choose
        else:
            decisions[card.number] = card.suggested
    rows = [
        (card, decisions[card.number], card_errors.get(card.number, [])) for card in preview.cards
    ]
    return render(
        request,
        "transfer/cards/import_preview.html",
        {
            "preview": preview,
            "rows": rows,
            "errors": errors,
            "with_problems": sum(1 for c in preview.cards if not c.can_create),
            "with_similar": sum(
                1 for c in preview.cards if c.can_create and (c.similar or c.alike)
            ),
        },
        status=400 if errors else 200,
    )


def _preview_gone(request: HttpRequest, batch: str) -> HttpResponse:
    """A preview no longer kept: sent twice (a double click, the back button) or too old.
    An import already made from it shows what it created; otherwise the person starts again."""
    if selectors.card_import_mine(request.user, f"vcard:{batch}"):
        messages.info(
            request,
            _("This vCard file has already been imported: nothing more was created."),
        )
        return redirect("cards:import_done", batch=batch)
    return render(request, "transfer/cards/import_gone.html", status=404)


@require_GET
def card_import_done(request: HttpRequest, batch: str) -> HttpResponse:
    """What one vCard import of this user created (from the history)."""
    full = f"vcard:{batch}"
    if not request.user.is_authenticated or not selectors.card_import_mine(request.user, full):
        raise Http404
    return render(
        request,
        "transfer/cards/import_done.html",
        {"created": selectors.card_import_created(request.user, full)},
    )
