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

A long vowel in the query is looked for in every spelling the reading key treats as the same
(`normalize.long_vowel_spellings`: サトー also finds サトウ, ゆうこ also ユーコ): the index query
asks for any of the spellings (FTS5 `OR`; PostgreSQL `LIKE ANY`, one tsquery with `||`), so
the documents stay as they are and the query count does not change.
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
        # The term first, then its other long-vowel spellings (all of the term's length).
        self.spellings = (self.term,) if digits else normalize.long_vowel_spellings(self.term)

    @property
    def method(self) -> str:
        # Marks alone (a lone ー folds to "-", "@", "〜") are in half the documents and find
        # nobody in particular: a search needs a letter, a digit, a kana or a kanji.
        if not any(ch.isalnum() for ch in self.term):
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
    spellings = query.spellings
    likes = ["%" + _like_escape(spelling) + "%" for spelling in spellings]
    if connection.vendor == "sqlite":
        # One FTS5 query for every spelling: `"サトー" OR "サトウ" OR "サトオ"`.
        phrases = " OR ".join('"' + spelling.replace('"', '""') + '"' for spelling in spellings)
        if method == "trigram":
            return "SELECT rowid FROM customer_fts WHERE customer_fts MATCH %s", [phrases]
        if method == "bigram":
            return "SELECT rowid FROM customer_bigram WHERE customer_bigram MATCH %s", [phrases]
        return (
            "SELECT id FROM customers_customer WHERE "
            + " OR ".join(["search_text LIKE %s ESCAPE '\\'"] * len(likes)),
            likes,
        )
    if method == "bigram":
        tsquery = " || ".join(["phraseto_tsquery('simple', %s)"] * len(spellings))
        return (
            "SELECT id FROM customers_customer "
            f"WHERE to_tsvector('simple', search_bigrams) @@ ({tsquery})",
            list(spellings),
        )
    # 3+ characters use the pg_trgm GIN index (one bitmap scan for all the spellings of
    # `LIKE ANY`); a single character scans, as on SQLite.
    if len(likes) == 1:
        return "SELECT id FROM customers_customer WHERE search_text LIKE %s", likes
    return "SELECT id FROM customers_customer WHERE search_text LIKE ANY(%s)", [likes]


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


def rank_key(query: SearchQuery, search_text: str) -> tuple[int, int, int]:
    """Name matches first (prefix before infix), then the reading, then anything else; within
    each, the query as typed before its other long-vowel spellings (サトー: a karte written
    サトー before サトウ), then shorter names."""
    lines = search_text.split("\n", 2)
    name = lines[0] if lines else ""
    kana = lines[1] if len(lines) > 1 else ""
    term = query.term
    spellings = query.spellings
    if len(spellings) == 1:
        if name.startswith(term):
            return (0, 0, len(name))
        if kana.startswith(term):
            return (1, 0, len(name))
        if term in name:
            return (2, 0, len(name))
        if term in kana:
            return (3, 0, len(name))
        return (4, 0, len(name))
    if name.startswith(spellings):
        return (0, not name.startswith(term), len(name))
    if kana.startswith(spellings):
        return (1, not kana.startswith(term), len(name))
    if any(spelling in name for spelling in spellings):
        return (2, term not in name, len(name))
    if any(spelling in kana for spelling in spellings):
        return (3, term not in kana, len(name))
    return (4, term not in search_text, len(name))
