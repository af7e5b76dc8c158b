import re

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from enishi.activities import calendar as calendar_feeds
from enishi.activities import selectors, services
from enishi.activities.forms import ActivityForm
from enishi.core.permissions import can_write, write_required
from enishi.customers.karte import about_choices, karte_sections
from enishi.customers.selectors import customer_get_for_edit
from enishi.sales.services import renewal_tasks_ensure


@require_POST
def activity_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    merged_into = None
    try:
        customer = customer_get_for_edit(request.user, customer_pk)
    except Http404:
        # Merged while the form was open: what was said belongs to the surviving karte.
        from enishi.quality.selectors import merged_redirect

        found = merged_redirect(request.user, customer_pk) if can_write(request.user) else None
        if found is None:
            raise
        customer, merged_into = found
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
            if merged_into is not None:
                messages.info(
                    request,
                    _("%(name)s was merged into %(other)s meanwhile: logged on %(other)s.")
                    % {"name": merged_into.name, "other": customer.name},
                )
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
    # Renewal reminders appear without a cron job: the hourly check runs here too.
    renewal_tasks_ensure()
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


# --- the calendar subscription ---------------------------------------------------------------

# The new URL's secret waits here between the POST that made it and the page that shows it:
# shown once (popped on display), and a reload of that page does not make another URL.
CALENDAR_SESSION_KEY = "activities:calendar_url"


@never_cache
@require_GET
def calendar(request: HttpRequest) -> HttpResponse:
    feed = calendar_feeds.calendar_feed_active(request.user)
    kept = request.session.pop(CALENDAR_SESSION_KEY, None)
    feed_url = ""
    if feed is not None and kept and kept.get("feed") == feed.pk:
        feed_url = request.build_absolute_uri(
            reverse("activities:calendar_feed", args=[kept["secret"]])
        )
    return render(
        request,
        "activities/calendar.html",
        {
            "feed": feed,
            "feed_url": feed_url,
            "webcal_url": re.sub(r"^https?://", "webcal://", feed_url),
        },
    )


@require_POST
def calendar_reset(request: HttpRequest) -> HttpResponse:
    new = calendar_feeds.calendar_feed_create(user=request.user)
    request.session[CALENDAR_SESSION_KEY] = {"feed": new.feed.pk, "secret": new.secret}
    messages.success(request, _("Your calendar URL is ready. Copy it now: it is shown only once."))
    return redirect("activities:calendar")


@require_POST
def calendar_revoke(request: HttpRequest) -> HttpResponse:
    request.session.pop(CALENDAR_SESSION_KEY, None)
    if calendar_feeds.calendar_feed_revoke(user=request.user):
        messages.success(request, _("The calendar URL no longer works."))
    return redirect("activities:calendar")


@login_not_required
@require_safe
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """The subscription itself: no session, the secret in the URL is the key."""
    feed = calendar_feeds.calendar_feed_for_secret(secret)
    items = calendar_feeds.calendar_items(
        feed.user, today=timezone.localdate(), absolute=request.build_absolute_uri
    )
    calendar_feeds.calendar_feed_record_use(feed=feed)
    response = HttpResponse(
        calendar_feeds.calendar_ical(feed.user, items), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="enishi.ics"'
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
