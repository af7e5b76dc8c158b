"""Lookups for filtering by thousands of values at once.

`field__among=values` means `field IN values`, sent as one parameter instead of one per value:
Django prepares each parameter of an `IN` on its own, and for the thousands of keys of an
import's chunk that preparing cost more than the query (on PostgreSQL also the server's parsing
of the list). SQLite: `IN (SELECT value FROM json_each(<JSON array>))`; PostgreSQL:
`= ANY(<array>)`; any other database gets the plain `IN`. Both are answered from the column's index, also when several are OR-ed
(PostgreSQL then combines the index scans).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Lookup
from django.db.models.lookups import In


@models.Field.register_lookup
class Among(Lookup):
    lookup_name = "among"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection) -> tuple[str, list[Any]]:
        values = sorted(set(value))
        if connection.vendor == "postgresql":
            return "%s", [values]
        return "%s", [json.dumps(values)]

    def as_sql(self, compiler, connection) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]
        if connection.vendor == "sqlite":
            return f"{lhs} IN (SELECT value FROM json_each({rhs}))", [*lhs_params, *rhs_params]
        # Any other database: the plain IN, one parameter per value.
        return In(self.lhs, sorted(set(self.rhs))).as_sql(compiler, connection)


# A foreign key has Django's related lookups instead of its field's: register it there too, for
# "the records of these kartes" (`customer__among=ids`, `company__among=ids`).
models.ForeignKey.register_lookup(Among)
