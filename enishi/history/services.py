"""Recording changes. Every service that changes customer data calls `history_record`."""

import contextlib
import contextvars
import datetime
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db import models

from enishi.history.models import HistoryEntry


def _plain(value: Any) -> Any:
    """A JSON-safe value as people would read it (a related record by its name)."""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(
    instance: models.Model, field_names: Iterable[str], *, only_filled: bool = False
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in field_names:
        field = instance._meta.get_field(name)
        if field.many_to_many:
            value: Any = (
                ", ".join(sorted(str(o) for o in getattr(instance, name).all()))
                if instance.pk
                else ""
            )
        else:
            value = _plain(getattr(instance, name))
        if only_filled and value in (None, "", [], {}, False):
            continue
        values[name] = [None, value] if only_filled else value
    return values


_current_batch: contextvars.ContextVar[str] = contextvars.ContextVar("history_batch", default="")


@contextlib.contextmanager
def history_batch(batch: str) -> Iterator[None]:
    """Tag every history entry written inside the block with `batch` ("import:12", "merge:5"),
    also those written by the ordinary services an import or a merge calls."""
    token = _current_batch.set(batch)
    try:
        yield
    finally:
        _current_batch.reset(token)


def current_batch() -> str:
    return _current_batch.get()


def history_record(
    *,
    actor,
    via: str,
    action: str,
    instance: models.Model,
    customer_id: int | None,
    changes: dict[str, Any] | None = None,
    batch: str | None = None,
) -> HistoryEntry:
    return HistoryEntry.objects.create(
        batch=_current_batch.get() if batch is None else batch,
        actor=actor if actor is not None and actor.pk else None,
        via=via,
        action=action,
        model=instance._meta.label_lower,
        object_id=instance.pk,
        customer_id=customer_id,
        object_repr=str(instance)[:200],
        changes=changes or {},
    )


def history_record_view_sensitive(
    *, actor, customer, fields: list[str], via: str = HistoryEntry.Via.UI
) -> HistoryEntry:
    """Views of sensitive fields (要配慮個人情報) are logged like changes: who, when, which."""
    return history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.VIEW_SENSITIVE,
        instance=customer,
        customer_id=customer.pk,
        changes={"custom_fields": [None, "、".join(fields)]},
    )
