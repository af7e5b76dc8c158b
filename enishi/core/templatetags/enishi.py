import datetime

from django import template
from django.utils import timezone
from django.utils.translation import ngettext

from enishi.core.permissions import can_view_sensitive
from enishi.history.selectors import custom_fields_label, field_label, value_label

register = template.Library()


@register.simple_tag
def history_field(entry, name: str) -> str:
    return field_label(entry.model, name)


@register.simple_tag(takes_context=True)
def history_value(context, entry, name: str, value) -> str:
    if name == "custom_fields" and isinstance(value, dict):
        return custom_fields_label(
            value, show_sensitive=can_view_sensitive(context["request"].user)
        )
    return value_label(entry.model, name, value)


@register.simple_tag
def contact_permissions(customer) -> list[tuple[str, str]]:
    """(label, "yes" | "no" | "unknown") per channel, for the karte header."""
    from enishi.customers.forms import PERMISSION_LABELS

    states = []
    for channel, label in PERMISSION_LABELS.items():
        allowed = customer.allows(channel)
        states.append((str(label), "unknown" if allowed is None else ("yes" if allowed else "no")))
    return states


@register.filter
def age(birthday: datetime.date | None) -> str:
    if not birthday:
        return ""
    today = timezone.localdate()
    years = today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))
    return ngettext("%(years)s year", "%(years)s years", years) % {"years": years}


@register.filter
def getfield(form, name: str):
    return form[name]
