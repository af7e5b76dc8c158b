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

import functools
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.db.backends.base.operations import BaseDatabaseOperations
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


# Model → (an instance with every default, the fields whose default is a dict or list).
_PROTOTYPES: dict[type[models.Model], tuple[models.Model, list[models.Field]]] = {}


def new(model_class: type[models.Model], /, **values: Any) -> models.Model:
    """An unsaved instance with every default, copied from one built once: building a model
    from scratch runs every field's default and descriptor (a karte has 60 fields), which for a
    bulk insert costs more than storing the row. Mutable defaults (JSON) are fresh per copy."""
    from django.db.models.base import ModelState

    found = _PROTOTYPES.get(model_class)
    if found is None:
        prototype = model_class()
        mutable = [
            f
            for f in model_class._meta.concrete_fields
            if isinstance(getattr(prototype, f.attname), dict | list)
        ]
        found = _PROTOTYPES[model_class] = (prototype, mutable)
    prototype, mutable = found
    obj = model_class.__new__(model_class)
    obj.__dict__.update(prototype.__dict__)
    obj._state = ModelState()
    for field in mutable:
        setattr(obj, field.attname, field.get_default())
    foreign_keys = _foreign_keys(model_class)
    for name, value in values.items():
        if name in foreign_keys:
            relate(obj, name, value)
        else:
            setattr(obj, name, value)
    return obj


@functools.cache
def _foreign_keys(model_class: type[models.Model]) -> dict[str, models.ForeignKey]:
    return {
        f.name: f
        for f in model_class._meta.concrete_fields
        if f.many_to_one and not f.remote_field.parent_link
    }


def relate(obj: models.Model, name: str, value: Any) -> None:
    """`obj.<name> = value` for a foreign key to a saved instance of its model: the id and the
    cached instance, as the descriptor sets them, without its checks (router, types) that cost
    more than the rest of a bulk row. Anything else goes through the descriptor. The instance's
    database is set when it is inserted (`insert`)."""
    field = _foreign_keys(type(obj)).get(name)
    if (
        field is None
        or value is None
        or type(value) is not field.remote_field.model
        or value.pk is None
    ):
        setattr(obj, name, value)
        return
    for lh_field, rh_field in field.related_fields:
        setattr(obj, lh_field.attname, getattr(value, rh_field.attname))
    field.set_cached_value(obj, value)


def _converter(field: models.Field) -> Callable[[Any], Any] | None:
    if field.get_internal_type() in _PLAIN:
        return None
    convert = functools.partial(field.get_db_prep_save, connection=connection)
    if isinstance(field, models.JSONField) and (
        type(connection.ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value
    ):
        # What JSONField.get_db_prep_save ends in for a plain dict or list (SQLite: the JSON
        # text), without its three calls on the way for every value of every row.
        encoder = field.encoder

        def convert_json(value: Any) -> Any:
            if type(value) is dict:
                return json.dumps(value, cls=encoder) if value else "{}"
            if type(value) is list:
                return json.dumps(value, cls=encoder) if value else "[]"
            return convert(value)

        return convert_json
    return convert


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
    auto_now = [f.attname for f in fields if getattr(f, "auto_now", False)]
    auto_now_add = [
        f.attname
        for f in fields
        if getattr(f, "auto_now_add", False) and not getattr(f, "auto_now", False)
    ]
    for obj in objects:
        for attname in auto_now:
            setattr(obj, attname, now)
        for attname in auto_now_add:
            if getattr(obj, attname) is None:
                setattr(obj, attname, now)
    ids = reserve_ids(model, len(objects))
    converters = [_converter(f) for f in fields]
    plain = [f.attname for f, convert in zip(fields, converters, strict=True) if convert is None]
    converted = [
        (f.attname, convert)
        for f, convert in zip(fields, converters, strict=True)
        if convert is not None
    ]
    pk = model._meta.pk
    # The pk setter also fills parent links (multi-table inheritance); without them, the field.
    pk_attname = pk.attname if not model._meta.parents else None
    alias = connection.alias
    # Plain values first, then the converted ones: the columns are listed in that order.
    ordered = [*(f for f, c in zip(fields, converters, strict=True) if c is None)]
    ordered += [f for f, c in zip(fields, converters, strict=True) if c is not None]
    columns = ", ".join(
        connection.ops.quote_name(c) for c in [pk.column, *(f.column for f in ordered)]
    )
    placeholders = ", ".join(["%s"] * (len(fields) + 1))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    get_plain = operator.attrgetter(*plain) if plain else None
    rows = []
    for obj, new_id in zip(objects, ids, strict=True):
        if pk_attname is None:
            obj.pk = new_id
        else:
            setattr(obj, pk_attname, new_id)
        state = obj._state
        state.adding = False
        state.db = alias
        row = [new_id]
        if get_plain is not None:
            found = get_plain(obj)
            if len(plain) == 1:
                row.append(found)
            else:
                row.extend(found)
        for attname, convert in converted:
            value = getattr(obj, attname)
            row.append(None if value is None else convert(value))
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


def update_where(
    model: type[models.Model],
    names: Sequence[str],
    keys: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """`UPDATE … SET <names> WHERE <keys>` for each row of (values of `names`, then values of
    `keys`): writes rows known by other columns than their id (an import's row by its run and
    number) without reading them first."""
    fields = [model._meta.get_field(n) for n in names]
    converters = [_converter(f) for f in fields]
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    where = " AND ".join(f"{quote(model._meta.get_field(k).column)} = %s" for k in keys)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {where}"
    params = []
    for row in rows:
        values = [
            value if convert is None or value is None else convert(value)
            for value, convert in zip(row[: len(fields)], converters, strict=True)
        ]
        params.append([*values, *row[len(fields) :]])
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])
