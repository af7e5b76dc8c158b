"""Merging kartes (名寄せ); undoing a merge is in `merge_undo.py`.

`merge_plan` works out what a merge would do (the value of every field, the phones and
e-mails kept, what moves) without writing anything: the merge page shows it as the preview.
`customer_merge` carries the plan out in one transaction on locked rows; `customer_merge_undo`
puts everything back, or refuses and says what changed since.

What moves: every row of every model that points at a merged karte — found by walking the
models' foreign keys and many-to-many fields to `Customer`, so a model added later moves too
without anyone remembering to list it here. Persons employed at a merged company and its
subsidiaries are kartes themselves: they get a history entry, a new version and a fresh
search document. The merged kartes stay in the database in the "merged" state (hidden like the
trash, pointing at the survivor), so their own history is kept and the merge can be undone.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enishi.accounts.models import User
from enishi.core.later import Message, join_list, later
from enishi.core.permissions import can_view_sensitive, can_write
from enishi.core.records import StaleVersionError
from enishi.customers import fields as custom_fields
from enishi.customers.models import Customer, FieldDefinition, Tag
from enishi.customers.selectors import customer_visible, visibility_q
from enishi.customers.services import HISTORY_FIELDS, apply_derived_fields, customers_reindex
from enishi.history.models import HistoryEntry, Ref
from enishi.history.services import current_batch, history_batch, history_record, snapshot
from enishi.quality import normalize
from enishi.quality.models import DuplicatePair, Merge, MergedCustomer

MAX_MERGE = 10
"""At most this many kartes in one merge (a survivor and nine others)."""

BOTH = "both"
KEEP_PHONES = "keep_phones"
KEEP_EMAILS = "keep_emails"
CUSTOM_PREFIX = "cf:"


# --- Fields -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldGroup:
    """Fields chosen together: a name's parts, or an address's, come from one karte."""

    key: str
    fields: tuple[str, ...]
    label: Any = None
    combinable: bool = False  # long texts: BOTH keeps every karte's text

    @property
    def title(self) -> str:
        if self.label is not None:
            return capfirst(str(self.label))
        return capfirst(str(Customer._meta.get_field(self.fields[0]).verbose_name))


def _group(key: str, *fields: str, label: Any = None, combinable: bool = False) -> FieldGroup:
    return FieldGroup(key, fields or (key,), label, combinable)


FIELD_GROUPS: tuple[FieldGroup, ...] = (
    _group("name", "name", "family_name", "given_name", label=gettext_lazy("Name")),
    _group("name_kana"),
    _group("code"),
    _group("legal_name"),
    _group("corporate_number"),
    _group("company"),
    _group("department"),
    _group("title"),
    _group("is_key_person"),
    _group("is_decision_maker"),
    _group("phone"),
    _group("mobile"),
    _group("fax"),
    _group("email"),
    _group("email_alt"),
    _group(
        "address",
        "postal_code",
        "prefecture",
        "city",
        "town",
        "street",
        "building",
        label=gettext_lazy("Address"),
    ),
    _group("birthday"),
    _group("gender"),
    _group("industry"),
    _group("employees"),
    _group("founded_on"),
    _group("fiscal_month"),
    _group("website"),
    _group("sns"),
    _group("parent"),
    _group("owner"),
    _group("team"),
    _group("status"),
    _group("rank"),
    _group("acquisition_channel"),
    _group("contact_permissions"),
    _group("payment_terms"),
    _group("needs", combinable=True),
    _group("preferences", combinable=True),
    _group("notes", combinable=True),
)
GROUPS_BY_KEY = {g.key: g for g in FIELD_GROUPS}
MERGED_FIELDS = tuple(f for g in FIELD_GROUPS for f in g.fields)
# Slots a second phone or e-mail can go to when "keep both" is chosen.
PHONE_SLOTS = ("phone", "mobile")
EMAIL_SLOTS = ("email", "email_alt")


def is_filled(value: Any) -> bool:
    return value not in (None, "", {}, [], False)


def _group_value(customer: Customer, group: FieldGroup) -> tuple[Any, ...]:
    return tuple(getattr(customer, Customer._meta.get_field(f).attname) for f in group.fields)


def _group_filled(customer: Customer, group: FieldGroup) -> bool:
    return any(is_filled(v) for v in _group_value(customer, group))


def raw_value(customer: Customer, name: str) -> Any:
    """The stored value of a field in JSON form: ids for foreign keys, ISO text for dates."""
    value = getattr(customer, Customer._meta.get_field(name).attname)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def set_raw_value(customer: Customer, name: str, value: Any) -> None:
    model_field = Customer._meta.get_field(name)
    if isinstance(model_field, models.DateField) and isinstance(value, str):
        value = parse_date(value)
    setattr(customer, model_field.attname, value)


# --- Relations to kartes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """A foreign key or many-to-many field of some model that points at `Customer`."""

    model: type[models.Model]
    field: models.Field

    @property
    def key(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field.name}"

    @property
    def many(self) -> bool:
        return self.field.many_to_many

    @property
    def is_karte(self) -> bool:
        """Contact persons (`company`) and subsidiaries (`parent`): kartes themselves."""
        return self.model is Customer

    @property
    def label(self) -> str:
        special = {
            "customers.customer.company": gettext_lazy("Contact persons"),
            "customers.customer.parent": gettext_lazy("Subsidiaries"),
        }
        if self.key in special:
            return str(special[self.key])
        if self.many:
            return capfirst(
                _("%(things)s (as %(role)s)")
                % {
                    "things": self.model._meta.verbose_name_plural,
                    "role": self.field.verbose_name,
                }
            )
        return capfirst(str(self.model._meta.verbose_name_plural))

    def through_names(self) -> tuple[type[models.Model], str, str]:
        """(through model, column of the owning row, column of the karte)."""
        through = self.field.remote_field.through
        return (
            through,
            through._meta.get_field(self.field.m2m_field_name()).attname,
            through._meta.get_field(self.field.m2m_reverse_field_name()).attname,
        )


# Rows that must not follow a merge: the duplicates queue and the merge records themselves.
NOT_MOVED = frozenset(
    {
        "quality.duplicatepair.a",
        "quality.duplicatepair.b",
        "quality.merge.survivor",
        "quality.mergedcustomer.customer",
    }
)


def customer_relations() -> list[Relation]:
    """Every foreign key and many-to-many field to Customer in every installed app."""
    found = []
    for model in apps.get_models():
        for model_field in [*model._meta.local_fields, *model._meta.local_many_to_many]:
            remote = getattr(model_field, "remote_field", None)
            if remote is None or remote.model is not Customer:
                continue
            relation = Relation(model, model_field)
            if relation.key not in NOT_MOVED:
                found.append(relation)
    return sorted(found, key=lambda r: r.key)


def _live(model: type[models.Model]) -> Q:
    """Rows not in the trash, for models that have one."""
    names = {f.name for f in model._meta.get_fields()}
    return Q(deleted_at__isnull=True) if "deleted_at" in names else Q()


def related_counts(ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{karte id: {relation label: rows not in the trash}} for the comparison and the preview.

    One grouped query per relation, whatever the number of kartes."""
    ids = list(ids)
    out: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for relation in customer_relations():
        if relation.many:
            through, _own, target = relation.through_names()
            rows = (
                through.objects.filter(**{f"{target}__in": ids})
                .values(target)
                .annotate(n=Count("pk"))
                .values_list(target, "n")
            )
        else:
            column = relation.field.attname
            rows = (
                relation.model._base_manager.filter(_live(relation.model))
                .filter(**{f"{column}__in": ids})
                .values(column)
                .annotate(n=Count("pk"))
                .values_list(column, "n")
            )
        for pk, n in rows:
            out[pk][relation.label] = n
    return out


def relations_by_key() -> dict[str, Relation]:
    return {r.key: r for r in customer_relations()}


# --- The plan ---------------------------------------------------------------------------------


@dataclass
class MergePlan:
    survivor: Customer
    others: list[Customer]
    values: dict[str, Any]  # field -> value after the merge (attnames' values for FKs)
    custom: dict[str, Any]  # the survivor's custom_fields after the merge
    picked: dict[str, Any]  # choice key -> the karte id (or BOTH) that gives the value
    keep_phones: bool
    keep_emails: bool
    tags: list[Tag]
    # Kept for later (`core.later`): the merge record shows them in each reader's language.
    remarks: list[Message] = field(default_factory=list)
    codes_given_up: dict[int, str] = field(default_factory=dict)

    @property
    def kartes(self) -> list[Customer]:
        return [self.survivor, *self.others]


def _by_id(kartes: list[Customer]) -> dict[int, Customer]:
    return {c.pk: c for c in kartes}


def _choice_errors(message: str) -> ValidationError:
    return ValidationError({"choices": [message]})


def _check_kartes(survivor: Customer, others: list[Customer]) -> None:
    ids = [survivor.pk, *(o.pk for o in others)]
    if not others:
        raise ValidationError(_("Choose at least two kartes to merge."))
    if len(set(ids)) != len(ids):
        raise ValidationError(_("The same karte is listed twice."))
    if len(ids) > MAX_MERGE:
        raise ValidationError(
            _("At most %(count)s kartes can be merged at once.") % {"count": MAX_MERGE}
        )
    for other in others:
        if other.kind != survivor.kind:
            raise ValidationError(
                _(
                    "Only kartes of the same kind can be merged: %(a)s is a %(kind_a)s, "
                    "%(b)s is a %(kind_b)s."
                )
                % {
                    "a": survivor.name,
                    "kind_a": survivor.get_kind_display(),
                    "b": other.name,
                    "kind_b": other.get_kind_display(),
                }
            )


def phone_key(value: str) -> str:
    try:
        return normalize.parse_phone(value).e164
    except ValidationError:
        return "".join(ch for ch in normalize.nfkc(value) if ch.isdigit())


def _is_mobile(value: str) -> bool:
    key = phone_key(value)
    return key.startswith(("+8170", "+8180", "+8190", "+8160"))


def _combine(texts: list[tuple[Customer, str]], survivor: Customer) -> str:
    parts: list[str] = []
    seen: set[str] = set()
    for customer, text in texts:
        text = text.strip()
        if not text or text in seen:
            continue
        seen.add(text)
        if customer.pk == survivor.pk or not parts:
            parts.append(text)
        else:
            parts.append(_("[from %(name)s]") % {"name": customer.name} + "\n" + text)
    return "\n\n".join(parts)


def _custom_keys(kartes: list[Customer]) -> list[str]:
    keys: dict[str, None] = {}
    for definition in FieldDefinition.objects.all():
        keys[definition.key] = None
    present = {k for c in kartes for k, v in (c.custom_fields or {}).items() if is_filled(v)}
    return [k for k in keys if k in present] + sorted(present - set(keys))


def merge_plan(
    *,
    actor: User | None,
    survivor: Customer,
    others: list[Customer],
    choices: dict[str, Any] | None = None,
) -> MergePlan:
    """What merging `others` into `survivor` with these choices gives. Writes nothing.

    `choices`: {group key or "cf:<key>": karte id, or "both" for a long text} and
    "keep_phones" / "keep_emails" (true: phones / e-mails of the others that differ go to a
    free slot, or into the notes with a label when there is none). A group left out takes the
    survivor's value when it has one, else the first other karte's.
    """
    _check_kartes(survivor, others)
    choices = dict(choices or {})
    kartes = [survivor, *others]
    by_id = _by_id(kartes)
    keep_phones = bool(choices.pop(KEEP_PHONES, False))
    keep_emails = bool(choices.pop(KEEP_EMAILS, False))
    sensitive_ok = actor is None or can_view_sensitive(actor)
    sensitive_keys = set(
        FieldDefinition.objects.filter(sensitive=True).values_list("key", flat=True)
    )
    errors: list[str] = []

    def source_of(key: str, raw: Any, filled) -> Any:
        if raw is None:
            if filled(survivor):
                return survivor.pk
            return next((c.pk for c in others if filled(c)), survivor.pk)
        if raw == BOTH:
            return BOTH
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            pk = None
        if pk not in by_id:
            group = GROUPS_BY_KEY.get(key)
            errors.append(
                _("The choice for “%(field)s” must be one of the kartes being merged.")
                % {"field": group.title if group is not None else key}
            )
            return survivor.pk
        return pk

    for key in choices:
        if key.startswith(CUSTOM_PREFIX):
            if key[len(CUSTOM_PREFIX) :] in sensitive_keys and not sensitive_ok:
                errors.append(_("Your role may not choose values of sensitive fields."))
        elif key not in GROUPS_BY_KEY:
            errors.append(_("There is no field “%(field)s” to choose.") % {"field": key})
        elif choices[key] == BOTH and not GROUPS_BY_KEY[key].combinable:
            errors.append(
                _("“%(field)s” cannot keep both values: choose one karte.")
                % {"field": GROUPS_BY_KEY[key].title}
            )

    values: dict[str, Any] = {}
    picked: dict[str, Any] = {}
    for group in FIELD_GROUPS:
        source = source_of(
            group.key, choices.get(group.key), lambda c, g=group: _group_filled(c, g)
        )
        picked[group.key] = source
        if source == BOTH:
            values[group.fields[0]] = _combine(
                [(c, getattr(c, group.fields[0]) or "") for c in kartes], survivor
            )
            continue
        giver = by_id[source]
        for name, value in zip(group.fields, _group_value(giver, group), strict=True):
            values[Customer._meta.get_field(name).attname] = value
    _keep_name_parts(values, kartes)

    custom = dict(survivor.custom_fields or {})
    for key in _custom_keys(kartes):
        choice_key = CUSTOM_PREFIX + key
        explicit = choices.get(choice_key) if (sensitive_ok or key not in sensitive_keys) else None
        source = source_of(
            choice_key, explicit, lambda c, k=key: is_filled((c.custom_fields or {}).get(k))
        )
        if source == BOTH:
            errors.append(_("A custom field takes the value of one karte."))
            continue
        picked[choice_key] = source
        value = (by_id[source].custom_fields or {}).get(key)
        if is_filled(value):
            custom[key] = value
        else:
            custom.pop(key, None)
    if errors:
        raise _choice_errors(" ".join(dict.fromkeys(errors)))

    plan = MergePlan(
        survivor=survivor,
        others=others,
        values=values,
        custom=custom,
        picked=picked,
        keep_phones=keep_phones,
        keep_emails=keep_emails,
        tags=_union_tags(kartes),
    )
    if keep_phones:
        _keep_all(plan, PHONE_SLOTS, phone_key, prefer_mobile=True)
    if keep_emails:
        _keep_all(plan, EMAIL_SLOTS, normalize.email_key, prefer_mobile=False)
    _untangle(plan)
    _codes(plan)
    return plan


def _spaceless(text: str) -> str:
    return "".join(normalize.nfkc(text or "").split())


def _keep_name_parts(values: dict[str, Any], kartes: list[Customer]) -> None:
    """A name chosen from a karte that has it in one piece (田中一郎) keeps the family and given
    names another karte has for exactly that name (田中 / 一郎): they would be lost for nothing
    (the vCard's N, sorting by family name)."""
    if values.get("family_name") or values.get("given_name") or not values.get("name"):
        return
    wanted = _spaceless(values["name"])
    for karte in kartes:
        if (karte.family_name or karte.given_name) and _spaceless(
            f"{karte.family_name}{karte.given_name}"
        ) == wanted:
            values["family_name"], values["given_name"] = karte.family_name, karte.given_name
            return


def _union_tags(kartes: list[Customer]) -> list[Tag]:
    tags: dict[int, Tag] = {}
    for customer in kartes:
        for tag in customer.tags.all():
            tags.setdefault(tag.pk, tag)
    return sorted(tags.values(), key=lambda t: t.name)


def _keep_all(plan: MergePlan, slots: tuple[str, str], key, *, prefer_mobile: bool) -> None:
    """Phones or e-mails of every karte that the result does not hold yet go to a free slot;
    with none free, into the notes with a label saying where they came from."""
    held = {key(plan.values[s]) for s in slots if plan.values[s]}
    for customer in plan.kartes:
        for slot in slots:
            value = getattr(customer, slot)
            if not value or key(value) in held:
                continue
            held.add(key(value))
            order = list(slots)
            if prefer_mobile:
                # A mobile number may stand in the phone field; a landline never goes into
                # the mobile field (the notes take it instead).
                order = ["mobile", "phone"] if _is_mobile(value) else ["phone"]
            free = next((s for s in order if not plan.values[s]), None)
            if free is not None:
                plan.values[free] = value
                continue
            label = Customer._meta.get_field(slot).verbose_name
            line = _("%(field)s from %(name)s (no free field): %(value)s") % {
                "field": label,
                "name": customer.name,
                "value": value,
            }
            notes = plan.values["notes"]
            plan.values["notes"] = f"{notes}\n{line}" if notes else line
            plan.remarks.append(
                later(
                    gettext_lazy(
                        "There is no free field for the %(field)s %(value)s of %(name)s: it is "
                        "added to the notes."
                    ),
                    field=label,
                    value=value,
                    name=customer.name,
                )
            )


def _untangle(plan: MergePlan) -> None:
    """The survivor cannot belong to, or be a subsidiary of, a karte merged into it."""
    involved = {c.pk for c in plan.kartes}
    for name, remark in (
        (
            "company_id",
            gettext_lazy("The survivor cannot belong to a karte merged into it: company cleared."),
        ),
        (
            "parent_id",
            gettext_lazy(
                "The survivor cannot be a subsidiary of a karte merged into it: parent cleared."
            ),
        ),
    ):
        if plan.values.get(name) in involved:
            plan.values[name] = None
            plan.remarks.append(later(remark))


def _codes(plan: MergePlan) -> None:
    """Customer codes are unique: the merged kartes give theirs up (the record keeps them)."""
    for other in plan.others:
        if not other.code:
            continue
        plan.codes_given_up[other.pk] = other.code
        if plan.values["code"] != other.code:
            plan.remarks.append(
                later(
                    gettext_lazy(
                        "The customer code %(code)s of %(name)s will no longer be used: the "
                        "merge record keeps it, and undoing the merge gives it back."
                    ),
                    code=other.code,
                    name=other.name,
                )
            )


# --- Merging ----------------------------------------------------------------------------------


def lock_kartes(ids: list[int]) -> dict[int, Customer]:
    rows = (
        Customer.objects.select_for_update(of=("self",))
        .select_related("owner", "team", "company", "parent")
        .filter(pk__in=sorted(ids))
        .order_by("pk")
    )
    return {c.pk: c for c in rows}


class KarteGoneError(ValidationError):
    """A karte of the merge was merged into another or put in the trash a moment ago."""


def gone_message(customer: Customer, actor: User | None) -> str:
    """Why a karte of a merge is no longer there, naming where it went only when the actor
    may see that karte."""
    later = (
        MergedCustomer.objects.filter(customer=customer, active=True)
        .select_related("merge")
        .first()
    )
    if later is None:
        return _("%(name)s has just been put in the trash: nothing was merged.") % {
            "name": customer.name
        }
    if actor is None or customer_visible(actor).filter(pk=later.merge.survivor_id).exists():
        return _(
            "%(name)s has just been merged into %(other)s (merge #%(merge)s): nothing "
            "was merged now."
        ) % {
            "name": customer.name,
            "other": later.merge.survivor_name,
            "merge": later.merge_id,
        }
    return _("%(name)s has just been merged into a karte you cannot see: nothing was merged.") % {
        "name": customer.name
    }


def check_may_change(actor: User | None, ids: list[int], *, merged: list[int] = ()) -> None:
    """The actor must be able to change every karte involved (merged ones are hidden, so for
    them the visibility rule is applied without the trash filter)."""
    if actor is None:
        return
    if not can_write(actor):
        raise PermissionDenied
    live = [pk for pk in ids if pk not in merged]
    if customer_visible(actor).filter(pk__in=live).count() != len(live):
        raise PermissionDenied
    if merged:
        rule = visibility_q(actor)
        qs = Customer.objects.filter(pk__in=merged)
        if rule is not None:
            qs = qs.filter(rule)
        if qs.count() != len(merged):
            raise PermissionDenied


def customer_merge(
    *,
    actor: User | None,
    survivor: Customer,
    others: list[Customer],
    choices: dict[str, Any] | None = None,
    via: str = HistoryEntry.Via.UI,
    versions: dict[int, int] | None = None,
) -> Merge:
    """Merge `others` into `survivor` (see `merge_plan` for `choices`).

    `versions` ({karte id: version read}) must name every karte when given; a stale one raises
    StaleVersionError and nothing is written. The actor must be able to change every karte.
    """
    ids = [survivor.pk, *(o.pk for o in others)]
    _check_kartes(survivor, others)
    with transaction.atomic():
        # The rule alone first (a karte merged or deleted a moment ago is hidden, and must be
        # named as that, not as one the actor may not change), the state under the lock.
        check_may_change(actor, ids, merged=ids)
        locked = lock_kartes(ids)
        if len(locked) != len(ids):
            raise ValidationError(_("One of these kartes was deleted or merged meanwhile."))
        for pk in ids:
            if locked[pk].deleted_at is not None:
                raise KarteGoneError(gone_message(locked[pk], actor))
        if versions is not None:
            missing = [pk for pk in ids if pk not in versions]
            if missing:
                raise ValidationError(
                    {"versions": [_("Send the version you read of every karte being merged.")]}
                )
            for pk in ids:
                if locked[pk].version != versions[pk]:
                    raise StaleVersionError(locked[pk])
        plan = merge_plan(
            actor=actor,
            survivor=locked[survivor.pk],
            others=[locked[o.pk] for o in others],
            choices=choices,
        )
        merge = Merge.objects.create(
            survivor=plan.survivor,
            actor=actor if actor is not None and actor.pk else None,
            via=via,
            # The name the survivor has after the merge (a name picked from another karte).
            survivor_name=(plan.values.get("name") or plan.survivor.name)[:200],
            merged_names=_names(plan.others)[:1000],
            choices=_stored_choices(plan),
        )
        with history_batch(f"merge:{merge.pk}"):
            _carry_out(merge, plan, actor=actor, via=via)
    return merge


def _names(kartes: Iterable[Customer]) -> str:
    return "、".join(f"{c.name} (#{c.pk})" for c in kartes)


def _stored_choices(plan: MergePlan) -> dict[str, Any]:
    return {**plan.picked, KEEP_PHONES: plan.keep_phones, KEEP_EMAILS: plan.keep_emails}


def _carry_out(merge: Merge, plan: MergePlan, *, actor: User | None, via: str) -> None:
    now = timezone.now()
    survivor, others = plan.survivor, plan.others
    other_ids = [o.pk for o in others]
    involved = [survivor.pk, *other_ids]

    # The merged kartes give up their codes first: the survivor may take one of them.
    for position, other in enumerate(others):
        MergedCustomer.objects.create(
            merge=merge,
            customer=other,
            name=other.name[:200],
            position=position,
            code_before=other.code,
        )
    Customer.objects.filter(pk__in=other_ids).exclude(code="").update(code="")

    # The survivor's fields, custom values and tags.
    before = snapshot(survivor, HISTORY_FIELDS)
    raw_before = {name: raw_value(survivor, name) for name in MERGED_FIELDS}
    custom_before = dict(survivor.custom_fields or {})
    tags_before = {t.pk for t in survivor.tags.all()}
    for attname, value in plan.values.items():
        setattr(survivor, attname, value)
    survivor.custom_fields = plan.custom
    for relation in ("owner", "team", "company", "parent"):
        # The cached related object would otherwise win over the id just set.
        if relation in survivor._state.fields_cache:
            del survivor._state.fields_cache[relation]
    _refuse_loop(survivor, involved)
    apply_derived_fields(survivor)
    added = [t for t in plan.tags if t.pk not in tags_before]
    survivor.tags.add(*added)
    fields_changed = {
        name: [raw_before[name], raw_value(survivor, name)]
        for name in MERGED_FIELDS
        if raw_before[name] != raw_value(survivor, name)
    }
    custom_changed = {
        key: [custom_before.get(key), plan.custom.get(key)]
        for key in set(custom_before) | set(plan.custom)
        if custom_before.get(key) != plan.custom.get(key)
    }
    if custom_changed:
        fields_changed["custom_fields"] = custom_changed
    survivor.version += 1
    survivor.updated_by = actor if actor is not None and actor.pk else None
    survivor.save()
    if survivor.is_company and before.get("name") != survivor.name:
        customers_reindex(survivor.contacts.all())
    changes = changes_of(before, snapshot(survivor, HISTORY_FIELDS))
    if changes:
        history_record(
            actor=actor,
            via=via,
            action=HistoryEntry.Action.MERGE,
            instance=survivor,
            customer_id=survivor.pk,
            changes=changes,
        )

    # Everything that pointed at a merged karte now points at the survivor.
    moved: dict[str, Any] = {}
    counts: dict[str, int] = {}
    names = {c.pk: c.name for c in plan.kartes}
    for relation in customer_relations():
        if relation.many:
            done, n = _move_many(relation, other_ids, survivor, names, actor, via)
        else:
            done, n = _move_fk(relation, other_ids, survivor, involved, names, actor, via, now)
        if n:
            moved[relation.key] = done
            counts[relation.key] = n

    # The merged kartes go into the merged state.
    for other in others:
        other.deleted_at = now
        other.version += 1
        other.updated_by = survivor.updated_by
        other.code = ""
        other.save(update_fields=["deleted_at", "version", "updated_by", "updated_at", "code"])

    DuplicatePair.objects.filter(
        a_id__in=involved, b_id__in=involved, status=DuplicatePair.Status.OPEN
    ).update(
        status=DuplicatePair.Status.MERGED, merge=merge, decided_at=now, decided_by=merge.actor
    )

    merge.fields = fields_changed
    merge.tags_added = [t.pk for t in added]
    merge.moved = moved
    merge.counts = counts
    merge.notes = [remark.stored for remark in plan.remarks]
    merge.moved_summary = moved_summary(counts)[:1000]
    merge.save()
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.MERGE,
        instance=merge,
        customer_id=survivor.pk,
        changes={
            "merged_names": [None, merge.merged_names],
            **({"moved_counts": [None, dict(counts)]} if counts else {}),
        },
    )
    for other in others:
        history_record(
            actor=actor,
            via=via,
            action=HistoryEntry.Action.MERGE,
            instance=merge,
            customer_id=other.pk,
            changes={"survivor_name": [None, f"{survivor.name} (#{survivor.pk})"]},
        )


def changes_of(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def _refuse_loop(survivor: Customer, involved: list[int]) -> None:
    """A subsidiary of a merged karte that is also above the survivor would make a loop."""
    ancestors: set[int] = set()
    node_id = survivor.parent_id
    while node_id is not None and node_id not in ancestors:
        ancestors.add(node_id)
        node_id = Customer.objects.filter(pk=node_id).values_list("parent_id", flat=True).first()
    clash = Customer.objects.filter(
        pk__in=ancestors, parent_id__in=[pk for pk in involved if pk != survivor.pk]
    ).first()
    if clash is not None:
        raise ValidationError(
            _(
                "%(name)s is both a parent of the surviving karte and a subsidiary of a karte "
                "being merged: change its parent company first."
            )
            % {"name": clash.name}
        )


def moved_summary(counts: dict[str, int]) -> str:
    labels = {r.key: r.label for r in customer_relations()}
    return join_list(
        _("%(what)s: %(count)s") % {"what": labels.get(key, key), "count": n}
        for key, n in counts.items()
    )


def history_rows(
    rows: list[tuple[models.Model, int | None, dict[str, list[Any]]]],
    *,
    actor: User | None,
    via: str,
    action: str,
    batch: str,
) -> None:
    """One history entry per moved record, written in bulk (a karte may have thousands)."""
    HistoryEntry.objects.bulk_create(
        [
            HistoryEntry(
                batch=batch,
                actor=actor if actor is not None and actor.pk else None,
                via=via,
                action=action,
                model=obj._meta.label_lower,
                object_id=obj.pk,
                customer_id=customer_id,
                object_repr=str(obj)[:200],
                changes=changes,
            )
            for obj, customer_id, changes in rows
        ],
        batch_size=500,
    )


def _customer_id_of(obj: models.Model, relation: Relation, survivor_id: int) -> int | None:
    if relation.is_karte:
        return obj.pk
    if relation.field.name == "customer":
        return survivor_id
    return getattr(obj, "customer_id", None)


def _move_fk(
    relation: Relation,
    other_ids: list[int],
    survivor: Customer,
    involved: list[int],
    names: dict[int, str],
    actor: User | None,
    via: str,
    now: datetime.datetime,
) -> tuple[dict[str, list[int]], int]:
    model, column = relation.model, relation.field.attname
    qs = model._base_manager.filter(**{f"{column}__in": other_ids})
    if relation.is_karte:
        qs = qs.exclude(pk__in=involved)
    rows = list(qs.values_list("pk", column))
    if not rows:
        return {}, 0
    by_source: dict[str, list[int]] = defaultdict(list)
    for pk, source in rows:
        by_source[str(source)].append(pk)
    ids = [pk for pk, _source in rows]
    update: dict[str, Any] = {column: survivor.pk}
    if any(f.name == "version" for f in model._meta.fields):
        update["version"] = F("version") + 1
    if relation.is_karte:
        update["updated_at"] = now
    try:
        with transaction.atomic():
            model._base_manager.filter(pk__in=ids).update(**update)
    except IntegrityError:
        raise ValidationError(
            _("%(what)s of these kartes cannot all belong to one karte: merge refused.")
            % {"what": relation.label}
        ) from None
    source_of = {pk: source for pk, source in rows}
    history = []
    for chunk_start in range(0, len(ids), 2000):
        for obj in model._base_manager.filter(pk__in=ids[chunk_start : chunk_start + 2000]):
            history.append(
                (
                    obj,
                    _customer_id_of(obj, relation, survivor.pk),
                    {
                        relation.field.name: [
                            Ref(names[source_of[obj.pk]], source_of[obj.pk]),
                            Ref(survivor.name, survivor.pk),
                        ]
                    },
                )
            )
    history_rows(
        history,
        actor=actor,
        via=via,
        action=HistoryEntry.Action.MERGE,
        batch=current_batch(),
    )
    if relation.is_karte:
        customers_reindex(Customer.objects.filter(pk__in=ids).select_related("company"))
    return dict(by_source), len(ids)


def _move_many(
    relation: Relation,
    other_ids: list[int],
    survivor: Customer,
    names: dict[int, str],
    actor: User | None,
    via: str,
) -> tuple[dict[str, list[list[int]]], int]:
    through, own, target = relation.through_names()
    rows = list(
        through.objects.filter(**{f"{target}__in": other_ids})
        .order_by("pk")
        .values_list("pk", own, target)
    )
    if not rows:
        return {}, 0
    owners = {owner for _pk, owner, _t in rows}
    already = set(
        through.objects.filter(**{target: survivor.pk, f"{own}__in": owners}).values_list(
            own, flat=True
        )
    )
    moved_rows, dropped = [], []
    for pk, owner, source in rows:
        if owner in already:
            dropped.append([owner, source])
        else:
            moved_rows.append([pk, source])
            already.add(owner)
    if dropped:
        through.objects.filter(
            **{f"{target}__in": other_ids, f"{own}__in": [o for o, _s in dropped]}
        ).exclude(pk__in=[pk for pk, _s in moved_rows]).delete()
    if moved_rows:
        through.objects.filter(pk__in=[pk for pk, _s in moved_rows]).update(**{target: survivor.pk})
    owner_model = relation.model
    source_by_owner = {owner: source for _pk, owner, source in rows}
    history = [
        (
            obj,
            getattr(obj, "customer_id", None),
            {relation.field.name: [names[source_by_owner[obj.pk]], survivor.name]},
        )
        for obj in owner_model._base_manager.filter(pk__in=owners)
    ]
    history_rows(
        history, actor=actor, via=via, action=HistoryEntry.Action.MERGE, batch=current_batch()
    )
    return {"moved": moved_rows, "dropped": dropped}, len(rows)


# --- Reads the pages need -------------------------------------------------------------------


def merged_into(pk: int) -> tuple[Customer, MergedCustomer] | None:
    """The karte a merged karte now lives in (following later merges), and its merge row."""
    first = (
        MergedCustomer.objects.filter(customer_id=pk, active=True).select_related("merge").first()
    )
    if first is None:
        return None
    seen = {pk}
    survivor_id = first.merge.survivor_id
    while survivor_id not in seen:
        seen.add(survivor_id)
        later = (
            MergedCustomer.objects.filter(customer_id=survivor_id, active=True)
            .select_related("merge")
            .first()
        )
        if later is None:
            break
        survivor_id = later.merge.survivor_id
    survivor = Customer.objects.filter(pk=survivor_id, deleted_at__isnull=True).first()
    if survivor is None:
        return None
    return survivor, first


def custom_definitions(actor: User | None) -> dict[str, FieldDefinition]:
    allowed = actor is None or can_view_sensitive(actor)
    return {d.key: d for d in FieldDefinition.objects.all() if allowed or not d.sensitive}


def custom_display(definition: FieldDefinition | None, value: Any) -> str:
    if definition is None:
        return "" if not is_filled(value) else str(value)
    return custom_fields.display_value(definition, value)
