"""Reads for vCards, QR codes and printed kartes. Every karte comes through
`customers.selectors` (the permission filter): what a user may not see is not printed, not
exported, not offered as a company to link to and not shown as a possible duplicate."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from enishi.accounts.models import User
from enishi.activities.selectors import tasks_open_for_customer
from enishi.core.timeline import TimelineItem
from enishi.customers.karte import karte_timeline
from enishi.customers.models import Customer
from enishi.customers.selectors import (
    CustomerFilters,
    customer_contacts,
    customer_custom_rows,
    customer_list,
    customer_visible,
    customer_visible_ids,
)
from enishi.deals.karte import deal_figures
from enishi.history.models import HistoryEntry
from enishi.inquiries.karte import inquiry_figures
from enishi.quality import match, normalize
from enishi.quality.similar import HINT_THRESHOLD
from enishi.sales.karte import sales_figures
from enishi.transfer.vcard_map import CardImport, display_name

# What one printed karte shows at most.
PRINT_TASKS = 20
PRINT_TIMELINE = 15
PRINT_CONTACTS = 30
# Candidates per chunk of cards when looking for possible duplicates.
SIMILAR_CHUNK = 100
SIMILAR_ROWS_CAP = 5000


def card_companies(user: User, customers: Sequence[Customer]) -> dict[int, Customer]:
    """The companies of these kartes that the user may see, by id (a card names a company
    only when its karte is visible: the karte page hides the others too)."""
    visible = customer_visible_ids(user, [c.company_id for c in customers])
    return {c.company_id: c.company for c in customers if c.company_id in visible}


def card_people(user: User, customer: Customer, *, contacts: bool) -> list[Customer]:
    """The karte itself, or for a company its contact persons the user may see."""
    if contacts and customer.is_company:
        return list(customer_contacts(user, customer).select_related("company"))
    return [customer]


def card_selection(user: User, filters: CustomerFilters) -> QuerySet[Customer]:
    """The kartes of the customer list with these filters, in the list's order."""
    return customer_list(user, filters).select_related("company", "owner", "team")


def card_selection_ids(user: User, filters: CustomerFilters, *, limit: int) -> list[int]:
    """The ids of the list's kartes in the list's order, up to `limit` (+1 to tell "more")."""
    return list(customer_list(user, filters).values_list("pk", flat=True)[: limit + 1])


def card_kartes_by_id(user: User, ids: Sequence[int]) -> list[Customer]:
    """These kartes in this order, those the user may (still) see only."""
    found = {
        c.pk: c
        for c in customer_visible(user)
        .filter(pk__in=ids)
        .select_related("company", "owner", "team")
    }
    return [found[pk] for pk in ids if pk in found]


def card_selection_count(user: User, filters: CustomerFilters, *, cap: int) -> int:
    """How many kartes the list holds, counted up to `cap + 1` (enough to say "too many")."""
    return customer_list(user, filters).order_by()[: cap + 1].count()


# --- Import: companies to link and possible duplicates ---------------------------------------


def card_companies_by_name(user: User, names: Iterable[str]) -> dict[str, Customer | None]:
    """Company kartes whose name is the same as an ORG after normalisation
    (`company_name_key`: legal forms, width, variant kanji), by that key. A key that two
    visible companies share maps to None: the card is not linked to a guess."""
    keys = {normalize.company_name_key(name) for name in names if name}
    keys.discard("")
    found: dict[str, Customer | None] = {}
    if not keys:
        return found
    rows = customer_visible(user).filter(kind=Customer.Kind.COMPANY, name_key__in=keys)
    for company in rows.order_by("pk"):
        found[company.name_key] = None if company.name_key in found else company
    return found


@dataclass
class Similar:
    id: int
    name: str
    score: float
    reasons: list[str]


def _lookup_keys(card: CardImport) -> dict[str, set[str]]:
    data = card.data
    phones = set()
    for raw in (data.get("phone"), data.get("mobile")):
        if raw:
            with contextlib.suppress(ValidationError):
                phones.add(normalize.parse_phone(raw).e164)
    name_key = (
        normalize.company_name_key(card.name)
        if card.kind == Customer.Kind.COMPANY
        else normalize.person_name_key(card.name)
    )
    return {
        "phone": phones,
        "email": {normalize.email_key(e) for e in (data.get("email"), data.get("email_alt")) if e},
        "name": {name_key} - {""},
        # Long vowels folded, as the matching compares readings (さとう finds サトー).
        "kana": {normalize.reading_key(data.get("name_kana"))} - {""},
    }


# What matching reads of a karte (`quality.match.customer_record`) and the lookup keys.
_MATCH_FIELDS = (
    "kind", "name", "name_kana", "postal_code", "prefecture", "city", "town", "street",
    "building", "phone", "mobile", "email", "email_alt", "birthday", "corporate_number",
    "phone_e164", "mobile_e164", "email_key", "email_alt_key", "name_key", "reading_key",
    "company__name",
    "company__name_kana",
)  # fmt: skip


def card_similar(user: User, cards: Sequence[CardImport]) -> dict[int, list[Similar]]:
    """Kartes the user may see that look like each card ("似たお客様がいます"), best first,
    by card number. Candidates share a phone, e-mail, name or reading key with the card
    (one query per chunk of cards); `quality.match` scores them. Each candidate's keys are
    built once, however many cards it is compared with."""
    result: dict[int, list[Similar]] = {}
    keys_by_pk: dict[int, match.Keys] = {}
    names: dict[int, str] = {}
    for start in range(0, len(cards), SIMILAR_CHUNK):
        chunk = [c for c in cards[start : start + SIMILAR_CHUNK] if not c.problems]
        keys = {card.number: _lookup_keys(card) for card in chunk}
        wanted: dict[str, set[str]] = defaultdict(set)
        for card_keys in keys.values():
            for kind, values in card_keys.items():
                wanted[kind] |= values
        q = Q(pk__in=[])
        if wanted["phone"]:
            q |= Q(phone_e164__in=wanted["phone"]) | Q(mobile_e164__in=wanted["phone"])
        if wanted["email"]:
            q |= Q(email_key__in=wanted["email"]) | Q(email_alt_key__in=wanted["email"])
        if wanted["name"]:
            q |= Q(name_key__in=wanted["name"])
        if wanted["kana"]:
            q |= Q(reading_key__in=wanted["kana"])
        rows = (
            customer_visible(user)
            .filter(q)
            .select_related("company")
            .only(*_MATCH_FIELDS)[:SIMILAR_ROWS_CAP]
        )
        by_key: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        for row in rows:
            if row.pk not in keys_by_pk:
                keys_by_pk[row.pk] = match.record_keys(match.customer_record(row))
                names[row.pk] = row.name
            for kind, value in (
                ("phone", row.phone_e164),
                ("phone", row.mobile_e164),
                ("email", row.email_key),
                ("email", row.email_alt_key),
                ("name", row.name_key),
                ("kana", row.reading_key),
            ):
                if value:
                    by_key[(kind, value)].append((row.pk, row.kind))
        for card in chunk:
            candidates = {
                pk
                for kind, values in keys[card.number].items()
                for value in values
                for pk, row_kind in by_key.get((kind, value), [])
                if row_kind == card.kind
            }
            if not candidates:
                continue
            # As the karte form hints (a same name is worth a look before another karte is
            # made); only a stronger likeness makes "skip" the suggestion (`CardPreview`).
            found = match.similar_to(
                card.record(),
                [keys_by_pk[pk] for pk in sorted(candidates)],
                threshold=HINT_THRESHOLD,
                limit=5,
            )
            result[card.number] = [
                Similar(
                    id=m.candidate.id,
                    name=names[m.candidate.id],
                    score=round(m.score, 3),
                    reasons=[str(label) for label in m.labels],
                )
                for m in found
            ]
    return result


def card_alike_in_file(cards: Sequence[CardImport]) -> dict[int, list[int]]:
    """Earlier cards of the same file that look like each card (a contact saved twice), by
    card number. Only cards that share a phone, e-mail, name or reading key are compared."""
    by_key: dict[tuple[str, str], list[CardImport]] = defaultdict(list)
    keys_of: dict[int, match.Keys] = {}
    alike: dict[int, list[int]] = {}
    for card in cards:
        if card.problems:
            continue
        mine = match.record_keys(card.record())
        earlier: set[int] = set()
        for kind, values in _lookup_keys(card).items():
            for value in values:
                earlier |= {o.number for o in by_key[(kind, value)] if o.kind == card.kind}
                by_key[(kind, value)].append(card)
        keys_of[card.number] = mine
        numbers = sorted(
            number
            for number in earlier - {card.number}
            if match.score_pair(mine, keys_of[number]).score >= HINT_THRESHOLD
        )
        if numbers:
            alike[card.number] = numbers
    return alike


def card_import_created(user: User, batch: str) -> list[Customer]:
    """The kartes this user created in one vCard import (from its history batch)."""
    ids = HistoryEntry.objects.filter(
        batch=batch,
        actor=user,
        action=HistoryEntry.Action.CREATE,
        model="customers.customer",
    ).values_list("object_id", flat=True)
    return list(customer_visible(user).filter(pk__in=list(ids)).order_by("pk"))


def card_import_done(batch: str) -> bool:
    """Whether an import with this batch has been carried out (by anyone)."""
    return HistoryEntry.objects.filter(batch=batch).exists()


def card_import_mine(user: User, batch: str) -> bool:
    return HistoryEntry.objects.filter(batch=batch, actor=user).exists()


# --- Printing ----------------------------------------------------------------------------


@dataclass
class KartePrint:
    """Everything one printed karte shows."""

    customer: Customer
    company: Customer | None
    custom_rows: list[tuple[Any, str]]
    sensitive_shown: list[str]
    tasks: list[Any]
    timeline: list[TimelineItem]
    figures: dict[str, Any]
    contacts: list[Customer] = field(default_factory=list)

    @property
    def name(self) -> str:
        return display_name(self.customer)

    @property
    def tags(self) -> list[Any]:
        return list(self.customer.tags.all())


def card_print_data(user: User, customer: Customer, company: Customer | None) -> KartePrint:
    rows, _empty, sensitive_shown = customer_custom_rows(user, customer)
    items, _cursor = karte_timeline(customer, before=None, size=PRINT_TIMELINE)
    return KartePrint(
        customer=customer,
        company=company,
        custom_rows=rows,
        sensitive_shown=sensitive_shown,
        tasks=list(tasks_open_for_customer(user, customer)[:PRINT_TASKS]),
        timeline=items,
        # The karte header's key figures (customers.karte.karte_sections), without its lists.
        figures={
            **sales_figures(customer),
            **deal_figures(customer),
            **inquiry_figures(customer),
        },
        contacts=list(customer_contacts(user, customer)[:PRINT_CONTACTS])
        if customer.is_company
        else [],
    )
