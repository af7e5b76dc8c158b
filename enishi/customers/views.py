"""Karte pages. Each view: parse input → one selector or service → render."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enishi.accounts.models import User
from enishi.activities.forms import ActivityForm
from enishi.activities.selectors import tasks_open_for_customer
from enishi.core.permissions import (
    admin_required,
    can_purge,
    can_restore,
    can_write,
    is_manager_or_admin,
    write_required,
)
from enishi.core.timeline import cursor_from
from enishi.customers import fields as custom_fields
from enishi.customers import selectors, services
from enishi.customers.forms import CustomerForm, FieldDefinitionForm
from enishi.customers.handover import customers_hand_over, handover_plan, handover_sources
from enishi.customers.karte import (
    TIMELINE_KINDS,
    about_choices,
    karte_sections,
    karte_timeline,
)
from enishi.customers.models import Customer, FieldDefinition, Tag
from enishi.history import services as history_services
from enishi.history.conflicts import EditConflict
from enishi.history.selectors import history_for_customer, karte_links
from enishi.quality import normalize
from enishi.quality.prefectures import PREFECTURES
from enishi.quality.selectors import HINT_TRIGGER_FIELDS, similar_to_typed


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    filters = selectors.CustomerFilters(
        kind=g.get("kind", "") if g.get("kind") in Customer.Kind.values else "",
        status=g.get("status", "") if g.get("status") in Customer.Status.values else "",
        rank=g.get("rank", "") if g.get("rank") in Customer.Rank.values else "",
        owner=_int_or_none(g.get("owner")),
        tag=_int_or_none(g.get("tag")),
        prefecture=g.get("prefecture", "") if g.get("prefecture") in PREFECTURES else "",
        channel=g.get("channel", "") if g.get("channel") in Customer.Channel.values else "",
        q=g.get("q", "")[:100],
        sort=g.get("sort", "updated") if g.get("sort") in selectors.SORTS else "updated",
    )
    qs = selectors.customer_list(request.user, filters).select_related("owner", "company")
    count, capped = selectors.capped_count(qs, cap=settings.ENISHI_COUNT_CAP * 10)
    paginator = Paginator(qs, settings.ENISHI_PAGE_SIZE)
    # Paginator.count would count the whole table; the capped count is enough for the pager.
    paginator.__dict__["count"] = count
    page = paginator.get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/list.html",
        {
            "page": page,
            "count": count,
            "capped": capped,
            "filters": filters,
            "querystring": query.urlencode(),
            "kinds": Customer.Kind.choices,
            "statuses": Customer.Status.choices,
            "ranks": Customer.Rank.choices,
            "channels": Customer.Channel.choices,
            "prefectures": PREFECTURES,
            "owners": User.objects.filter(is_active=True),
            "tags": Tag.objects.all(),
            "sorts": [
                ("updated", _("Recently updated")),
                ("-updated", _("Least recently updated")),
                ("kana", _("Reading (ア→ン)")),
                ("-kana", _("Reading (ン→ア)")),
                ("created", _("Newest")),
                ("code", _("By customer code")),
            ],
        },
    )


@require_GET
def customer_search(request: HttpRequest) -> HttpResponse:
    """The top bar's results as you type (an htmx fragment), or a full page without htmx."""
    q = request.GET.get("q", "")[:100]
    result = selectors.search_customers(request.user, q, limit=12 if request.htmx else 50)
    template = "customers/_search_results.html" if request.htmx else "customers/search.html"
    return render(request, template, {"q": q, "result": result})


def _timeline_kind(request: HttpRequest) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in TIMELINE_KINDS else ""


def _merged_meanwhile(request: HttpRequest, pk: int) -> HttpResponse | None:
    """The edit page of a karte merged into another: a GET goes to the survivor's; a save
    shows what the person changed, nothing lost, with the way to the survivor."""
    from enishi.quality.selectors import merged_redirect

    found = merged_redirect(request.user, pk) if can_write(request.user) else None
    if found is None:
        return None
    survivor, member = found
    if request.method != "POST":
        messages.info(
            request,
            _("%(name)s was merged into %(other)s: edit this karte instead.")
            % {"name": member.name, "other": survivor.name},
        )
        return redirect("customers:edit", pk=survivor.pk)
    merged = Customer.objects.get(pk=pk)
    form = CustomerForm(request.POST, user=request.user, instance=merged)
    typed = [
        (form.fields[name].label, request.POST.getlist(name))
        for name in form.changed_data
        if name in form.fields and name != "version"
    ]
    return render(
        request,
        "customers/merged_meanwhile.html",
        {"member": member, "survivor": survivor, "typed": typed},
        status=409,
    )


@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        customer = selectors.customer_get(request.user, pk)
    except Http404:
        # A karte merged into another lives on in its survivor: old links and bookmarks go there.
        from enishi.quality.selectors import merged_redirect

        found = merged_redirect(request.user, pk)
        if found is None:
            raise
        survivor, member = found
        messages.info(
            request,
            _("%(name)s was merged into this karte on %(date)s.")
            % {"name": member.name, "date": localtime(member.merge.created_at).date().isoformat()},
        )
        return redirect(survivor)
    kind = _timeline_kind(request)
    before = cursor_from(
        request.GET.get("before_at", ""),
        request.GET.get("before_rank", ""),
        request.GET.get("before_id", ""),
    )
    items, cursor = karte_timeline(
        customer, kind=kind, before=before, size=settings.ENISHI_TIMELINE_PAGE_SIZE
    )
    timeline = {"customer": customer, "items": items, "cursor": cursor, "kind": kind}
    if request.htmx and request.GET.get("part") == "timeline":
        return render(request, "customers/_timeline.html", timeline)
    is_print = request.GET.get("print") == "1"
    sections = karte_sections(customer)
    rows, empty, sensitive_shown = selectors.customer_custom_rows(request.user, customer)
    if sensitive_shown:
        history_services.history_record_view_sensitive(
            actor=request.user, customer=customer, fields=sensitive_shown
        )
    visible_related = selectors.customer_visible_ids(
        request.user, [customer.company_id, customer.parent_id]
    )
    history = list(history_for_customer(customer_id=customer.pk)[: 10 if is_print else 50])
    karte_links(request).add(history)  # the companies it names, asked about at once
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "company": customer.company if customer.company_id in visible_related else None,
            "parent": customer.parent if customer.parent_id in visible_related else None,
            "can_edit": can_write(request.user),
            "tags": list(customer.tags.all()),
            "custom_rows": rows,
            "custom_empty": empty,
            "contacts": list(selectors.customer_contacts(request.user, customer)[:100])
            if customer.is_company
            else [],
            "subsidiaries": list(selectors.customer_subsidiaries(request.user, customer)[:100])
            if customer.is_company
            else [],
            "colleagues": (
                list(
                    selectors.customer_contacts(request.user, customer.company).exclude(
                        pk=customer.pk
                    )[:20]
                )
                if customer.company_id in visible_related
                else []
            ),
            "tasks": list(tasks_open_for_customer(request.user, customer)[:50]),
            **timeline,
            "timeline_kinds": TIMELINE_KINDS,
            "karte": sections,
            "history": history,
            "activity_form": ActivityForm(
                initial={"occurred_at": None}, about_choices=about_choices(sections)
            ),
            "is_print": is_print,
        },
    )


def _add_errors(form: CustomerForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        name = field if field in form.fields else None
        if name is None or name not in form.errors:
            form.add_error(name, errors)


def _check_rules_too(form: CustomerForm, customer: Customer | None) -> None:
    """A form with a mistyped date still shows the phone and e-mail problems: all at once."""
    data = {k: v for k, v in form.service_data().items() if k not in form.errors}
    kind = data.get("kind") or (customer.kind if customer else Customer.Kind.PERSON)
    try:
        services.customer_clean(data, kind=kind, instance=customer)
    except ValidationError as exc:
        _add_errors(form, exc)


def _save_customer(request: HttpRequest, form: CustomerForm, customer: Customer | None):
    """Run the service for a valid form; on a rule failure put the messages next to the fields."""
    try:
        if customer is None:
            return services.customer_create(actor=request.user, data=form.service_data())
        version = _int_or_none(request.POST.get("version"))
        return services.customer_update(
            actor=request.user, customer=customer, data=form.service_data(), version=version
        )
    except ValidationError as exc:
        _add_errors(form, exc)
    return None


def _ask_for_similar(form: CustomerForm) -> None:
    """htmx on the identifying fields: a pause in typing fetches the hint, sending the whole
    form (only the fields the matching engine reads are used)."""
    common = {
        "hx-post": reverse("quality:similar"),
        "hx-target": "#similar-hint",
        "hx-include": "closest form",
        "hx-sync": "closest form:replace",
    }
    for name in HINT_TRIGGER_FIELDS:
        form.fields[name].widget.attrs.update(common, **{"hx-trigger": "input changed delay:400ms"})
    for name in ("company", "kind"):
        form.fields[name].widget.attrs.update(common, **{"hx-trigger": "change"})


@require_http_methods(["GET", "POST"])
@write_required
def customer_create(request: HttpRequest) -> HttpResponse:
    kind = (
        request.GET.get("kind")
        if request.GET.get("kind") in Customer.Kind.values
        else Customer.Kind.PERSON
    )
    company = None
    if request.GET.get("company"):
        company = selectors.customer_get(request.user, _int_or_none(request.GET["company"]) or 0)
    initial = {"kind": kind, "owner": request.user, "status": Customer.Status.LEAD}
    if company is not None:
        initial.update(
            company=company,
            postal_code=company.postal_code,
            prefecture=company.prefecture,
            city=company.city,
            town=company.town,
            street=company.street,
            building=company.building,
            phone=company.phone,
        )
    form = CustomerForm(
        request.POST or None, user=request.user, initial=initial, instance=Customer(kind=kind)
    )
    _ask_for_similar(form)
    if request.method == "POST" and not form.is_valid():
        _check_rules_too(form, None)
    elif request.method == "POST":
        customer = _save_customer(request, form, None)
        if customer is not None:
            messages.success(request, _("Saved %(name)s.") % {"name": customer.name})
            return redirect(customer)
    # Shown again after an error, the form keeps its hint ("似たお客様がいます").
    similar = similar_to_typed(request.user, request.POST) if form.errors else []
    return render(
        request,
        "customers/form.html",
        {"form": form, "customer": None, "similar": similar},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        customer = selectors.customer_get_for_edit(request.user, pk)
    except Http404:
        merged = _merged_meanwhile(request, pk)
        if merged is None:
            raise
        return merged
    form = CustomerForm(request.POST or None, user=request.user, instance=customer)
    conflict = None
    edit = EditConflict(request)  # when the form was shown: a conflict lists what came since
    if request.method == "POST" and not form.is_valid():
        _check_rules_too(form, customer)
    elif request.method == "POST":
        try:
            saved = _save_customer(request, form, customer)
        except services.StaleVersionError as exc:
            conflict = exc.current
            saved = None
            edit.found(conflict)
        if saved is not None:
            messages.success(request, _("Saved %(name)s.") % {"name": saved.name})
            return redirect(saved)
    status = 409 if conflict else (400 if form.errors else 200)
    return render(
        request,
        "customers/form.html",
        {"form": form, "customer": customer, "conflict": conflict, **edit.context},
        status=status,
    )


@require_POST
def customer_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get_for_edit(request.user, pk)
    services.customer_confirm(actor=request.user, customer=customer)
    messages.success(request, _("Marked as confirmed today."))
    return redirect(customer)


@require_GET
def postal_code_lookup(request: HttpRequest) -> JsonResponse:
    """Prefecture, city and town for a postal code, from offline data (for the form's auto-fill)."""
    try:
        code = normalize.normalize_postal_code(request.GET.get("code", ""))
    except ValidationError as exc:
        return JsonResponse({"ok": False, "error": exc.messages[0]}, status=400)
    found = normalize.lookup_postal_code(code)
    if found is None:
        return JsonResponse(
            {"ok": False, "code": code, "error": _("No address is known for this postal code.")},
            status=404,
        )
    return JsonResponse(
        {
            "ok": True,
            "code": code,
            "prefecture": found.prefecture,
            "city": found.city,
            "town": found.town,
        }
    )


# --- Field definitions (項目定義シート): admin only ----------------------------------------------


@admin_required
@require_GET
def field_definition_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "customers/fields/list.html",
        {
            "definitions": FieldDefinition.objects.all(),
            "presets": custom_fields.available_presets(),
        },
    )


@admin_required
@require_http_methods(["GET", "POST"])
def field_definition_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    instance = None
    if pk is not None:
        instance = FieldDefinition.objects.filter(pk=pk).first()
        if instance is None:
            raise Http404
    form = FieldDefinitionForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        definition = form.save()
        messages.success(request, _("Saved the field “%(label)s”.") % {"label": definition.label})
        return redirect("customers:field_list")
    return render(
        request,
        "customers/fields/form.html",
        {"form": form, "definition": instance},
        status=400 if form.errors else 200,
    )


@admin_required
@require_POST
def field_definition_install_preset(request: HttpRequest) -> HttpResponse:
    try:
        created = custom_fields.field_definitions_install_preset(
            preset_key=request.POST.get("preset", "")
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            ngettext("Added %(count)s field.", "Added %(count)s fields.", len(created))
            % {"count": len(created)},
        )
    return redirect("customers:field_list")


# --- Trash (ゴミ箱) and handover (引き継ぎ) ---------------------------------------------------------


@require_POST
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get_for_edit(request.user, pk)
    services.customer_delete(actor=request.user, customer=customer)
    messages.success(request, _("Moved %(name)s to the trash.") % {"name": customer.name})
    return redirect("customers:list")


@require_GET
def trash_list(request: HttpRequest) -> HttpResponse:
    if not can_restore(request.user):
        raise Http404
    qs = selectors.customer_visible(request.user, trash=True).select_related("owner", "updated_by")
    page = Paginator(qs.order_by("-deleted_at", "-id"), settings.ENISHI_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request, "customers/trash.html", {"page": page, "can_purge": can_purge(request.user)}
    )


@require_POST
def trash_restore(request: HttpRequest, pk: int) -> HttpResponse:
    if not can_restore(request.user):
        raise Http404
    customer = selectors.customer_get_in_trash(request.user, pk)
    services.customer_restore(actor=request.user, customer=customer)
    messages.success(request, _("Restored %(name)s.") % {"name": customer.name})
    return redirect(customer)


@require_POST
def trash_purge(request: HttpRequest, pk: int) -> HttpResponse:
    if not can_purge(request.user):
        raise Http404
    customer = selectors.customer_get_in_trash(request.user, pk)
    services.customer_purge(actor=request.user, customer=customer)
    messages.success(request, _("Deleted %(name)s for good.") % {"name": customer.name})
    return redirect("customers:trash")


@require_http_methods(["GET", "POST"])
def handover(request: HttpRequest) -> HttpResponse:
    """Preview, then move one person's customers and open tasks to one or more colleagues."""
    if not is_manager_or_admin(request.user):
        raise Http404
    users = User.objects.filter(is_active=True).order_by("username")
    source = request.POST if request.method == "POST" else request.GET
    sources = handover_sources(request.user)
    from_user = sources.filter(pk=_int_or_none(source.get("from"))).first()
    to_ids = [i for i in (_int_or_none(v) for v in source.getlist("to")) if i]
    to_users = list(User.objects.filter(pk__in=to_ids, is_active=True))
    note = source.get("note", "")[:5000]
    plan, errors = None, []
    if from_user is not None and to_users:
        try:
            plan = handover_plan(actor=request.user, from_user=from_user, to_users=to_users)
        except ValidationError as exc:
            errors = exc.messages
    if request.method == "POST" and plan is not None and request.POST.get("confirm") == "1":
        try:
            done = customers_hand_over(
                actor=request.user, from_user=from_user, to_users=to_users, note=note
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(
                request,
                _("Handed over %(customers)s customers and %(tasks)s open tasks from %(name)s.")
                % {
                    "customers": len(done.customers),
                    "tasks": len(done.tasks),
                    "name": from_user.label,
                },
            )
            return redirect(f"{reverse('customers:list')}?owner={to_users[0].pk}")
    return render(
        request,
        "customers/handover.html",
        {
            "users": users,
            "all_users": sources,
            "from_user": from_user,
            "to_ids": to_ids,
            "note": note,
            "plan": plan,
            "errors": errors,
            "owned_count": selectors.customer_visible(request.user).filter(owner=from_user).count()
            if from_user
            else 0,
        },
    )
