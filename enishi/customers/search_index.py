"""DDL of the search indexes, per database. Used by the migration and by bulk loaders.

SQLite: two FTS5 tables with external content (the documents live once, in the customer row)
kept in sync by triggers. A trigger per row is slow for many rows: every INSERT statement ends
with FTS5 flushing its pending terms as a new tiny segment, which then has to be merged. Bulk
loaders therefore drop the triggers, insert, and rebuild the index in one pass (`bulk_load`);
the import, which adds kartes to a live database, indexes just its new rows with one
INSERT … SELECT per chunk inside its own transaction (`indexed_after_insert`).
PostgreSQL: a pg_trgm GIN index for 3+ character queries and a GIN text-search index over the
bigram document for 2-character ones.
"""

import contextlib
from collections.abc import Iterator

SQLITE_TABLES = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS customer_fts USING fts5("
    "search_text, content='customers_customer', content_rowid='id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS customer_bigram USING fts5("
    "search_bigrams, content='customers_customer', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
]


def _sqlite_triggers(up_to: int | None = None) -> list[str]:
    """The triggers that keep the FTS5 tables in step with the kartes. With `up_to`, updates and
    deletes are followed only for kartes up to that id and inserts not at all (see
    `indexed_after_insert`)."""
    older = f"old.id <= {int(up_to)}" if up_to is not None else ""
    triggers = [
        f"""CREATE TRIGGER IF NOT EXISTS customer_search_ad AFTER DELETE ON customers_customer
        {f"WHEN {older}" if older else ""}
    BEGIN
        INSERT INTO customer_fts(customer_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO customer_bigram(customer_bigram, rowid, search_bigrams) VALUES ('delete', old.id, old.search_bigrams);
    END""",
        f"""CREATE TRIGGER IF NOT EXISTS customer_search_au AFTER UPDATE OF search_text, search_bigrams
        ON customers_customer
        WHEN {f"{older} AND " if older else ""}(old.search_text IS NOT new.search_text OR old.search_bigrams IS NOT new.search_bigrams)
    BEGIN
        INSERT INTO customer_fts(customer_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text);
        INSERT INTO customer_bigram(customer_bigram, rowid, search_bigrams) VALUES ('delete', old.id, old.search_bigrams);
        INSERT INTO customer_bigram(rowid, search_bigrams) VALUES (new.id, new.search_bigrams);
    END""",
    ]
    if up_to is None:
        triggers.insert(
            0,
            """CREATE TRIGGER IF NOT EXISTS customer_search_ai AFTER INSERT ON customers_customer BEGIN
        INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text);
        INSERT INTO customer_bigram(rowid, search_bigrams) VALUES (new.id, new.search_bigrams);
    END""",
        )
    return triggers


SQLITE_TRIGGERS = _sqlite_triggers()

# Index the kartes inserted after the given id, as the insert trigger would have, one statement
# per index: the terms of every row go into one segment.
SQLITE_INDEX_NEWER = [
    "INSERT INTO customer_fts(rowid, search_text) "
    "SELECT id, search_text FROM customers_customer WHERE id > %s ORDER BY id",
    "INSERT INTO customer_bigram(rowid, search_bigrams) "
    "SELECT id, search_bigrams FROM customers_customer WHERE id > %s ORDER BY id",
]
SQLITE_DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS customer_search_ai",
    "DROP TRIGGER IF EXISTS customer_search_ad",
    "DROP TRIGGER IF EXISTS customer_search_au",
]
SQLITE_REBUILD = [
    "INSERT INTO customer_fts(customer_fts) VALUES ('rebuild')",
    "INSERT INTO customer_bigram(customer_bigram) VALUES ('rebuild')",
]
SQLITE_DROP = SQLITE_DROP_TRIGGERS + [
    "DROP TABLE IF EXISTS customer_fts",
    "DROP TABLE IF EXISTS customer_bigram",
]

POSTGRES_CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer "
    "USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_search_bigram ON customers_customer "
    "USING gin (to_tsvector('simple', search_bigrams))",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS customer_search_trgm",
    "DROP INDEX IF EXISTS customer_search_bigram",
]


def _run(connection, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def create(connection) -> None:
    if connection.vendor == "sqlite":
        _run(connection, SQLITE_TABLES + SQLITE_TRIGGERS)
    elif connection.vendor == "postgresql":
        _run(connection, POSTGRES_CREATE)


def drop(connection) -> None:
    if connection.vendor == "sqlite":
        _run(connection, SQLITE_DROP)
    elif connection.vendor == "postgresql":
        _run(connection, POSTGRES_DROP)


@contextlib.contextmanager
def indexed_after_insert(connection) -> Iterator[None]:
    """Inside a transaction: kartes inserted in the block are indexed together at its end.

    SQLite: for the block, the triggers are replaced by ones that leave new kartes alone (ids
    above the highest at the start: ids only grow while the transaction holds the write lock),
    and at its end the new kartes are indexed as they then are, however and by whatever code
    they were inserted or changed, and the usual triggers come back. SQLite's DDL is
    transactional: no other connection ever sees the replaced triggers, and a failure rolls
    back rows, index entries and triggers together. Kartes that existed before keep being
    followed by the triggers. PostgreSQL's indexes follow every write by themselves.
    """
    if connection.vendor != "sqlite":
        yield
        return
    assert connection.in_atomic_block, "indexed_after_insert must run inside a transaction"
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM customers_customer")
        (highest,) = cursor.fetchone()
    _run(connection, SQLITE_DROP_TRIGGERS + _sqlite_triggers(up_to=highest))
    try:
        yield
    except BaseException:
        # The transaction is about to roll back, triggers included; should the caller catch
        # the error and commit instead, the usual triggers must be there. A transaction already
        # marked for rollback takes no statement (and can no longer commit).
        if not connection.needs_rollback:
            _run(connection, SQLITE_DROP_TRIGGERS + SQLITE_TRIGGERS)
        raise
    with connection.cursor() as cursor:
        for sql in SQLITE_INDEX_NEWER:
            cursor.execute(sql, [highest])
    _run(connection, SQLITE_DROP_TRIGGERS + SQLITE_TRIGGERS)


class bulk_load:  # noqa: N801 - used as `with bulk_load(connection):`
    """Suspend per-row index maintenance for a bulk insert, rebuild once at the end (SQLite)."""

    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        if self.connection.vendor == "sqlite":
            _run(self.connection, SQLITE_DROP_TRIGGERS)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.connection.vendor == "sqlite":
            # Rebuild even after a failure: rows already committed must be findable. ANALYZE
            # gives the planner real statistics (without them it picks the owner index for
            # a member's contact list and takes 0.6 s at 1M rows).
            _run(self.connection, SQLITE_REBUILD + SQLITE_TRIGGERS + ["ANALYZE"])
        elif self.connection.vendor == "postgresql":
            _run(self.connection, ["ANALYZE customers_customer"])
        return False
