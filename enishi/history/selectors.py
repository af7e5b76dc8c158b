from collections import defaultdict
from collections.abc import Iterable

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from enishi.core.later import is_message, join_list, translated
from enishi.history.models import HistoryEntry


def history_for_customer(*, customer_id: int) -> QuerySet[HistoryEntry]:
    return HistoryEntry.objects.filter(customer_id=customer_id).select_related("actor")


# What a karte's data changes by: an edit form's version check is about these, not about the
# views and exports also written to its history.
NOT_CHANGES = (HistoryEntry.Action.VIEW_SENSITIVE, HistoryEntry.Action.EXPORT)


def changes_since(instance, *, since=None, version: int | None = None, limit: int = 10):
    """The changes to this record's own data (a karte, deal, order, contract …) saved after
    an edit form was opened, newest first: what the "someone else saved this while you were
    editing" panel lists. Not its views and exports, nor the records on it (a karte's
    activities, deals …), which do not touch the form's version.

    `since` is when the form was shown; without it (a form from before the field existed)
    the last `instance.version - version` changes, one per save.
    """
    changes = (
        HistoryEntry.objects.filter(model=instance._meta.label_lower, object_id=instance.pk)
        .exclude(action__in=NOT_CHANGES)
        .select_related("actor")
        .order_by("-at", "-id")
    )
    if since is not None:
        found = list(changes.filter(at__gt=since)[:limit])
        if found:
            return found
        # A save that started before the form was shown and ended after: by the version.
    if version is None or instance.version <= version:
        return []
    return list(changes[: min(instance.version - version, limit)])


def karte_changes_since(*, customer, since=None, version: int | None = None, limit: int = 10):
    """`changes_since` for a karte."""
    return changes_since(customer, since=since, version=version, limit=limit)


# A karte's links to other kartes (its company, its parent company), which history names as
# they were called at the time.
KARTE_LINKS = ("company", "parent")


class KarteLinks:
    """Whether a user may see, and open, the kartes history entries name, asked in bulk: a
    page of entries costs at most three queries, however many entries it has.

    An entry that keeps the id of the karte it names (`HistoryEntry.refs`, written since
    2026-11-25) is judged by that id: shown under the name it had then when the user may see that
    karte (in the trash too), linked when it is not deleted. An older entry keeps only the name:
    it is shown when the user may see a company called so now, or a company the entry's karte
    is linked to (now, or by a newer entry among those asked about) that was called so (its
    own history: created with the name, renamed from or to it); it is linked when exactly one
    such company is not deleted. A name neither explains is "a company you cannot see", except
    to an administrator, who may see every karte. Renaming a company thus never hides its
    contacts' history from whoever may see it, and never shows a name to anyone else.
    """

    def __init__(self, user):
        from enishi.core.permissions import is_admin

        self.user = user
        self.sees_all = is_admin(user)
        # karte id → its URL, "" when it may be seen but not opened, None when not seen.
        self.ids: dict[int, str | None] = {}
        # (the entry's karte, a name without id) → the same.
        self.names: dict[tuple[int, str], str | None] = {}

    def shown(self, entry: HistoryEntry, name: str, side: int, value) -> str | None:
        """None when the karte named on this side of the change is hidden from the user;
        else the URL to link the name to, or ""."""
        pk = entry.ref(name, side)
        if pk is not None:
            if pk not in self.ids:
                self.add([entry])
            return self.ids.get(pk)
        key = (entry.object_id, str(value))
        if key not in self.names:
            self.add([entry])
        return self.names.get(key)

    def add(self, entries: Iterable[HistoryEntry]) -> None:
        """Ask about every karte these entries name that is not known yet."""
        ids: set[int] = set()
        later: dict[int, set[int]] = defaultdict(set)  # karte → linked ids in these entries
        old: dict[int, set[str]] = defaultdict(set)  # karte → names without an id
        for entry in entries:
            if entry.model != "customers.customer" or not isinstance(entry.changes, dict):
                continue
            for name in KARTE_LINKS:
                pair = entry.changes.get(name)
                if not isinstance(pair, list) or len(pair) != 2:
                    continue
                for side, value in enumerate(pair):
                    if not value:
                        continue
                    pk = entry.ref(name, side)
                    if pk is not None:
                        later[entry.object_id].add(pk)
                        if pk not in self.ids:
                            ids.add(pk)
                    elif (entry.object_id, str(value)) not in self.names:
                        old[entry.object_id].add(str(value))
        if ids or old:
            self._resolve(ids, old, later)

    def _resolve(self, ids: set[int], old: dict[int, set[str]], later: dict[int, set[int]]) -> None:
        from enishi.customers.models import Customer

        candidates: dict[int, set[int]] = {karte: set(later.get(karte, ())) for karte in old}
        if old:
            for karte, *links in Customer.objects.filter(pk__in=list(old)).values_list(
                "pk", "company_id", "parent_id"
            ):
                candidates[karte].update(pk for pk in links if pk)
        names = set().union(*old.values()) if old else set()
        wanted = ids.union(*candidates.values())
        where = Q(pk__in=list(wanted))
        if names:
            where |= Q(kind=Customer.Kind.COMPANY, name__in=list(names))
        visible = {
            pk: (name, deleted_at is None)
            for pk, name, deleted_at in self._visible()
            .filter(where)
            .values_list("pk", "name", "deleted_at")
        }

        def url(pks) -> str:
            openable = [pk for pk in pks if visible[pk][1]]
            return reverse("customers:detail", args=[openable[0]]) if len(openable) == 1 else ""

        for pk in ids:
            if pk in visible:
                self.ids[pk] = url([pk])
            else:
                self.ids[pk] = "" if self.sees_all else None
        if not old:
            return
        # The names the linked companies were known by, from their own history.
        linked = {pk for pks in candidates.values() for pk in pks if pk in visible}
        called: dict[int, set[str]] = defaultdict(set)
        for pk in linked:
            called[pk].add(visible[pk][0])
        if linked:
            for pk, pair in HistoryEntry.objects.filter(
                model="customers.customer", object_id__in=list(linked), changes__has_key="name"
            ).values_list("object_id", "changes__name"):
                if isinstance(pair, list):
                    called[pk].update(str(v) for v in pair if v)
        named_now: dict[str, list[int]] = defaultdict(list)
        for pk, (name, _open) in visible.items():
            named_now[name].append(pk)
        for karte, karte_names in old.items():
            for name in karte_names:
                matched = [pk for pk in candidates[karte] if name in called.get(pk, ())]
                matched = matched or named_now.get(name, [])
                if matched:
                    self.names[(karte, name)] = url(matched)
                else:
                    self.names[(karte, name)] = "" if self.sees_all else None

    def _visible(self):
        from enishi.customers.models import Customer
        from enishi.customers.selectors import customer_visible

        if self.sees_all:
            return Customer.objects.all()
        return customer_visible(self.user) | customer_visible(self.user, trash=True)


def karte_links(request) -> KarteLinks:
    """The request's `KarteLinks` (kept on it, so each karte is asked about once). A view that
    shows a list of entries passes them to `add` first, for one query for all."""
    links = request.__dict__.get("_history_karte_links")
    if links is None or links.user is not request.user:
        links = request.__dict__["_history_karte_links"] = KarteLinks(request.user)
    return links


# Keys that exports, prints, imports and merges write into a karte's history entry.
BATCH_LABELS = {
    "format": _("Format"),
    "rows": _("Rows"),
    "file": _("File"),
    "merged_from": _("Merged from"),
    "merged_into": _("Merged into"),
    "moved_counts": _("Records moved"),
    "left_out": _("Kartes left out"),
}


def field_label(model_label: str, field_name: str) -> str:
    """The field's name in the active language, for showing a history entry: capitalised
    like a label ("Family name", "Rows"), whether it comes from a model's verbose name or
    from the labels kept here; Japanese is as it is."""
    from enishi.accounts.selectors import _HISTORY_LABELS

    if field_name in _HISTORY_LABELS:
        return capfirst(str(_HISTORY_LABELS[field_name][0]))
    if field_name in BATCH_LABELS:
        return capfirst(str(BATCH_LABELS[field_name]))
    try:
        model = apps.get_model(model_label)
        return capfirst(str(model._meta.get_field(field_name).verbose_name))
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
