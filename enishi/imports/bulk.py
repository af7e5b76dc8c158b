"""Plain INSERT and UPDATE for the import's bulk path.

Django's `bulk_create` and `bulk_update` spend most of their time building SQL: for a karte
(60 columns) about 8× the time SQLite takes to store the rows, and `bulk_update`'s CASE WHEN
per field is slower still. Here each value goes through its field's own conversion only where
one is needed (dates, times, JSON, decimals), ids are reserved first (SQLite: from
`sqlite_sequence` under the write lock the IMMEDIATE transaction already holds; PostgreSQL: from
the table's sequence), and rows go in with `executemany`. Database triggers (the search index)
fire as for any insert. Must run inside a transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

BATCH = 1000
_PLAIN = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "EmailField",
    "FloatField",
    "ForeignKey",
    "IntegerField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "URLField",
}


_PROTOTYPES: dict[type[models.Model], models.Model] = {}


def new(model_class: type[models.Model], /, **values: Any) -> models.Model:
    """An unsaved instance with every default, copied from one built once: building a model
    from scratch runs every field's default and descriptor (a karte has 60 fields), which for a
    bulk insert costs more than storing the row. Mutable defaults (JSON) are fresh per copy."""
    from django.db.models.base import ModelState

    prototype = _PROTOTYPES.get(model_class)
    if prototype is None:
        prototype = _PROTOTYPES[model_class] = model_class()
    obj = model_class.__new__(model_class)
    obj.__dict__.update(prototype.__dict__)
    obj._state = ModelState()
    for field in model_class._meta.concrete_fields:
        if isinstance(getattr(obj, field.attname), dict | list):
            setattr(obj, field.attname, field.get_default())
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


def _converter(field: models.Field) -> Callable[[Any], Any] | None:
    if field.get_internal_type() in _PLAIN:
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def _columns(model: type[models.Model], names: Iterable[str] | None = None) -> list[models.Field]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if names is not None:
        wanted = set(names)
        fields = [f for f in fields if f.attname in wanted or f.name in wanted]
    return fields


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            f"SELECT max({connection.ops.quote_name(model._meta.pk.column)}) FROM {quoted}"
        )
        highest = cursor.fetchone()[0] or 0
    last = max(found[0] if found else 0, highest)
    return list(range(last + 1, last + count + 1))


def insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert new instances and give them their ids (like bulk_create, without its cost)."""
    if not objects:
        return
    if connection.vendor not in ("sqlite", "postgresql"):
        model.objects.bulk_create(objects, batch_size=BATCH)
        return
    assert connection.in_atomic_block, "bulk.insert reserves ids: call it inside a transaction"
    fields = _columns(model)
    now = timezone.now()
    for obj in objects:
        for field in fields:
            if getattr(field, "auto_now", False) or (
                getattr(field, "auto_now_add", False) and getattr(obj, field.attname) is None
            ):
                setattr(obj, field.attname, now)
    ids = reserve_ids(model, len(objects))
    converters = [_converter(f) for f in fields]
    attnames = [f.attname for f in fields]
    pk = model._meta.pk
    columns = ", ".join(
        connection.ops.quote_name(c) for c in [pk.column, *(f.column for f in fields)]
    )
    placeholders = ", ".join(["%s"] * (len(fields) + 1))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    rows = []
    for obj, new_id in zip(objects, ids, strict=True):
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = connection.alias
        row = [new_id]
        for attname, convert in zip(attnames, converters, strict=True):
            value = getattr(obj, attname)
            row.append(value if convert is None or value is None else convert(value))
        rows.append(row)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])


def update(
    model: type[models.Model], objects: Sequence[models.Model], names: Iterable[str]
) -> None:
    """Write these fields of these saved instances (one UPDATE per row, sent together)."""
    if not objects:
        return
    fields = _columns(model, names)
    if not fields:
        return
    converters = [_converter(f) for f in fields]
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"UPDATE {table} SET {sets} WHERE {connection.ops.quote_name(model._meta.pk.column)} = %s"
    rows = []
    for obj in objects:
        row = []
        for field, convert in zip(fields, converters, strict=True):
            value = getattr(obj, field.attname)
            row.append(value if convert is None or value is None else convert(value))
        row.append(obj.pk)
        rows.append(row)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])
