"""DDL of the search indexes, per database. Used by the migration and by bulk loaders.

SQLite: two FTS5 tables with external content (the documents live once, in the customer row)
kept in sync by triggers. Bulk loaders drop the triggers, insert, and rebuild the index in one
pass, which is ~20× faster than firing a trigger per row.
PostgreSQL: a pg_trgm GIN index for 3+ character queries and a GIN text-search index over the
bigram document for 2-character ones.
"""

SQLITE_TABLES = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS customer_fts USING fts5("
    "search_text, content='customers_customer', content_rowid='id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS customer_bigram USING fts5("
    "search_bigrams, content='customers_customer', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
]
SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS customer_search_ai AFTER INSERT ON customers_customer BEGIN
        INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text);
        INSERT INTO customer_bigram(rowid, search_bigrams) VALUES (new.id, new.search_bigrams);
    END""",
    """CREATE TRIGGER IF NOT EXISTS customer_search_ad AFTER DELETE ON customers_customer BEGIN
        INSERT INTO customer_fts(customer_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO customer_bigram(customer_bigram, rowid, search_bigrams) VALUES ('delete', old.id, old.search_bigrams);
    END""",
    """CREATE TRIGGER IF NOT EXISTS customer_search_au AFTER UPDATE OF search_text, search_bigrams
        ON customers_customer
        WHEN old.search_text IS NOT new.search_text OR old.search_bigrams IS NOT new.search_bigrams
    BEGIN
        INSERT INTO customer_fts(customer_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text);
        INSERT INTO customer_bigram(customer_bigram, rowid, search_bigrams) VALUES ('delete', old.id, old.search_bigrams);
        INSERT INTO customer_bigram(rowid, search_bigrams) VALUES (new.id, new.search_bigrams);
    END""",
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
