"""Turning checked row data into model values and back, for the writer and for undo."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import models

from enishi.customers.models import Customer
from enishi.customers.services import EDITABLE_FIELDS, HISTORY_FIELDS

# Fields a row may set on a karte (relations are set by id: owner_id, company_id).
ROW_FIELDS = tuple(
    f for f in EDITABLE_FIELDS if f not in ("owner", "team", "company", "parent", "custom_fields")
)
SNAPSHOT_FIELDS = tuple(f for f in HISTORY_FIELDS if f not in ("tags", "last_confirmed_at"))
_DATE_FIELDS = {
    f.attname
    for f in Customer._meta.concrete_fields
    if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField)
}
_DATETIME_FIELDS = {
    f.attname for f in Customer._meta.concrete_fields if isinstance(f, models.DateTimeField)
}


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def from_json(attname: str, value: Any) -> Any:
    if value is None:
        return None
    if attname in _DATE_FIELDS and isinstance(value, str):
        return datetime.date.fromisoformat(value) if value else None
    if attname in _DATETIME_FIELDS and isinstance(value, str):
        return datetime.datetime.fromisoformat(value) if value else None
    return value


def to_json(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def raw_values(customer: Customer, attnames: list[str]) -> dict[str, Any]:
    return {name: to_json(getattr(customer, name)) for name in attnames}


def attname_of(field_name: str) -> str:
    return Customer._meta.get_field(field_name).attname
