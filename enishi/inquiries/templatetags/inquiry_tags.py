"""Durations as people say them: "2 hours 15 minutes" (「2時間15分」), never "8100 s"."""

import datetime

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


def _days(n: int) -> str:
    return ngettext("%(n)s day", "%(n)s days", n) % {"n": n}


def _hours(n: int) -> str:
    return ngettext("%(n)s hour", "%(n)s hours", n) % {"n": n}


def _minutes(n: int) -> str:
    return ngettext("%(n)s minute", "%(n)s minutes", n) % {"n": n}


@register.filter
def duration(delta: datetime.timedelta | None) -> str:
    """The two largest units (days and hours, or hours and minutes); "—" for none."""
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return _("under a minute")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        parts = [_days(days)] + ([_hours(hours)] if hours else [])
    elif hours:
        parts = [_hours(hours)] + ([_minutes(minutes)] if minutes else [])
    else:
        parts = [_minutes(minutes)]
    if len(parts) == 1:
        return parts[0]
    # Translators: a duration in two units, e.g. "2 hours 15 minutes" → 「2時間15分」
    return _("%(larger)s %(smaller)s") % {"larger": parts[0], "smaller": parts[1]}


@register.filter
def since(moment: datetime.datetime | None, now: datetime.datetime) -> str:
    """How long ago `moment` was, as a duration."""
    if moment is None:
        return "—"
    return duration(max(now - moment, datetime.timedelta(0)))


@register.filter
def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"
