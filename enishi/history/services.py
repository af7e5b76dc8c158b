"""Recording changes. Every service that changes customer data calls `history_record`."""

import contextlib
import contextvars
import datetime
import functools
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db import models

from enishi.history.models import HistoryEntry, Ref

_AS_IS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """A JSON-safe value as people would read it (a related record by its name, a `Ref`)."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, models.Model):
        # The name as it is now, with the id (`Ref`): the entry keeps both.
        return Ref(str(value), value.pk) if isinstance(value.pk, int) else str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@functools.cache
def _field_names(meta) -> tuple[frozenset[str], frozenset[str]]:
    """(the names `get_field` knows without a search, those of many-to-many fields)."""
    fields = meta.get_fields()
    names = {f.name for f in fields} | {f.attname for f in fields if hasattr(f, "attname")}
    return frozenset(names), frozenset(f.name for f in fields if f.many_to_many)


def snapshot(
    instance: models.Model, field_names: Iterable[str], *, only_filled: bool = False
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    known, many_to_many = _field_names(instance._meta)
    for name in field_names:
        if name in known:
            is_many = name in many_to_many
        else:  # what get_field finds by searching, or FieldDoesNotExist
            is_many = instance._meta.get_field(name).many_to_many
        if is_many:
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
