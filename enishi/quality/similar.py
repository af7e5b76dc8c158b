"""「似たお客様がいます」: kartes that look like the one being typed, before it is saved.

``similar_customers`` finds candidates through indexed columns only (phone and mobile in
E.164, the keys of both e-mail addresses, corporate number, name key, reading key), scores
each with the matching engine and returns those at or above ``HINT_THRESHOLD`` that the user
may see. A few queries, whatever the size of the database; nothing is merged: a person
decides.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q

from . import match, normalize
from .match import Match

__all__ = ["CONTACT_LIMIT", "NAME_LIMIT", "similar_customers"]

CONTACT_LIMIT = 100
"""Kartes read that share a phone, e-mail or corporate number (rarely more than a few)."""
NAME_LIMIT = 300
"""Kartes read that share the name or its reading: a common name (佐藤 翔) may match
hundreds; the strongest candidates are among those sharing a contact anyway."""

HINT_THRESHOLD = 0.1
"""Lower than the engine's ``SIMILAR_THRESHOLD``: before another karte is created, one with
the same name (a company's in any of its writings: 株式会社山田商事, (株)山田商事, ﾔﾏﾀﾞｼｮｳｼﾞ)
and nothing against it is worth a look, though a name alone never puts a pair in the
duplicates queue. A variant spelling alone, or a name with a different date of birth, stays
below it."""

# What the karte form sends; anything else in ``data`` is ignored.
_ADDRESS_PARTS = ("prefecture", "city", "town", "street")


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    # NUL cannot even be compared on PostgreSQL; half-typed input is no error here.
    return "" if value is None else str(value).replace("\x00", "").strip()


def _e164(raw: str) -> str:
    if not raw:
        return ""
    try:
        return normalize.parse_phone(raw).e164
    except ValidationError:
        return ""


def _company(data: dict[str, Any]) -> tuple[str, str]:
    """The person's company as (name, reading): a Customer, its pk, or a typed name."""
    from enishi.customers.models import Customer

    company = data.get("company")
    if isinstance(company, Customer):
        return company.name, company.name_kana
    if isinstance(company, int) or (isinstance(company, str) and company.isdigit()):
        pk = int(company)
        if not 0 < pk < 2**63:  # beyond any primary key (and SQLite's integers)
            return "", ""
        row = Customer.objects.filter(pk=pk).values_list("name", "name_kana").first()
        return row if row else ("", "")
    return (str(company) if company else ""), _text(data, "company_kana")


def _record(data: dict[str, Any]) -> dict[str, Any]:
    """The matching record of what is being typed (form field names)."""
    name = _text(data, "name")
    if not name:
        name = " ".join(p for p in (_text(data, "family_name"), _text(data, "given_name")) if p)
    address = "".join(_text(data, part) for part in _ADDRESS_PARTS) or _text(data, "address")
    if _text(data, "building"):
        address = f"{address} {_text(data, 'building')}"
    company, company_kana = _company(data) if data.get("company") else ("", "")
    birthday = data.get("birthday") or data.get("birth_date")
    if not isinstance(birthday, datetime.date):
        birthday = str(birthday) if birthday else None
    return {
        "kind": "company" if _text(data, "kind") == "company" else "person",
        "name": name,
        "name_kana": _text(data, "name_kana"),
        "company": company,
        "company_kana": company_kana,
        "postal_code": _text(data, "postal_code"),
        "address": address,
        "phones": [p for p in (_text(data, "phone"), _text(data, "mobile")) if p],
        "emails": [e for e in (_text(data, "email"), _text(data, "email_alt")) if e],
        "birth_date": birthday,
        "corporate_number": _text(data, "corporate_number"),
    }


def _lookups(record: dict[str, Any]) -> tuple[Q | None, Q | None]:
    """(contact lookup, name lookup) on indexed columns; None when there is nothing to use."""
    phones = [e for e in (_e164(p) for p in record["phones"]) if e]
    emails = [normalize.email_key(e) for e in record["emails"]]
    contact = Q()
    if phones:
        contact |= Q(phone_e164__in=phones) | Q(mobile_e164__in=phones)
    if emails:
        contact |= Q(email_key__in=emails) | Q(email_alt_key__in=emails)
    if record["corporate_number"]:
        with contextlib.suppress(ValidationError):
            number = normalize.normalize_corporate_number(record["corporate_number"])
            contact |= Q(corporate_number=number)
    names = Q()
    if record["name"]:
        if record["kind"] == "company":
            key = normalize.company_name_key(record["name"])
        else:
            key = normalize.person_name_key(record["name"])
        if key:
            names |= Q(name_key=key)
    readings = [record["name_kana"]]
    if record["name"] and normalize.is_kana_reading(record["name"]):
        readings.append(record["name"])  # ﾔﾏﾀﾞｼｮｳｼﾞ typed as the name: it is the reading
    reading_keys = {normalize.reading_key(reading) for reading in readings if reading}
    if record["kind"] == "company" and record["name"]:
        # ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ, ｶﾌﾞｼｷｶﾞｲｼｬ ﾔﾏﾀﾞｼｮｳｼﾞ: bank-style kana with its legal form; the
        # name's key is the bare reading then.
        key = normalize.company_name_key(record["name"])
        if key and normalize.is_kana_reading(key):
            reading_keys.add(normalize.reading_key(key))
    # The reading key folds long vowels as the matching does: さとう finds サトー.
    for reading in reading_keys - {""}:
        names |= Q(reading_key=reading)
    return (contact or None), (names or None)


# Contacts that belong to one customer: already on another karte, they are worth a look
# whatever the names say (a company's main line is shared by its staff, so not a person's).
_OWN_CONTACTS = {
    "person": {"same_mobile", "same_email"},
    "company": {"same_phone", "same_email", "same_corporate_number"},
}


def _hint_score(
    record: dict[str, Any], mine: match.Keys, nameless: match.Keys, theirs: match.Keys
) -> Match | None:
    """The pair's match if it is worth a hint, else None. The engine scores whole records;
    a form being typed is not one yet: a name still being typed (高橋 for 髙橋 蒼真, 緑川 for
    緑川商会) is left out rather than held against the karte, a reading typed before the name
    is a hint on its own, and a karte that already has the customer's own contact is shown."""
    scored = match.score_pair(mine, theirs)
    if scored.score >= HINT_THRESHOLD:
        return scored
    if record["name"] and _typing(mine.company if mine.kind == "company" else mine.name, theirs):
        partial = match.score_pair(nameless, theirs)
        if partial.score >= HINT_THRESHOLD:
            return partial
        scored = partial
    if not record["name"] and "same_kana" in scored.reasons:
        return Match(max(scored.score, HINT_THRESHOLD), scored.reasons)
    if _OWN_CONTACTS[mine.kind] & set(scored.reasons):
        return Match(max(scored.score, HINT_THRESHOLD), scored.reasons)
    return None


def _typing(key: str, theirs: match.Keys) -> bool:
    """Whether `key` (the name typed so far, as a key) is the start of the karte's name."""
    other = theirs.company if theirs.kind == "company" else theirs.name
    return bool(key) and len(key) < len(other) and other.startswith(key)


def similar_customers(
    user: Any,
    data: dict[str, Any],
    *,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[tuple[Any, Match]]:
    """Kartes the user may see that look like ``data`` (the karte form's fields), best first.

    ``data`` uses the Customer field names: kind, name (or family_name + given_name),
    name_kana, company (a Customer, its pk, or a typed name), postal_code, prefecture, city,
    town, street, building, phone, mobile, email, email_alt, birthday, corporate_number.
    ``exclude_id``: the karte being edited. Each Match has ``score``, ``reasons`` (keys of
    ``match.REASONS``) and ``candidate`` (the karte's pk).
    """
    from enishi.customers.models import Customer
    from enishi.customers.selectors import customer_visible

    record = _record(data)
    contact, names = _lookups(record)
    # The look-ups run on their own, without the permission filter, kind or trash: with those
    # in the same WHERE the planner may walk the owner or kind index instead (seconds at a
    # million kartes, measured); alone, each term is an index search. The candidates found
    # are then read through customer_visible by primary key.
    ids: dict[int, None] = {}
    for lookup, cap in ((contact, CONTACT_LIMIT), (names, NAME_LIMIT)):
        if lookup is not None:
            ids.update(
                dict.fromkeys(Customer.objects.filter(lookup).values_list("pk", flat=True)[:cap])
            )
    if exclude_id is not None:
        ids.pop(exclude_id, None)
    if not ids:
        return []
    # Kind is checked here, not in SQL, for the same reason: only the primary key leads.
    candidates = customer_visible(user).filter(pk__in=list(ids)).select_related("company")
    mine = match.record_keys(record)
    nameless = match.record_keys({**record, "name": ""}) if record["name"] else mine
    found: list[tuple[Any, Match]] = []
    for customer in candidates:
        if customer.kind != record["kind"]:
            continue
        theirs = match.record_keys(match.customer_record(customer))
        scored = _hint_score(record, mine, nameless, theirs)
        if scored is not None:
            found.append((customer, Match(scored.score, scored.reasons, customer.pk)))
    found.sort(key=lambda item: (-item[1].score, item[0].pk))
    return found[:limit]
