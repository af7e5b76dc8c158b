"""Undoing a merge: `customer_merge_undo` puts back the merged kartes, the records the merge
moved and the survivor's values, or refuses and says what changed since
(`merge_undo_problems`). Records added to the survivor after the merge stay with it."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from enishi.accounts.models import User
from enishi.customers.models import Customer, FieldDefinition, Tag
from enishi.customers.services import HISTORY_FIELDS, apply_derived_fields, customers_reindex
from enishi.history.models import HistoryEntry, Ref
from enishi.history.services import current_batch, history_batch, history_record, snapshot
from enishi.quality.merge import (
    Relation,
    changes_of,
    check_may_change,
    history_rows,
    lock_kartes,
    raw_value,
    relations_by_key,
    set_raw_value,
)
from enishi.quality.models import DuplicatePair, Merge, MergedCustomer


def _field_label(name: str) -> str:
    return capfirst(str(Customer._meta.get_field(name).verbose_name))


def _shown(value: Any, name: str = "") -> str:
    """A stored value as people read it: a choice by its label, a linked record by its name."""
    if value in (None, ""):
        return "—"
    if name:
        from enishi.history.selectors import value_label

        field = Customer._meta.get_field(name)
        if field.is_relation:
            related = field.related_model._base_manager.filter(pk=value).first()
            return str(related) if related is not None else str(value)
        return value_label("customers.customer", name, value)
    return str(value)


def merge_undo_problems(merge: Merge) -> list[str]:
    """Why this merge cannot be undone safely now (empty: it can). Reads only."""
    problems: list[str] = []
    if merge.is_undone:
        return [_("This merge has already been undone.")]
    survivor = Customer.objects.filter(pk=merge.survivor_id).first()
    if survivor is None:
        return [_("The surviving karte has been deleted for good: the merge cannot be undone.")]
    if survivor.deleted_at is not None:
        later = (
            MergedCustomer.objects.filter(customer=survivor, active=True)
            .select_related("merge")
            .first()
        )
        if later is not None:
            return [
                _("%(name)s was merged into %(other)s afterwards: undo that merge first.")
                % {"name": survivor.name, "other": later.merge.survivor_name}
            ]
        return [_("%(name)s is in the trash: restore it first.") % {"name": survivor.name}]
    members = list(merge.members.all())
    present = set(
        Customer.objects.filter(pk__in=[m.customer_id for m in members]).values_list(
            "pk", flat=True
        )
    )
    for member in members:
        if member.customer_id not in present or not member.active:
            problems.append(
                _("%(name)s no longer exists: the merge cannot be undone.") % {"name": member.name}
            )
    for name, pair in merge.fields.items():
        if name == "custom_fields":
            current = survivor.custom_fields or {}
            for key, (_b, custom_after) in pair.items():
                if current.get(key) != custom_after:
                    problems.append(
                        _(
                            "The field “%(field)s” of %(name)s was changed after the merge (now "
                            "“%(value)s”); undoing would overwrite that change."
                        )
                        % {
                            "field": _custom_label(key),
                            "name": survivor.name,
                            "value": _shown(current.get(key)),
                        }
                    )
            continue
        if raw_value(survivor, name) != pair[1]:
            problems.append(
                _(
                    "The field “%(field)s” of %(name)s was changed after the merge (now "
                    "“%(value)s”); undoing would overwrite that change."
                )
                % {
                    "field": _field_label(name),
                    "name": survivor.name,
                    "value": _shown(raw_value(survivor, name), name),
                }
            )
    restored_code = merge.fields.get("code", [survivor.code])[0]
    for member in members:
        if not member.code_before:
            continue
        clash = (
            Customer.objects.filter(code=member.code_before).exclude(pk=member.customer_id).first()
        )
        if clash is not None and not (
            clash.pk == survivor.pk and restored_code != member.code_before
        ):
            problems.append(
                _("The customer code %(code)s of %(name)s is now used by %(other)s.")
                % {"code": member.code_before, "name": member.name, "other": clash.name}
            )
    relations = relations_by_key()
    for key, done in merge.moved.items():
        relation = relations.get(key)
        if relation is None:
            problems.append(
                _("Records of a kind that no longer exists (%(key)s) were moved.") % {"key": key}
            )
            continue
        if relation.many:
            continue  # links: a link removed since is simply not put back
        problems.extend(_fk_problems(relation, done, survivor))
    return problems


def merge_undo_notes(merge: Merge) -> list[str]:
    """What an undo would do that the person may not expect, though it is safe: records moved
    by the merge and put in the trash since go back to their karte, still in the trash."""
    if merge.is_undone:
        return []
    notes = []
    relations = relations_by_key()
    for key, done in merge.moved.items():
        relation = relations.get(key)
        if relation is None or relation.many:
            continue
        if not any(f.name == "deleted_at" for f in relation.model._meta.concrete_fields):
            continue
        ids = [pk for pks in done.values() for pk in pks]
        trashed = relation.model._base_manager.filter(pk__in=ids, deleted_at__isnull=False).count()
        if trashed:
            notes.append(
                ngettext(
                    "%(count)s record of “%(what)s” moved by the merge was deleted since: it "
                    "goes back with its karte, still in the trash.",
                    "%(count)s records of “%(what)s” moved by the merge were deleted since: they "
                    "go back with their karte, still in the trash.",
                    trashed,
                )
                % {"count": trashed, "what": relation.label}
            )
    return notes


def _custom_label(key: str) -> str:
    definition = FieldDefinition.objects.filter(key=key).first()
    return definition.label if definition is not None else key


def _fk_problems(relation: Relation, done: dict[str, list[int]], survivor: Customer) -> list[str]:
    ids = [pk for pks in done.values() for pk in pks]
    column = relation.field.attname
    now_at = dict(relation.model._base_manager.filter(pk__in=ids).values_list("pk", column))
    problems = []
    gone = [pk for pk in ids if pk not in now_at]
    if gone:
        problems.append(
            ngettext(
                "%(count)s record of “%(what)s” moved by the merge has been deleted for good since.",
                "%(count)s records of “%(what)s” moved by the merge have been deleted for good "
                "since.",
                len(gone),
            )
            % {"count": len(gone), "what": relation.label}
        )
    elsewhere = [pk for pk, at in now_at.items() if at != survivor.pk]
    for obj in relation.model._base_manager.filter(pk__in=elsewhere[:5]):
        problems.append(
            _("“%(record)s” (%(what)s) moved by the merge now belongs to another karte.")
            % {"record": str(obj), "what": relation.label}
        )
    if len(elsewhere) > 5:
        problems.append(
            _("… and %(count)s more records that now belong to another karte.")
            % {"count": len(elsewhere) - 5}
        )
    return problems


def customer_merge_undo(
    *, actor: User | None, merge: Merge, via: str = HistoryEntry.Via.UI
) -> Merge:
    """Put everything back as it was before `merge`: the merged kartes, the moved records and
    the survivor's fields. Refused (ValidationError listing why) when something the merge
    touched has changed since in a way that cannot be undone safely. Records added to the
    survivor after the merge stay with it."""
    with transaction.atomic():
        merge = Merge.objects.select_for_update().get(pk=merge.pk)
        members = list(merge.members.order_by("position"))
        member_ids = [m.customer_id for m in members]
        check_may_change(actor, [], merged=[merge.survivor_id, *member_ids])
        locked = lock_kartes([merge.survivor_id, *member_ids])
        problems = merge_undo_problems(merge)
        if problems:
            raise ValidationError(problems, code="undo_refused")
        survivor = locked[merge.survivor_id]
        with history_batch(f"unmerge:{merge.pk}"):
            _put_back(merge, survivor, [locked[pk] for pk in member_ids], members, actor, via)
    return merge


def _put_back(
    merge: Merge,
    survivor: Customer,
    merged: list[Customer],
    members: list[MergedCustomer],
    actor: User | None,
    via: str,
) -> None:
    now = timezone.now()
    by_id = {c.pk: c for c in merged}
    names = {survivor.pk: survivor.name, **{c.pk: c.name for c in merged}}
    actor_or_none = actor if actor is not None and actor.pk else None

    # The survivor's fields, custom values and tags as they were.
    before = snapshot(survivor, HISTORY_FIELDS)
    for name, pair in merge.fields.items():
        if name != "custom_fields":
            set_raw_value(survivor, name, pair[0])
    if "custom_fields" in merge.fields:
        custom = dict(survivor.custom_fields or {})
        for key, (custom_before, _after) in merge.fields["custom_fields"].items():
            if custom_before is None:
                custom.pop(key, None)
            else:
                custom[key] = custom_before
        survivor.custom_fields = custom
    for relation in ("owner", "team", "company", "parent"):
        if relation in survivor._state.fields_cache:
            del survivor._state.fields_cache[relation]
    if merge.tags_added:
        survivor.tags.remove(*Tag.objects.filter(pk__in=merge.tags_added))
    apply_derived_fields(survivor)
    survivor.version += 1
    survivor.updated_by = actor_or_none
    survivor.save()
    if survivor.is_company and before.get("name") != survivor.name:
        customers_reindex(survivor.contacts.all())
    changes = changes_of(before, snapshot(survivor, HISTORY_FIELDS))
    if changes:
        history_record(
            actor=actor,
            via=via,
            action=HistoryEntry.Action.UNMERGE,
            instance=survivor,
            customer_id=survivor.pk,
            changes=changes,
        )

    # The merged kartes come back, with their codes.
    for member in members:
        customer = by_id[member.customer_id]
        customer.deleted_at = None
        customer.code = member.code_before
        customer.version += 1
        customer.updated_by = actor_or_none
        customer.save(update_fields=["deleted_at", "code", "version", "updated_by", "updated_at"])
    MergedCustomer.objects.filter(merge=merge).update(active=False)

    # The moved records go back to the karte they came from.
    relations = relations_by_key()
    for key, done in merge.moved.items():
        relation = relations[key]
        if relation.many:
            _many_back(relation, done, survivor, names, actor, via)
        else:
            _fk_back(relation, done, survivor, names, actor, via, now)

    DuplicatePair.objects.filter(merge=merge).update(
        status=DuplicatePair.Status.OPEN, merge=None, decided_at=None, decided_by=None
    )
    merge.undone_at = now
    merge.undone_by = actor_or_none
    merge.save(update_fields=["undone_at", "undone_by"])
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UNMERGE,
        instance=merge,
        customer_id=survivor.pk,
        changes={"merged_names": [merge.merged_names, None]},
    )
    for customer in merged:
        history_record(
            actor=actor,
            via=via,
            action=HistoryEntry.Action.UNMERGE,
            instance=merge,
            customer_id=customer.pk,
            changes={"survivor_name": [f"{survivor.name} (#{survivor.pk})", None]},
        )


def _fk_back(
    relation: Relation,
    done: dict[str, list[int]],
    survivor: Customer,
    names: dict[int, str],
    actor: User | None,
    via: str,
    now: datetime.datetime,
) -> None:
    model, column = relation.model, relation.field.attname
    has_version = any(f.name == "version" for f in model._meta.fields)
    history = []
    for source, ids in done.items():
        source_id = int(source)
        update: dict[str, Any] = {column: source_id}
        if has_version:
            update["version"] = F("version") + 1
        if relation.is_karte:
            update["updated_at"] = now
        model._base_manager.filter(pk__in=ids, **{column: survivor.pk}).update(**update)
        for obj in model._base_manager.filter(pk__in=ids):
            history.append(
                (
                    obj,
                    obj.pk if relation.is_karte else _owner_customer(obj, relation, source_id),
                    {
                        relation.field.name: [
                            Ref(survivor.name, survivor.pk),
                            Ref(names[source_id], source_id),
                        ]
                    },
                )
            )
    history_rows(
        history, actor=actor, via=via, action=HistoryEntry.Action.UNMERGE, batch=current_batch()
    )
    if relation.is_karte:
        all_ids = [pk for ids in done.values() for pk in ids]
        customers_reindex(Customer.objects.filter(pk__in=all_ids).select_related("company"))


def _owner_customer(obj: models.Model, relation: Relation, source_id: int) -> int | None:
    if relation.field.name == "customer":
        return source_id
    return getattr(obj, "customer_id", None)


def _many_back(
    relation: Relation,
    done: dict[str, list[list[int]]],
    survivor: Customer,
    names: dict[int, str],
    actor: User | None,
    via: str,
) -> None:
    through, own, target = relation.through_names()
    moved_rows = done.get("moved", [])
    for pk, source in moved_rows:
        through.objects.filter(pk=pk, **{target: survivor.pk}).update(**{target: source})
    for owner, source in done.get("dropped", []):
        if relation.model._base_manager.filter(pk=owner).exists():
            through.objects.get_or_create(**{own: owner, target: source})
    source_by_owner: dict[int, int] = {}
    for pk, source in moved_rows:
        row = through.objects.filter(pk=pk).values_list(own, flat=True).first()
        if row is not None:
            source_by_owner[row] = source
    for owner, source in done.get("dropped", []):
        source_by_owner[owner] = source
    history = [
        (
            obj,
            getattr(obj, "customer_id", None),
            {relation.field.name: [survivor.name, names[source_by_owner[obj.pk]]]},
        )
        for obj in relation.model._base_manager.filter(pk__in=list(source_by_owner))
    ]
    history_rows(
        history, actor=actor, via=via, action=HistoryEntry.Action.UNMERGE, batch=current_batch()
    )
