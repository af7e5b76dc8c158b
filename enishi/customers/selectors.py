"""Reads of kartes. Every function takes the acting user and returns only what they may see."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from enishi.accounts.models import User
from enishi.core.permissions import can_write, role_of
from enishi.customers.models import Customer
from enishi.customers.search import SearchQuery, candidate_ids, candidate_sql, rank_key


def visibility_q(user: User) -> Q | None:
    """The rule behind `customer_visible`, as a Q (None: no restriction; a user sees all).

    admin: everything. manager: their team's kartes (owned by a team member or assigned to the
    team) and unassigned ones. member / read-only: their own, plus their team's when
    ENISHI_MEMBER_SCOPE is "team".
    """
    role = role_of(user)
    if role == "admin":
        return None
    if role == "":
        return Q(pk__in=[])
    own = Q(owner_id=user.pk)
    team = (
        Q(team_id=user.team_id) | Q(owner__team_id=user.team_id) if user.team_id else Q(pk__in=[])
    )
    if role == "manager":
        return own | team | Q(owner__isnull=True, team__isnull=True)
    if settings.ENISHI_MEMBER_SCOPE == "team":
        return own | team
    return own


def customer_visible(user: User, *, trash: bool = False) -> QuerySet[Customer]:
    """The one permission filter for kartes: every list, search, lookup, export and API call
    starts here, so a karte a user may not see does not exist for them anywhere.
    """
    if role_of(user) == "":
        return Customer.objects.none()
    qs = Customer.objects.filter(deleted_at__isnull=not trash)
    if trash:
        # Kartes merged into another are hidden like the trash but are not in it: they come
        # back only by undoing their merge (quality.merge), never by a restore or a purge.
        from enishi.quality.models import MergedCustomer

        qs = qs.exclude(pk__in=MergedCustomer.objects.filter(active=True).values("customer_id"))
    rule = visibility_q(user)
    return qs if rule is None else qs.filter(rule)


def customer_get_for_edit(user: User, pk: int) -> Customer:
    """A karte the user may change, or 404 (read-only users cannot change anything)."""
    if not can_write(user):
        raise Http404
    return customer_get(user, pk)


def customer_get(user: User, pk: int) -> Customer:
    """A karte the user may see, or 404 (never a hint that it exists)."""
    try:
        return (
            customer_visible(user)
            .select_related("owner", "team", "company", "parent", "created_by", "updated_by")
            .get(pk=pk)
        )
    except (Customer.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


SORTS = {
    "updated": ("-updated_at", "-id"),
    "-updated": ("updated_at", "id"),
    "kana": ("kana_key", "id"),
    "-kana": ("-kana_key", "-id"),
    "created": ("-created_at", "-id"),
    "code": ("code", "id"),
}


@dataclass
class CustomerFilters:
    kind: str = ""
    status: str = ""
    rank: str = ""
    owner: int | None = None
    tag: int | None = None
    prefecture: str = ""
    channel: str = ""
    q: str = ""
    sort: str = "updated"

    def active(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None) and k != "sort"}


def customer_list(user: User, filters: CustomerFilters) -> QuerySet[Customer]:
    qs = customer_visible(user)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.rank:
        qs = qs.filter(rank=filters.rank)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.tag:
        qs = qs.filter(tags__id=filters.tag)
    if filters.prefecture:
        qs = qs.filter(prefecture=filters.prefecture)
    if filters.channel:
        qs = qs.filter(acquisition_channel=filters.channel)
    if filters.q:
        query = SearchQuery(filters.q)
        if query.method == "none":
            return qs.none()
        # The index query goes into the same SQL as the permission filter and the other
        # filters, so counts and pages are exact for every role.
        sql, params = candidate_sql(query)
        qs = qs.filter(pk__in=RawSQL(sql, params))  # noqa: S611 - our SQL, user text only in params
    return qs.order_by(*SORTS.get(filters.sort, SORTS["updated"]))


def capped_count(qs: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """(count, is_capped): counting a million rows to print "1,000+" would be wasted time."""
    cap = cap or settings.ENISHI_COUNT_CAP
    n = qs.order_by()[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


@dataclass
class SearchResult:
    customers: list[Customer] = field(default_factory=list)
    count: int = 0
    capped: bool = False
    method: str = "none"


def search_customers(user: User, query: str, *, limit: int = 20) -> SearchResult:
    """Everyone the user may see whose name, reading, company, phone, e-mail, address or code
    contains the query, best matches first. The one search used by the top bar, lists and API.
    """
    parsed = SearchQuery(query)
    if parsed.method == "none":
        return SearchResult()
    cap = settings.ENISHI_COUNT_CAP
    if visibility_q(user) is None:
        # Seeing everything: the index's newest matches are the candidates (fastest path).
        ids = candidate_ids(parsed, cap=cap + 1)
        capped = len(ids) > cap
        rows = list(customer_visible(user).filter(pk__in=ids).values_list("pk", "search_text"))
    else:
        # A narrower view: the permission filter goes into the same query, so matches the
        # user may see are never crowded out by ones they may not.
        sql, params = candidate_sql(parsed)
        rows = list(
            customer_visible(user)
            .filter(pk__in=RawSQL(sql, params))  # noqa: S611 - our SQL, user text only in params
            .order_by("-pk")
            .values_list("pk", "search_text")[: cap + 1]
        )
        capped = len(rows) > cap
        rows = rows[:cap]
    if not rows:
        return SearchResult(method=parsed.method)
    rows.sort(key=lambda row: (rank_key(parsed, row[1]), -row[0]))
    best = [pk for pk, _ in rows[:limit]]
    by_pk = {
        c.pk: c for c in Customer.objects.filter(pk__in=best).select_related("company", "owner")
    }
    return SearchResult(
        customers=[by_pk[pk] for pk in best if pk in by_pk],
        count=cap if capped else len(rows),
        capped=capped,
        method=parsed.method,
    )


def customer_contacts(user: User, company: Customer) -> QuerySet[Customer]:
    return (
        customer_visible(user)
        .filter(company=company)
        .order_by("-is_key_person", "-is_decision_maker", "kana_key", "id")
    )


def customer_subsidiaries(user: User, company: Customer) -> QuerySet[Customer]:
    return customer_visible(user).filter(parent=company).order_by("kana_key", "id")


def companies_for_choice(user: User) -> QuerySet[Customer]:
    return customer_visible(user).filter(kind=Customer.Kind.COMPANY).order_by("kana_key", "id")


def customer_visible_ids(user: User, ids: list[int | None]) -> set[int]:
    """Which of these kartes the user may see (for links to a company or parent company)."""
    wanted = [i for i in ids if i]
    if not wanted:
        return set()
    return set(customer_visible(user).filter(pk__in=wanted).values_list("pk", flat=True))


def customer_custom_rows(user: User, customer: Customer):
    """(filled rows, number of empty fields, keys of sensitive fields shown) for the karte.

    Sensitive fields (要配慮個人情報) are left out for roles that may not see them.
    """
    from enishi.core.permissions import can_view_sensitive
    from enishi.customers import fields as custom_fields

    allowed = can_view_sensitive(user)
    values = customer.custom_fields or {}
    rows, empty, sensitive_shown = [], 0, []
    for definition in custom_fields.active_definitions(customer.kind):
        if definition.sensitive and not allowed:
            continue
        shown = custom_fields.display_value(definition, values.get(definition.key))
        if not shown:
            empty += 1
            continue
        rows.append((definition, shown))
        if definition.sensitive:
            sensitive_shown.append(definition.label)
    return rows, empty, sensitive_shown


def customer_get_in_trash(user: User, pk: int) -> Customer:
    try:
        return customer_visible(user, trash=True).get(pk=pk)
    except (Customer.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None
