from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from enishi.core.later import is_message, join_list, translated
from enishi.history.models import HistoryEntry


def history_for_customer(*, customer_id: int) -> QuerySet[HistoryEntry]:
    return HistoryEntry.objects.filter(customer_id=customer_id).select_related("actor")


# Keys that exports, prints, imports and merges write into a karte's history entry.
BATCH_LABELS = {
    "format": _("Format"),
    "rows": _("Rows"),
    "file": _("File"),
    "merged_from": _("Merged from"),
    "merged_into": _("Merged into"),
    "moved_counts": _("Records moved"),
}


def field_label(model_label: str, field_name: str) -> str:
    """The field's name in the active language, for showing a history entry."""
    from enishi.accounts.selectors import _HISTORY_LABELS

    if field_name in _HISTORY_LABELS:
        return str(_HISTORY_LABELS[field_name][0])
    if field_name in BATCH_LABELS:
        return str(BATCH_LABELS[field_name])
    try:
        model = apps.get_model(model_label)
        return str(model._meta.get_field(field_name).verbose_name)
    except (LookupError, FieldDoesNotExist, ValueError):
        return field_name


def value_label(model_label: str, field_name: str, value) -> str:
    from enishi.accounts.selectors import _HISTORY_LABELS

    if value is None or value == "":
        return "—"
    if is_message(value) and field_name != "custom_fields":
        # A message kept for later (`core.later`): in the reader's language.
        return translated(value)
    if model_label == "transfer.export" and field_name == "columns" and isinstance(value, list):
        # An export keeps its columns' keys: headers in the reader's language.
        from enishi.transfer.export import column_headers

        return join_list(column_headers(value)) or "—"
    if field_name == "moved_counts" and isinstance(value, dict):
        # Kept as counts per kind, named in the reader's language.
        from enishi.quality.merge import moved_summary

        return moved_summary(value) or "—"
    if field_name in _HISTORY_LABELS and value in _HISTORY_LABELS[field_name][1]:
        return str(_HISTORY_LABELS[field_name][1][value])
    try:
        field = apps.get_model(model_label)._meta.get_field(field_name)
    except (LookupError, FieldDoesNotExist, ValueError):
        return str(value)
    from enishi.quality import house_style

    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            # The house's date display; an entry written as local time without an offset
            # (before 2026-11-24) is shown as written.
            return house_style.datetime_styled(parsed, house_style.current().dates)
    if isinstance(field, models.DateField) and isinstance(value, str):
        day = parse_date(value)
        if day is not None:
            return house_style.date_styled(day, house_style.current().dates)
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        from django.utils.translation import gettext as _

        return _("Yes") if value else _("No")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "—"
    return str(value)


def history_search(
    *,
    actor_id: int | None = None,
    customer_id: int | None = None,
    action: str = "",
    via: str = "",
    since=None,
    until=None,
    batch: str = "",
    exported_kartes: bool = True,
) -> QuerySet[HistoryEntry]:
    """`exported_kartes=False`: without the line an export of many kartes wrote into each
    karte's history (action export, batch "export:<id>"); the export's own entry stays."""
    qs = HistoryEntry.objects.select_related("actor")
    if batch:
        qs = qs.filter(batch=batch)
    if not exported_kartes:
        qs = qs.exclude(
            action=HistoryEntry.Action.EXPORT,
            model="customers.customer",
            batch__startswith="export:",
        )
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if action:
        qs = qs.filter(action=action)
    if via:
        qs = qs.filter(via=via)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lt=until)
    return qs.order_by("-at", "-id")


def custom_fields_label(values: dict, *, show_sensitive: bool) -> str:
    """Extra-field values by their labels; sensitive ones masked for roles that may not see them."""
    from enishi.customers.models import FieldDefinition

    definitions = {d.key: d for d in FieldDefinition.objects.filter(key__in=list(values))}
    parts = []
    for key, value in values.items():
        definition = definitions.get(key)
        label = definition.label if definition else key
        shown = "***" if definition and definition.sensitive and not show_sensitive else value
        if isinstance(shown, list):
            shown = join_list(shown)
        parts.append(f"{label}: {shown}")
    return ", ".join(parts) or "—"
