"""Screens for inquiries: thin views over the services and selectors."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enishi.core.permissions import admin_required, can_write, write_required
from enishi.customers.selectors import customer_get_for_edit, search_customers
from enishi.inquiries import selectors, services
from enishi.inquiries.forms import AnswerForm, CategoryForm, ChangeForm, InquiryForm
from enishi.inquiries.models import Inquiry

STATS_PERIODS = (7, 30, 90)


def _int_or_none(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is None or 0 < number < 2**63 else None


def _add_errors(form, exc: ValidationError) -> None:
    """A service's messages next to the fields they name (the rest above the form)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _filters(g) -> selectors.InquiryFilters:
    assignee = g.get("assignee", "")
    return selectors.InquiryFilters(
        status=g.get("status", "") if g.get("status") in [*Inquiry.Status.values, "open"] else "",
        category=_int_or_none(g.get("category")),
        channel=g.get("channel", "") if g.get("channel") in Inquiry.Channel.values else "",
        assignee=_int_or_none(assignee),
        unassigned=assignee == "none",
        customer=_int_or_none(g.get("customer")),
        q=g.get("q", "").replace("\x00", "")[:100],
        sort=g.get("sort", "newest") if g.get("sort") in selectors.SORTS else "newest",
    )


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The work queues (mine, unassigned, overdue, open, all) with their counts and figures."""
    g = request.GET
    now = timezone.now()
    counts = selectors.queue_counts(request.user, now=now)
    name = g.get("queue") if g.get("queue") in selectors.QUEUES else ""
    name = name or ("mine" if counts["mine"] else "open")
    filters = _filters(g)
    page = Paginator(
        selectors.inquiry_queue(request.user, name, filters, now=now), settings.ENISHI_PAGE_SIZE
    ).get_page(g.get("page"))
    days = _int_or_none(g.get("days"))
    days = days if days in STATS_PERIODS else 30
    query = g.copy()
    query.pop("page", None)
    tab_query = g.copy()
    for key in ("page", "queue"):
        tab_query.pop(key, None)
    return render(
        request,
        "inquiries/queue.html",
        {
            "page": page,
            "queue": name,
            "tabs": [
                (key, label, counts[key])
                for key, label in (
                    ("mine", _("Mine")),
                    ("unassigned", _("Unassigned")),
                    ("overdue", _("Overdue")),
                    ("open", _("Open")),
                    ("all", _("All")),
                )
            ],
            "counts": counts,
            "filters": filters,
            "querystring": query.urlencode(),
            "tab_querystring": tab_query.urlencode(),
            "statuses": Inquiry.Status.choices,
            "channels": Inquiry.Channel.choices,
            "categories": selectors.categories_all(),
            "users": selectors.assignable_users(),
            "stats": selectors.response_stats(
                request.user, now - datetime.timedelta(days=days), now=now
            ),
            "days": days,
            "periods": STATS_PERIODS,
            "target_hours": settings.ENISHI_INQUIRY_RESPONSE_HOURS,
            "now": now,
            "can_edit": can_write(request.user),
        },
    )


def _detail(
    request: HttpRequest,
    inquiry: Inquiry,
    *,
    answer_form: AnswerForm | None = None,
    change_form: ChangeForm | None = None,
    conflict: Inquiry | None = None,
    status: int = 200,
) -> HttpResponse:
    answers = selectors.inquiry_thread(request.user, inquiry)
    if change_form is None:
        change_form = ChangeForm(
            inquiry=inquiry,
            initial={
                "status": inquiry.status,
                "assignee": inquiry.assignee,
                "satisfaction": inquiry.satisfaction,
            },
        )
    return render(
        request,
        "inquiries/detail.html",
        {
            "inquiry": inquiry,
            "customer": inquiry.customer,
            "answers": answers,
            "history": selectors.inquiry_history(request.user, inquiry, answers),
            "can_edit": can_write(request.user),
            "answer_form": answer_form or AnswerForm(),
            "change_form": change_form,
            "conflict": conflict,
            "is_overdue": selectors.is_overdue(inquiry),
            "target_hours": settings.ENISHI_INQUIRY_RESPONSE_HOURS,
            "now": timezone.now(),
        },
        status=status,
    )


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.inquiry_get(request.user, pk))


@require_http_methods(["GET", "POST"])
@write_required
def create(request: HttpRequest) -> HttpResponse:
    """New inquiry for ?customer=<pk>; without one, first find the customer."""
    customer_pk = _int_or_none(request.GET.get("customer") or request.POST.get("customer"))
    if customer_pk is None:
        if request.method == "POST":
            raise Http404
        q = request.GET.get("q", "").replace("\x00", "")[:100]
        return render(
            request,
            "inquiries/pick_customer.html",
            {"q": q, "result": search_customers(request.user, q) if q else None},
        )
    customer = customer_get_for_edit(request.user, customer_pk)
    form = InquiryForm(request.POST or None, initial={"assignee": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            inquiry = services.inquiry_create(
                actor=request.user, customer=customer, **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Inquiry recorded."))
            return redirect(inquiry)
    return render(
        request,
        "inquiries/form.html",
        {"form": form, "customer": customer, "inquiry": None},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = selectors.inquiry_get_for_edit(request.user, pk)
    form = InquiryForm(
        request.POST or None, inquiry=inquiry, initial=InquiryForm.initial_for(inquiry)
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.inquiry_update(
                actor=request.user,
                inquiry=inquiry,
                data=form.cleaned_data,
                version=_int_or_none(request.POST.get("version")),
            )
        except services.StaleVersionError as exc:
            conflict = exc.current
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(saved)
    return render(
        request,
        "inquiries/form.html",
        {"form": form, "customer": inquiry.customer, "inquiry": inquiry, "conflict": conflict},
        status=409 if conflict else (400 if form.errors else 200),
    )


@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = selectors.inquiry_get_for_edit(request.user, pk)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            added = services.inquiry_answer(
                actor=request.user,
                inquiry=inquiry,
                body=form.cleaned_data["body"],
                is_internal=form.cleaned_data["is_internal"],
                status=form.cleaned_data["status"] or None,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, _("Internal note added.") if added.is_internal else _("Answer added.")
            )
            return redirect(f"{inquiry.get_absolute_url()}#answer-{added.pk}")
    return _detail(request, inquiry, answer_form=form, status=400)


@require_POST
def change(request: HttpRequest, pk: int) -> HttpResponse:
    """Status, assignee and satisfaction from the detail page (versioned)."""
    inquiry = selectors.inquiry_get_for_edit(request.user, pk)
    form = ChangeForm(request.POST, inquiry=inquiry)
    if form.is_valid():
        data = {"status": form.cleaned_data["status"], "assignee": form.cleaned_data["assignee"]}
        if "satisfaction" in request.POST:
            data["satisfaction"] = form.cleaned_data["satisfaction"]
        try:
            services.inquiry_update(
                actor=request.user,
                inquiry=inquiry,
                data=data,
                version=_int_or_none(request.POST.get("version")),
            )
        except services.StaleVersionError as exc:
            fresh = selectors.inquiry_get(request.user, pk)
            return _detail(request, fresh, change_form=form, conflict=exc.current, status=409)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(inquiry)
    return _detail(request, inquiry, change_form=form, status=400)


@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Take it": assign to me (or to the user posted as `assignee`, empty for nobody)."""
    inquiry = selectors.inquiry_get_for_edit(request.user, pk)
    assignee = request.user
    if "assignee" in request.POST:
        wanted = _int_or_none(request.POST["assignee"])
        assignee = selectors.assignable_users().filter(pk=wanted).first() if wanted else None
        if wanted and assignee is None:
            messages.error(request, _("Choose an active user."))
            return redirect(inquiry)
    try:
        saved = services.inquiry_assign(
            actor=request.user,
            inquiry=inquiry,
            assignee=assignee,
            version=_int_or_none(request.POST.get("version")),
        )
    except services.StaleVersionError as exc:
        fresh = selectors.inquiry_get(request.user, pk)
        return _detail(request, fresh, conflict=exc.current, status=409)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(inquiry)
    if saved.assignee_id == request.user.pk:
        messages.success(request, _("You are now handling this inquiry."))
    else:
        messages.success(request, _("Saved."))
    return redirect(saved)


@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = selectors.inquiry_get_for_edit(request.user, pk)
    services.inquiry_delete(actor=request.user, inquiry=inquiry)
    messages.success(
        request, _("Moved the inquiry “%(subject)s” to the trash.") % {"subject": inquiry.subject}
    )
    return redirect("inquiries:queue")


# --- categories: admin settings ----------------------------------------------------------------


@admin_required
@require_GET
def category_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "inquiries/categories/list.html", {"categories": selectors.categories_with_use()}
    )


@admin_required
@require_http_methods(["GET", "POST"])
def category_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    category = selectors.category_get(pk) if pk is not None else None
    initial = (
        {"name": category.name, "position": category.position, "is_active": category.is_active}
        if category
        else {"position": 0, "is_active": True}
    )
    form = CategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if category is None:
                saved = services.category_create(actor=request.user, **form.cleaned_data)
            else:
                saved = services.category_update(
                    actor=request.user, category=category, **form.cleaned_data
                )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved the category “%(name)s”.") % {"name": saved.name})
            return redirect("inquiries:category_list")
    return render(
        request,
        "inquiries/categories/form.html",
        {"form": form, "category": category},
        status=400 if form.errors else 200,
    )


@admin_required
@require_POST
def category_delete(request: HttpRequest, pk: int) -> HttpResponse:
    category = selectors.category_get(pk)
    try:
        services.category_delete(actor=request.user, category=category)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Deleted the category “%(name)s”.") % {"name": category.name})
    return redirect("inquiries:category_list")
