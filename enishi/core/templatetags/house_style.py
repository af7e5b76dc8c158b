"""Dates as this business writes them (house style, set by an admin): `{{ order.ordered_on|day }}`
and `{{ activity.occurred_at|moment }}`. Loaded as a template builtin."""

import datetime

from django import template

from enishi.quality import house_style

register = template.Library()


@register.filter
def day(value: datetime.date | datetime.datetime | None) -> str:
    if isinstance(value, datetime.datetime):
        return house_style.datetime_styled(value, house_style.current().dates).split(" ")[0]
    if isinstance(value, datetime.date):
        return house_style.date_styled(value, house_style.current().dates)
    return ""


@register.filter
def moment(value: datetime.datetime | None) -> str:
    if isinstance(value, datetime.datetime):
        return house_style.datetime_styled(value, house_style.current().dates)
    return day(value)
