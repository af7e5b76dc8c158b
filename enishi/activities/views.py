from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from enishi.activities import selectors, services
from enishi.activities.forms import ActivityForm
from enishi.core.permissions import write_required
from enishi.customers.karte import about_choices, karte_sections
from enishi.customers.selectors import customer_get_for_edit


@require_POST
def activity_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = customer_get_for_edit(request.user, customer_pk)
    form = ActivityForm(request.POST, about_choices=about_choices(karte_sections(customer)))
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            links = services.parse_about(data.pop("about", ""))
            services.activity_log(actor=request.user, customer=customer, **data, **links)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Logged."))
            return redirect(customer)
    return render(request, "activities/log.html", {"customer": customer, "form": form}, status=400)


@require_GET
def activity_new(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """The log form on its own page: one thumb on a phone, straight from a search result."""
    customer = customer_get_for_edit(request.user, customer_pk)
    form = ActivityForm(
        initial={"about": request.GET.get("about", "")},
        about_choices=about_choices(karte_sections(customer)),
    )
    return render(request, "activities/log.html", {"customer": customer, "form": form})


@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    return render(request, "activities/my_tasks.html", {"tasks": selectors.my_tasks(request.user)})


@write_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get(request.user, pk)
    done = request.POST.get("done", "1") == "1"
    task = services.task_complete(actor=request.user, task=task, done=done)
    if request.htmx:
        return render(
            request,
            "activities/_task.html",
            {"task": task, "show_customer": request.POST.get("show_customer") == "1"},
        )
    messages.success(request, _("Task completed.") if done else _("Task reopened."))
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("activities:my_tasks")
