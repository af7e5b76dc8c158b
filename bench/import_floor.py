#!/usr/bin/env python
"""The least an import of customers can cost on SQLite: the writes alone, without Python.

    .venv/bin/python bench/import_bench.py --rows 100000 --database sqlite:////tmp/ib.sqlite3
    .venv/bin/python bench/import_floor.py /tmp/ib.sqlite3

Takes the kartes and history entries an import wrote (the database `import_bench.py` leaves) and
writes the very same rows again into an empty copy of the schema with `executemany`, in chunks
of 2,000 as the import commits them: once with the search triggers (the index filled per row),
once without them and the search index filled afterwards with one INSERT … SELECT per index, as
the import does. No Django, no checking, no building of objects: what is measured is SQLite's
own work of storing the rows and their 25 indexes, which no import can avoid. Divided into the
input rows it gives the highest rate any import of that file can reach on this machine.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
from pathlib import Path

CHUNK = 2_000


def _fresh(path: Path, schema: list[str], *, triggers: bool) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    # The import's own settings (enishi.core.sqlite): WAL, synchronous=NORMAL.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for sql in schema:
        if not triggers and sql.upper().startswith("CREATE TRIGGER"):
            continue
        try:
            db.execute(sql)
        except sqlite3.OperationalError as error:
            # An FTS5 table makes its own shadow tables, which the schema lists too.
            if "already exists" not in str(error):
                raise
    return db


def _timed(label: str, work) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label:<58} CPU {cpu:6.2f} s   wall {wall:6.2f} s")
    return cpu


def _insert(db: sqlite3.Connection, table: str, rows: list[tuple]) -> None:
    marks = ",".join("?" * len(rows[0]))
    for start in range(0, len(rows), CHUNK):
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[start : start + CHUNK])
        db.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="the SQLite file import_bench.py wrote")
    parser.add_argument("--rows", type=int, default=100_000, help="input rows of that import")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/import_floor.sqlite3"))
    args = parser.parse_args()

    source = sqlite3.connect(args.database)
    schema = [
        sql
        for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END"
        )
    ]
    kartes = source.execute("SELECT * FROM customers_customer ORDER BY id").fetchall()
    history = source.execute("SELECT * FROM history_historyentry ORDER BY id").fetchall()
    indexes = source.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers_customer'"
    ).fetchone()[0]
    print(
        f"{len(kartes):,} kartes ({indexes} indexes besides the search index), "
        f"{len(history):,} history entries, from {args.rows:,} input rows; "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores"
    )

    db = _fresh(args.scratch, schema, triggers=True)
    with_triggers = _timed(
        "kartes, search index by trigger per row", lambda: _insert(db, "customers_customer", kartes)
    )
    db.close()

    db = _fresh(args.scratch, schema, triggers=False)
    plain = _timed(
        "kartes, without the search triggers", lambda: _insert(db, "customers_customer", kartes)
    )

    def index_afterwards() -> None:
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO customer_fts(rowid, search_text) SELECT id, search_text "
            "FROM customers_customer"
        )
        db.execute(
            "INSERT INTO customer_bigram(rowid, search_bigrams) SELECT id, search_bigrams "
            "FROM customers_customer"
        )
        db.execute("COMMIT")

    search = _timed("search index afterwards (INSERT … SELECT per index)", index_afterwards)
    entries = _timed("history entries", lambda: _insert(db, "history_historyentry", history))
    db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.scratch}{suffix}").unlink(missing_ok=True)

    floor = plain + search + entries
    print(
        f"floor: {floor:.1f} s of CPU in SQLite's one writer = at most "
        f"{args.rows / floor:,.0f} input rows/s, before any checking or building in Python "
        f"(with the per-row triggers: {with_triggers + entries:.1f} s)"
    )


if __name__ == "__main__":
    main()
