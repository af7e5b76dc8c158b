import datetime

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from enishi.accounts.models import User
from enishi.core.permissions import admin_required
from enishi.history.models import HistoryEntry
from enishi.history.selectors import history_search, karte_links


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@admin_required
@require_GET
def history_log(request: HttpRequest) -> HttpResponse:
    """The whole audit log for administrators, searchable by user, record and date.

    An export of many kartes (the customer list as a PDF or as vCards) is one line, its own;
    the line it wrote into each karte's history is shown for one karte or for that export
    (its batch), not in between everything else."""
    g = request.GET
    since = parse_date(g.get("since", "") or "") if g.get("since") else None
    until = parse_date(g.get("until", "") or "") if g.get("until") else None
    customer_id = _int(g.get("customer"))
    batch = g.get("batch", "")[:40]
    qs = history_search(
        actor_id=_int(g.get("actor")),
        customer_id=customer_id,
        action=g.get("action", "") if g.get("action") in HistoryEntry.Action.values else "",
        via=g.get("via", "") if g.get("via") in HistoryEntry.Via.values else "",
        since=since,
        until=until + datetime.timedelta(days=1) if until else None,
        batch=batch,
        exported_kartes=bool(customer_id or batch),
    )
    page = Paginator(qs, settings.ENISHI_PAGE_SIZE).get_page(g.get("page"))
    karte_links(request).add(page.object_list)  # the companies the page names, at once
    query = g.copy()
    query.pop("page", None)
    return render(
        request,
        "history/log.html",
        {
            "page": page,
            "users": User.objects.order_by("username"),
            "actions": HistoryEntry.Action.choices,
            "vias": HistoryEntry.Via.choices,
            "querystring": query.urlencode(),
            "f": g,
        },
    )
