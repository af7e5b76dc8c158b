"""What every versioned record of customer data shares: optimistic locking, the history of
each change, trash instead of deletion. Services of all apps write through these helpers so that
"who changed what, when, through what" holds for deals, orders and inquiries as for kartes.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from enishi.history.models import HistoryEntry
from enishi.history.services import history_record, snapshot


class StaleVersionError(Exception):
    """Someone saved the record after this writer read it: nothing was written."""

    def __init__(self, current: models.Model):
        super().__init__(f"{current._meta.label} {current.pk} is at version {current.version}")
        self.current = current


def refuse_control_characters(*values: Any) -> None:
    """NUL cannot be stored in PostgreSQL text; refuse it for SQLite too, with a message."""
    if any("\x00" in str(v) for v in values if v is not None):
        raise ValidationError(_("The text contains a control character that cannot be stored."))


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def record_created(
    instance: models.Model, *, actor, via: str, fields: Iterable[str], customer_id: int | None
) -> None:
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.CREATE,
        instance=instance,
        customer_id=customer_id,
        changes=snapshot(instance, fields, only_filled=True),
    )


def versioned_update(
    model: type[models.Model],
    *,
    actor,
    instance: models.Model,
    data: dict[str, Any],
    version: int | None,
    fields: tuple[str, ...],
    via: str,
    check: Callable[[models.Model], None] | None = None,
    clean_exclude: Iterable[str] = (),
    customer_id_of: Callable[[models.Model], int | None] = lambda o: o.customer_id,
) -> models.Model:
    """Apply `data` on top of `version` (None: no check, for internal callers).

    The row is re-read and locked inside the caller's transaction; a stale version raises
    StaleVersionError and writes nothing. `check` validates the whole new state (raise
    ValidationError); unchanged data records nothing and keeps the version.
    """
    current = model.objects.select_for_update().get(pk=instance.pk)
    if version is not None and current.version != version:
        raise StaleVersionError(current)
    before = snapshot(current, fields)
    for name, value in data.items():
        if name not in fields:
            raise ValueError(f"{name} cannot be changed")
        setattr(current, name, value)
    relations = [f.name for f in model._meta.get_fields() if f.is_relation]
    current.full_clean(exclude=[*relations, *clean_exclude])
    if check is not None:
        check(current)
    changes = changes_between(before, snapshot(current, fields))
    if not changes:
        return current
    current.version += 1
    if hasattr(current, "updated_by_id"):
        current.updated_by = actor
    current.save()
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=current,
        customer_id=customer_id_of(current),
        changes=changes,
    )
    return current


def move_to_trash(
    instance: models.Model,
    *,
    actor,
    via: str,
    customer_id_of: Callable[[models.Model], int | None] = lambda o: o.customer_id,
) -> None:
    """Soft delete with a history entry; a second delete changes nothing."""
    if instance.deleted_at is not None:
        return
    type(instance).objects.filter(pk=instance.pk).update(deleted_at=timezone.now())
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.DELETE,
        instance=instance,
        customer_id=customer_id_of(instance),
    )
