"""Customer search: the search documents and the index queries behind `search_customers`.

Each karte carries two documents, both folded by `quality.normalize.search_fold` (width, kana,
case, dashes, variant kanji, no spaces) so a query folded the same way finds every spelling:

* `search_text`: names, reading, company, code, phones (national and +81 digits), e-mails,
  postal code and address, one per line. Queries of 3+ characters use a trigram index on it
  (SQLite FTS5 `trigram`, PostgreSQL pg_trgm GIN).
* `search_bigrams`: the distinct 2-character pieces, and the distinct single characters, of the
  names, reading, company, code and address, space-separated. 1- and 2-character queries (佐藤,
  山田: the most common search; 林 as the first keystroke) use a word index on it (SQLite FTS5
  `unicode61`, PostgreSQL a GIN `simple` text-search index), since trigram indexes cannot
  answer them.

Only a single punctuation character falls back to a scan of `search_text`, stopped at the cap.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection

from enishi.quality import normalize

if TYPE_CHECKING:
    from enishi.customers.models import Customer


def build_search_documents(customer: Customer) -> tuple[str, str]:
    fold = normalize.search_fold
    company_name = customer.company.name if customer.company_id and customer.company else ""
    names = [customer.name, customer.name_kana, customer.legal_name, company_name]
    if customer.kind == "company":
        bare = normalize.detect_legal_form(customer.name).bare
        if bare != customer.name:
            names.append(bare)
    lines = [fold(n) for n in names if n]
    if customer.code:
        lines.append(fold(customer.code))
    for raw, e164 in (
        (customer.phone, customer.phone_e164),
        (customer.mobile, customer.mobile_e164),
        (customer.fax, customer.fax_e164),
    ):
        if e164:
            lines.extend(normalize.phone_search_forms(e164))
        elif raw:
            lines.append(fold(raw))  # a legacy value that does not parse is searched as typed
    for email in (customer.email, customer.email_alt):
        if email:
            lines.append(fold(email))
    if customer.postal_code:
        lines.append(customer.postal_code.replace("-", ""))
    address = customer.address
    if address:
        lines.append(fold(address))
    if customer.department:
        lines.append(fold(customer.department))
    text = "\n".join(dict.fromkeys(line for line in lines if line))
    bigram_sources = [customer.name, customer.name_kana, company_name, customer.code, address]
    pieces: dict[str, None] = {}
    for source in bigram_sources:
        if source:
            pieces.update(dict.fromkeys(_word_pieces(source)))
    return text, " ".join(pieces)


@functools.lru_cache(maxsize=1 << 14)  # company names repeat from karte to karte
def _word_pieces(source: str) -> tuple[str, ...]:
    """The distinct 2-character pieces of a source, then its distinct single characters."""
    folded = normalize.search_fold(source)
    singles = folded if folded.isalnum() else [c for c in folded if c.isalnum()]
    return tuple(dict.fromkeys([*normalize.folded_bigrams(folded), *singles]))


class SearchQuery:
    """A query folded the way the documents are, and the index that can answer it."""

    def __init__(self, raw: str):
        self.raw = raw
        digits = normalize.query_phone_digits(raw)
        self.term = digits if digits else normalize.search_fold(raw)

    @property
    def method(self) -> str:
        if not self.term:
            return "none"
        if len(self.term) >= 3:
            return "trigram"
        if len(self.term) == 2 and len(normalize.bigrams(self.term)) == 1:
            return "bigram"
        if len(self.term) == 1 and self.term.isalnum():
            return "bigram"  # single characters are indexed as words too
        return "scan"


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def candidate_sql(query: SearchQuery) -> tuple[str, list]:
    """SQL selecting the ids of customers whose documents contain the query (no order, no limit)."""
    sql, params = _index_sql(query)
    return (_fenced(sql) if connection.vendor == "postgresql" else sql), params


def _index_sql(query: SearchQuery) -> tuple[str, list]:
    method = query.method
    if connection.vendor == "sqlite":
        phrase = '"' + query.term.replace('"', '""') + '"'
        if method == "trigram":
            return "SELECT rowid FROM customer_fts WHERE customer_fts MATCH %s", [phrase]
        if method == "bigram":
            return "SELECT rowid FROM customer_bigram WHERE customer_bigram MATCH %s", [phrase]
        return (
            "SELECT id FROM customers_customer WHERE search_text LIKE %s ESCAPE '\\'",
            ["%" + _like_escape(query.term) + "%"],
        )
    if method == "bigram":
        return (
            "SELECT id FROM customers_customer "
            "WHERE to_tsvector('simple', search_bigrams) @@ phraseto_tsquery('simple', %s)",
            [query.term],
        )
    # 3+ characters use the pg_trgm GIN index; a single character scans, as on SQLite.
    return (
        "SELECT id FROM customers_customer WHERE search_text LIKE %s",
        ["%" + _like_escape(query.term) + "%"],
    )


def _fenced(sql: str) -> str:
    """PostgreSQL: collect the index matches first. Without the fence the planner walks the
    primary key backwards and tests every row (seconds at 1M) — also inside `id IN (…)`."""
    return f"WITH matches AS MATERIALIZED ({sql}) SELECT id FROM matches"


def candidate_ids(query: SearchQuery, cap: int | None = None) -> list[int]:
    """Up to `cap` ids of customers whose documents contain the query, newest first.

    Trash and permissions are applied by the caller (`customers.selectors`); the cap keeps a
    query that matches half the database as fast as one that matches a single karte.
    """
    if query.method == "none":
        return []
    cap = cap or settings.ENISHI_COUNT_CAP + 1
    sql, params = candidate_sql(query)
    if connection.vendor == "postgresql":
        sql = f"{sql} ORDER BY id DESC LIMIT %s"
    else:
        order = "rowid" if sql.startswith("SELECT rowid") else "id"
        sql = f"{sql} ORDER BY {order} DESC LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, cap])
        return [row[0] for row in cursor.fetchall()]


def rank_key(query: SearchQuery, search_text: str) -> tuple[int, int]:
    """Name matches first (prefix before infix), then the reading, then anything else."""
    lines = search_text.split("\n", 2)
    name = lines[0] if lines else ""
    kana = lines[1] if len(lines) > 1 else ""
    term = query.term
    if name.startswith(term):
        return (0, len(name))
    if kana.startswith(term):
        return (1, len(name))
    if term in name:
        return (2, len(name))
    if term in kana:
        return (3, len(name))
    return (4, len(name))
