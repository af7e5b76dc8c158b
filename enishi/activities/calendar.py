"""Each user's private calendar subscription (iCalendar): their open tasks and renewals.

The subscription URL carries a long random secret; only its SHA-256 is stored (as for API
tokens), so a copy of the database does not open anyone's calendar. One URL per user is active
at a time: making a new one revokes the old. What the feed shows is read through the same
permission filter as every page, at the moment the calendar app asks.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import icalendar
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from enishi.accounts.models import User
from enishi.activities.models import CalendarFeed, Task
from enishi.customers.selectors import customer_visible
from enishi.sales.models import Contract

# How far back and ahead the feed reaches: overdue work stays visible for a quarter, plans
# for a year ahead (calendar apps show nothing useful of older or later items).
DAYS_BACK = 90
DAYS_AHEAD = 365
# A calendar app polls every hour or so: a write per poll would turn every read into a write.
LAST_USED_PRECISION = datetime.timedelta(minutes=15)
# Enough for any real schedule, and a bound on what one request reads.
MAX_EVENTS = 3000
REFRESH = datetime.timedelta(hours=1)
# C0 control characters (but tab and line breaks) are not allowed in iCalendar text.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def feed_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class NewCalendarFeed:
    feed: CalendarFeed
    secret: str  # shown once, never stored


# --- writes ---------------------------------------------------------------------------------


@transaction.atomic
def calendar_feed_create(*, user: User) -> NewCalendarFeed:
    """A new subscription URL for `user`; the previous one (if any) stops working at once."""
    calendar_feed_revoke(user=user)
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(user=user, token_hash=feed_secret_hash(secret))
    return NewCalendarFeed(feed=feed, secret=secret)


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> int:
    """Stop the user's subscription URL; returns how many were active (0 or 1)."""
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def calendar_feed_record_use(*, feed: CalendarFeed) -> None:
    now = timezone.now()
    CalendarFeed.objects.filter(pk=feed.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    ).update(last_used_at=now)


# --- reads ----------------------------------------------------------------------------------


def calendar_feed_active(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).order_by("-pk").first()


def calendar_feed_for_secret(secret: str) -> CalendarFeed:
    """The active feed of an active user behind this secret, or 404 (never a hint why)."""
    wanted = feed_secret_hash(secret)
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_hash=wanted, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    # The lookup is by hash, so its timing tells nothing about the secret; compare anyway.
    if feed is None or not hmac.compare_digest(feed.token_hash, wanted):
        raise Http404
    return feed


@dataclass
class CalendarItem:
    uid: str
    day: datetime.date
    summary: str
    description: str
    url: str
    categories: list[str]
    sequence: int = 0
    modified: datetime.datetime | None = None


def calendar_window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    return (
        today - datetime.timedelta(days=DAYS_BACK),
        today + datetime.timedelta(days=DAYS_AHEAD),
    )


def calendar_tasks(user: User, today: datetime.date):
    """The user's open tasks with a date in the window (next actions of activities and deals,
    renewal reminders, inquiry follow-ups), on kartes they may still see."""
    return (
        Task.objects.filter(
            assignee=user,
            done_at__isnull=True,
            deleted_at__isnull=True,
            due_on__range=calendar_window(today),
            customer__in=customer_visible(user),
        )
        .select_related("customer", "deal", "inquiry", "contract")
        .order_by("due_on", "id")[:MAX_EVENTS]
    )


def calendar_renewals(user: User, today: datetime.date):
    """Renewal dates of running contracts the user looks after: their own, or (without an
    active owner of the contract) those of the kartes they own."""
    return (
        Contract.objects.filter(
            Q(owner=user)
            | ((Q(owner__isnull=True) | Q(owner__is_active=False)) & Q(customer__owner=user)),
            deleted_at__isnull=True,
            cancelled_on__isnull=True,
            renews_on__range=calendar_window(today),
            customer__in=customer_visible(user),
        )
        .select_related("customer")
        .order_by("renews_on", "id")[:MAX_EVENTS]
    )


def _clean(text: str) -> str:
    return _CONTROL_RE.sub("", text)


def calendar_items(
    user: User, *, today: datetime.date, absolute: Callable[[str], str]
) -> list[CalendarItem]:
    """What the user's feed shows, in their language. `absolute` turns a path into a URL."""
    items: list[CalendarItem] = []
    with translation.override(user.language or settings.LANGUAGE_CODE):
        for task in calendar_tasks(user, today):
            karte = absolute(task.customer.get_absolute_url())
            lines = [task.customer.name]
            categories = [_("Task")]
            if task.deal_id and task.deal.deleted_at is None:
                lines.append(_("Deal: %(title)s") % {"title": task.deal.title})
                categories.append(_("Deal"))
            if task.inquiry_id and task.inquiry.deleted_at is None:
                lines.append(_("Inquiry: %(subject)s") % {"subject": task.inquiry.subject})
                categories.append(_("Inquiry"))
            if task.contract_id and task.contract.deleted_at is None:
                lines.append(_("Contract: %(plan)s") % {"plan": task.contract.plan})
                categories.append(_("Renewal"))
            lines.append(karte)
            items.append(
                CalendarItem(
                    uid=f"task-{task.pk}@enishi",
                    day=task.due_on,
                    summary=f"{task.title} — {task.customer.name}",
                    description="\n".join(lines),
                    url=karte,
                    categories=categories,
                    sequence=task.version,
                    modified=task.updated_at,
                )
            )
        for contract in calendar_renewals(user, today):
            karte = absolute(contract.customer.get_absolute_url())
            kind = _("Renews automatically") if contract.auto_renew else _("Renewal to agree")
            items.append(
                CalendarItem(
                    uid=f"contract-{contract.pk}-{contract.renews_on.isoformat()}@enishi",
                    day=contract.renews_on,
                    summary=_("Renewal: %(plan)s") % {"plan": contract.plan}
                    + f" — {contract.customer.name}",
                    description="\n".join(
                        [
                            contract.customer.name,
                            kind,
                            _("Amount per period: ¥%(amount)s")
                            % {"amount": f"{contract.amount:,}"},
                            karte,
                        ]
                    ),
                    url=karte,
                    categories=[_("Renewal")],
                    sequence=contract.version,
                    modified=contract.updated_at,
                )
            )
    items.sort(key=lambda item: (item.day, item.uid))
    return items


def calendar_ical(user: User, items: list[CalendarItem]) -> bytes:
    """The feed as iCalendar: all-day events, one per item."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Enishi//Enishi CRM calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _clean(f"Enishi — {user.label}"))
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(REFRESH))
    stamp = timezone.now()
    for item in items:
        event = icalendar.Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.day)
        event.add("dtend", item.day + datetime.timedelta(days=1))
        event.add("summary", _clean(item.summary))
        event.add("description", _clean(item.description))
        event.add("url", item.url)
        event.add("categories", [_clean(c).replace(",", " ") for c in item.categories])
        event.add("transp", "TRANSPARENT")  # a reminder, not a busy slot
        event.add("sequence", item.sequence)
        if item.modified is not None:
            event.add("last-modified", item.modified)
        cal.add_component(event)
    return cal.to_ical()
