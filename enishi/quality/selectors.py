"""Reads of the duplicates queue and of merges, with the permission filter applied: a pair is
shown only to someone who may see both kartes, a merge only to someone who may see its
survivor. (The "似たお客様がいます" hint reads through `similar.similar_customers`.)"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enishi.accounts.models import User
from enishi.core.later import join_list
from enishi.core.permissions import can_view_sensitive, role_of
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_visible, customer_visible_ids, visibility_q
from enishi.quality import house_style, match, normalize
from enishi.quality.merge import (
    FIELD_GROUPS,
    GROUPS_BY_KEY,
    FieldGroup,
    KarteGoneError,
    custom_definitions,
    custom_display,
    gone_message,
    is_filled,
    phone_key,
    related_counts,
)
from enishi.quality.models import DuplicatePair, Merge, MergedCustomer, ScanRun

# Score bands of the queue's filter: (label, lowest score, highest score).
BANDS: dict[str, tuple[Any, float, float]] = {
    "high": (gettext_lazy("High (90% and more)"), 0.9, 1.01),
    "medium": (gettext_lazy("Medium (70–90%)"), 0.7, 0.9),
    "low": (gettext_lazy("Low (under 70%)"), 0.0, 0.7),
}


def _prefixed(q: Q, prefix: str) -> Q:
    """The same condition on a related karte: Q(owner_id=1) → Q(a__owner_id=1)."""
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    out.children = [
        _prefixed(child, prefix) if isinstance(child, Q) else (f"{prefix}__{child[0]}", child[1])
        for child in q.children
    ]
    return out


def pairs_visible(user: User) -> QuerySet[DuplicatePair]:
    """Candidate pairs whose two kartes the user may both see (any status). A merged pair
    stays, its merged karte hidden like the trash: the queue's "merged" list is its record."""
    qs = DuplicatePair.objects.filter(
        Q(a__deleted_at__isnull=True, b__deleted_at__isnull=True)
        | Q(status=DuplicatePair.Status.MERGED)
    )
    rule = visibility_q(user)
    if rule is not None:
        qs = qs.filter(_prefixed(rule, "a")).filter(_prefixed(rule, "b"))
    return qs


@dataclass
class QueueFilters:
    kind: str = ""
    band: str = ""
    owner: int | None = None
    status: str = DuplicatePair.Status.OPEN

    def active(self) -> bool:
        return bool(self.kind or self.band or self.owner) or self.status != "open"

    def query(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("kind", "band", "owner"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.status != DuplicatePair.Status.OPEN:
            out["status"] = self.status
        return out


def duplicate_queue(user: User, filters: QueueFilters) -> QuerySet[DuplicatePair]:
    """The queue: strongest candidates first."""
    qs = pairs_visible(user).filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(a__kind=filters.kind)
    if filters.band in BANDS:
        _label, low, high = BANDS[filters.band]
        qs = qs.filter(score__gte=low, score__lt=high)
    if filters.owner:
        qs = qs.filter(Q(a__owner_id=filters.owner) | Q(b__owner_id=filters.owner))
    return qs.select_related("a", "b", "a__owner", "b__owner", "a__company", "b__company").order_by(
        "-score", "id"
    )


def pair_get(user: User, pk: int) -> DuplicatePair:
    try:
        return (
            pairs_visible(user)
            .select_related("a", "b", "a__company", "b__company", "decided_by", "merge")
            .get(pk=pk)
        )
    except (DuplicatePair.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def pair_next(user: User, pair: DuplicatePair, filters: QueueFilters) -> DuplicatePair | None:
    """The pair after this one in the queue's order (for "skip")."""
    return (
        duplicate_queue(user, filters)
        .filter(Q(score__lt=pair.score) | Q(score=pair.score, id__gt=pair.pk))
        .first()
    )


def group_members(user: User, pair: DuplicatePair) -> list[Customer]:
    """The other kartes the scan put in the same group as this pair, that the user may see."""
    if pair.scan_id is None or pair.status != DuplicatePair.Status.OPEN:
        return []
    ids: set[int] = set()
    for a, b in DuplicatePair.objects.filter(
        scan_id=pair.scan_id, group=pair.group, status=DuplicatePair.Status.OPEN
    ).values_list("a_id", "b_id")[:200]:
        ids.update((a, b))
    ids -= {pair.a_id, pair.b_id}
    return list(customer_visible(user).filter(pk__in=ids).order_by("pk")[:8])


def reason_labels(codes: list[str]) -> list[str]:
    return [str(match.REASONS[c]) for c in codes if c in match.REASONS]


def pair_reasons(pair: DuplicatePair) -> tuple[float, list[str], bool]:
    """(the pair's score, its reason codes, whether they were worked out again). The scan's
    hold while neither karte changed after it; once one did (a rename, the house-style
    clean-up, a new phone), they are worked out from the kartes as they are now, so the queue
    never says 会社名が表記揺れ of two names now written the same, nor 99 % of kartes that no
    longer share anything. The new ones are kept on the pair as `pair.current` for
    `services.pairs_keep_current`, which saves them so the queue's order and score bands
    follow. Uses the pair's loaded kartes and their companies (select them with the pair)."""
    if pair.status != DuplicatePair.Status.OPEN or (
        max(pair.a.updated_at, pair.b.updated_at) <= pair.found_at
    ):
        return pair.score, [c for c in pair.reasons if c in match.REASONS], False
    now = match.score_pair(
        match.record_keys(match.customer_record(pair.a)),
        match.record_keys(match.customer_record(pair.b)),
    )
    pair.current = (round(now.score, 4), list(now.reasons))
    return pair.current[0], pair.current[1], True


def scan_latest() -> ScanRun | None:
    return ScanRun.objects.select_related("started_by").order_by("-created_at", "-id").first()


def scan_get(pk: int) -> ScanRun:
    try:
        return ScanRun.objects.select_related("started_by").get(pk=pk)
    except (ScanRun.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


# --- Comparing kartes side by side -------------------------------------------------------------


@dataclass
class CompareRow:
    key: str
    label: str
    cells: list[str]
    ids: list[int]
    differs: bool
    combinable: bool = False
    result: str = ""
    picked: Any = None


@dataclass
class Comparison:
    kartes: list[Customer]
    rows: list[CompareRow]
    counts: dict[int, dict[str, int]]
    count_labels: list[str] = field(default_factory=list)
    hidden_sensitive: int = 0

    def count_rows(self) -> list[tuple[str, list[int], int]]:
        """(kind of record, count per karte, total) — the total is what the survivor has after
        a merge."""
        rows = []
        for label in self.count_labels:
            numbers = [self.counts[c.pk].get(label, 0) for c in self.kartes]
            rows.append((label, numbers, sum(numbers)))
        return rows


def kartes_for_merge(user: User, ids: list[int]) -> list[Customer]:
    """The kartes in the given order, each one the user may change, else 404."""
    from enishi.core.permissions import can_write

    if not can_write(user):
        raise Http404
    found = {
        c.pk: c
        for c in customer_visible(user)
        .filter(pk__in=ids)
        .select_related("owner", "team", "company", "parent")
        .prefetch_related("tags")
    }
    if len(found) != len(set(ids)):
        rule = visibility_q(user)
        hidden = Customer.objects.filter(pk__in=set(ids) - set(found), deleted_at__isnull=False)
        gone = (hidden if rule is None else hidden.filter(rule)).first()
        if gone is not None:  # merged or put in the trash since the list was read
            raise KarteGoneError(gone_message(gone, user))
        raise Http404
    return [found[pk] for pk in ids]


def _display_value(customer: Customer, group: FieldGroup, visible: set[int]) -> str:
    if group.key == "name":
        return customer.name
    if group.key == "address":
        parts = []
        if customer.postal_code:
            parts.append(f"〒{customer.postal_code}")
        if customer.address:
            parts.append(customer.address)
        return " ".join(parts)
    name = group.fields[0]
    value = getattr(customer, name)
    if name in ("company", "parent"):
        if value is None:
            return ""
        return value.name if value.pk in visible else _("(a karte you cannot see)")
    if name == "owner":
        return value.label if value is not None else ""
    if name == "contact_permissions":
        from enishi.customers.forms import PERMISSION_LABELS

        perms = value or {}
        return " ".join(
            f"{label} {'○' if perms[ch] else '×'}"
            for ch, label in PERMISSION_LABELS.items()
            if ch in perms
        )
    if hasattr(customer, f"get_{name}_display") and value not in ("", None):
        return str(getattr(customer, f"get_{name}_display")())
    if isinstance(value, bool):
        return _("Yes") if value else ""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return house_style.datetime_styled(value, house_style.current().dates)
    if isinstance(value, datetime.date):
        return house_style.date_styled(value, house_style.current().dates)
    return str(value)


def _same_key(group: FieldGroup, shown: str) -> str:
    """What makes two values the same: 090-1234-5678 and 09012345678 are one number."""
    if not shown:
        return ""
    if group.key in ("phone", "mobile", "fax"):
        return phone_key(shown)
    if group.key in ("email", "email_alt"):
        return normalize.email_key(shown)
    return shown


def _groups_filled_by(plan) -> set[str]:
    """Groups the merge fills although no karte shows a value (e.g. notes receiving a phone
    that had no free field)."""
    return {
        g.key
        for g in FIELD_GROUPS
        if any(is_filled(plan.values.get(Customer._meta.get_field(f).attname)) for f in g.fields)
    }


def comparison(user: User, kartes: list[Customer], *, plan=None) -> Comparison:
    """Every field of these kartes side by side (rows where none has a value left out),
    differences flagged, the custom fields the user may see, and the related records'
    counts. With a merge `plan`, each row also carries the value after the merge."""
    visible = customer_visible_ids(
        user, [c.company_id for c in kartes] + [c.parent_id for c in kartes]
    )
    rows: list[CompareRow] = []
    result_groups = _groups_filled_by(plan) if plan is not None else set()
    for group in FIELD_GROUPS:
        cells = [_display_value(c, group, visible) for c in kartes]
        if not any(cells) and group.key not in result_groups:
            continue
        rows.append(
            CompareRow(
                key=group.key,
                label=group.title,
                cells=cells,
                ids=[c.pk for c in kartes],
                differs=len({_same_key(group, cell) for cell in cells}) > 1,
                combinable=group.combinable,
            )
        )
    tag_cells = [join_list(sorted(t.name for t in c.tags.all())) for c in kartes]
    if any(tag_cells):
        rows.append(
            CompareRow(
                key="tags",
                label=str(Customer._meta.get_field("tags").verbose_name),
                cells=tag_cells,
                ids=[c.pk for c in kartes],
                differs=len(set(tag_cells)) > 1,
            )
        )
    definitions = custom_definitions(user)
    hidden = 0
    keys: dict[str, None] = {}
    for c in kartes:
        for key, value in (c.custom_fields or {}).items():
            if is_filled(value):
                keys.setdefault(key, None)
    for key in keys:
        if key not in definitions and not can_view_sensitive(user):
            hidden += 1
            continue
        definition = definitions.get(key)
        cells = [custom_display(definition, (c.custom_fields or {}).get(key)) for c in kartes]
        rows.append(
            CompareRow(
                key=f"cf:{key}",
                label=definition.label if definition is not None else key,
                cells=cells,
                ids=[c.pk for c in kartes],
                differs=len(set(cells)) > 1,
            )
        )
    if plan is not None:
        _with_result(rows, plan, definitions, visible)
    counts = related_counts([c.pk for c in kartes])
    labels = sorted({label for per in counts.values() for label in per})
    return Comparison(
        kartes=kartes, rows=rows, counts=counts, count_labels=labels, hidden_sensitive=hidden
    )


def _with_result(rows: list[CompareRow], plan, definitions, visible: set[int]) -> None:
    """Fill each row's value after the merge from the plan."""
    after = Customer(kind=plan.survivor.kind)
    for attname, value in plan.values.items():
        setattr(after, attname, value)
    by_id = {c.pk: c for c in plan.kartes}
    for relation in ("company", "parent", "owner", "team"):
        raw = getattr(after, f"{relation}_id")
        source = next((c for c in plan.kartes if getattr(c, f"{relation}_id") == raw), None)
        if raw is not None and source is not None:
            after._state.fields_cache[relation] = getattr(source, relation)
    for row in rows:
        row.picked = plan.picked.get(row.key)
        if row.key == "tags":
            row.result = join_list(sorted(t.name for t in plan.tags))
        elif row.key.startswith("cf:"):
            key = row.key[3:]
            row.result = custom_display(definitions.get(key), plan.custom.get(key))
        elif row.key in GROUPS_BY_KEY:
            row.result = _display_value(after, GROUPS_BY_KEY[row.key], visible)
        if row.picked not in by_id and row.picked != "both":
            row.picked = None


# --- Merges ----------------------------------------------------------------------------------------


def merges_visible(user: User) -> QuerySet[Merge]:
    """Merges whose surviving karte the user may see, whatever became of it since: merged in
    turn into another karte (乙 → 甲, then 甲 → 丙) or put in the trash, the merge into it
    stays on record and findable."""
    if not role_of(user):
        return Merge.objects.none()
    rule = visibility_q(user)
    survivors = Customer.objects.all() if rule is None else Customer.objects.filter(rule)
    return Merge.objects.filter(survivor__in=survivors).select_related(
        "actor", "undone_by", "survivor"
    )


def merge_get(user: User, pk: int) -> Merge:
    try:
        return merges_visible(user).get(pk=pk)
    except (Merge.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def merges_into(customer: Customer) -> list[Merge]:
    """Merges into this karte (newest first), for the karte's "merged from …" note. The caller
    has checked that the user may see the karte."""
    return list(
        Merge.objects.filter(survivor=customer)
        .select_related("actor", "undone_by")
        .prefetch_related("members")
        .order_by("-created_at", "-id")[:20]
    )


def merged_members(merge: Merge) -> list[MergedCustomer]:
    return list(merge.members.select_related("customer").order_by("position"))


def _stored_display(user: User, name: str, value: Any, visible: set[int]) -> str:
    """A value as stored in a merge record (ids for links, ISO dates) as people read it."""
    if value in (None, "", {}, []):
        return ""
    if name == "owner":
        found = User.objects.filter(pk=value).first()
        return found.label if found is not None else str(value)
    if name == "team":
        from enishi.accounts.models import Team

        found = Team.objects.filter(pk=value).first()
        return found.name if found is not None else str(value)
    if name in ("company", "parent"):
        if value not in visible:
            return _("(a karte you cannot see)")
        return Customer.objects.filter(pk=value).values_list("name", flat=True).first() or ""
    model_field = Customer._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dict):
        return join_list(f"{k}: {'○' if v else '×'}" for k, v in value.items())
    return str(value)


def merge_field_rows(user: User, merge: Merge) -> list[tuple[str, str, str]]:
    """(field, before, after) of the survivor's fields the merge changed."""
    ids = [
        v
        for name, pair in merge.fields.items()
        if name in ("company", "parent")
        for v in pair
        if isinstance(v, int)
    ]
    visible = customer_visible_ids(user, ids)
    rows = []
    definitions = custom_definitions(user)
    for name, pair in merge.fields.items():
        if name == "custom_fields":
            for key, (before, after) in pair.items():
                if key not in definitions:
                    continue
                definition = definitions[key]
                rows.append(
                    (
                        definition.label,
                        custom_display(definition, before),
                        custom_display(definition, after),
                    )
                )
            continue
        label = capfirst(str(Customer._meta.get_field(name).verbose_name))
        rows.append(
            (
                label,
                _stored_display(user, name, pair[0], visible),
                _stored_display(user, name, pair[1], visible),
            )
        )
    return rows


def merge_moved_rows(merge: Merge) -> list[tuple[str, int]]:
    from enishi.quality.merge import customer_relations

    labels = {r.key: r.label for r in customer_relations()}
    return [(labels.get(key, key), n) for key, n in merge.counts.items()]


def merge_history(merge: Merge, *, limit: int = 100) -> list:
    """The merge's (and its undo's) history entries of kartes, not of each moved record."""
    from enishi.history.models import HistoryEntry

    return list(
        HistoryEntry.objects.filter(
            batch__in=[f"merge:{merge.pk}", f"unmerge:{merge.pk}"],
            model__in=["customers.customer", "quality.merge"],
        )
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


def merged_karte_history(member: MergedCustomer, *, limit: int = 50) -> list:
    """A merged karte's own history, kept and shown from the merge record."""
    from enishi.history.selectors import history_for_customer

    return list(history_for_customer(customer_id=member.customer_id)[:limit])


def merged_redirect(user: User, pk: int) -> tuple[Customer, MergedCustomer] | None:
    """For the URL of a merged karte: the survivor to go to, when the user could see the
    merged karte and may see the survivor (else nothing, and the page is a 404)."""
    from enishi.quality.merge import merged_into

    if not 0 < pk < 2**63:  # a URL may carry any number of digits
        return None
    found = merged_into(pk)
    if found is None:
        return None
    survivor, member = found
    rule = visibility_q(user)
    merged = Customer.objects.filter(pk=pk)
    if rule is not None:
        merged = merged.filter(rule)
    if not merged.exists() or not customer_visible(user).filter(pk=survivor.pk).exists():
        return None
    return survivor, member


# --- "似たお客様がいます" ----------------------------------------------------------------------------

# The form fields whose typing asks for the hint (the form's htmx triggers)…
HINT_TRIGGER_FIELDS = (
    "name",
    "family_name",
    "given_name",
    "name_kana",
    "phone",
    "mobile",
    "email",
    "email_alt",
    "birthday",
)
# …and every field the hint reads; the address parts are joined.
HINT_FIELDS = ("kind", *HINT_TRIGGER_FIELDS, "postal_code", "corporate_number")


def similar_to_typed(user: User, post) -> list[tuple[Customer, list[str], float]]:
    """Kartes the user may see that look like the half-typed new-customer form `post`:
    (karte, reason labels, score), best first, at most five. Used by the htmx hint and by
    the form re-shown after an error, so the hint does not vanish."""
    from enishi.quality.similar import similar_customers

    def typed(name: str, limit: int) -> str:
        # Half-typed input is no error here; NUL cannot even be compared on PostgreSQL.
        return post.get(name, "")[:limit].replace("\x00", "")

    data = {name: typed(name, 300) for name in HINT_FIELDS}
    data["address"] = "".join(
        typed(part, 200) for part in ("prefecture", "city", "town", "street", "building")
    )
    company_id = post.get("company", "")
    if company_id.isdigit():
        company = customer_visible(user).filter(pk=int(company_id)).first()
        if company is not None:
            data["company"] = company.name
            data["company_kana"] = company.name_kana
    identifying = ("name", "family_name", "given_name", "name_kana", "phone", "mobile", "email")
    if not any(data.get(n) for n in (*identifying, "email_alt")):
        return []
    found = similar_customers(user, data, limit=5)
    return [(customer, reason_labels(list(m.reasons)), m.score) for customer, m in found]
