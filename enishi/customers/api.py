"""API for kartes, field definitions and search: thin handlers over the customer services and
selectors, with the same permission filter as the screens (an invisible karte is a 404).
"""

import datetime
from typing import Any, Literal

from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Header, Query, Router, Schema
from ninja.responses import Status

from enishi.api import selectors as api_selectors
from enishi.api.auth import require_write, write_auth
from enishi.api.errors import Conflict, ErrorOut, Unprocessable, error_responses
from enishi.api.schemas import (
    Day,
    Id,
    InSchema,
    Limit,
    Moment,
    PageOut,
    Text,
    Version,
    cursor_after_id,
    cursor_decode,
    cursor_encode,
    either,
    etag,
    id_page,
    text,
    version_wanted,
)
from enishi.core.permissions import can_view_sensitive
from enishi.core.timeline import cursor_from
from enishi.customers import selectors, services
from enishi.customers.karte import karte_sections, karte_timeline
from enishi.customers.models import Customer, FieldDefinition
from enishi.history.models import HistoryEntry
from enishi.history.services import history_record_view_sensitive

router = Router(tags=["customers"])

VIA = HistoryEntry.Via.API
MAX_PG_INT = 2**31 - 1


def _choices(values: list[str], *, blank: bool = False) -> Any:
    return Literal[tuple(([""] if blank else []) + list(values))]


def _limit(name: str) -> int:
    return Customer._meta.get_field(name).max_length


Kind = _choices(Customer.Kind.values)
CustomerStatus = _choices(Customer.Status.values)
Rank = _choices(Customer.Rank.values, blank=True)
Channel = _choices(Customer.Channel.values, blank=True)
Gender = _choices(Customer.Gender.values, blank=True)
CustomValue = either(
    Text | int | float | bool | list[Text] | None,
    gettext_lazy("Enter text, a number, true or false, or a list of texts."),
)


class ContactPermissions(InSchema):
    """Yes (true), no (false) or unknown (null or absent) per channel."""

    email: bool | None = None
    phone: bool | None = None
    post: bool | None = None
    sns: bool | None = None


class CustomerOut(Schema):
    id: int
    kind: str
    code: str
    name: str
    family_name: str
    given_name: str
    name_kana: str
    legal_name: str
    legal_form: str = Field(description="Read-only: detected from the name (株式会社 …).")
    corporate_number: str
    industry: str
    employees: int | None
    founded_on: datetime.date | None
    fiscal_month: int | None
    website: str
    sns: str
    parent_id: int | None
    company_id: int | None
    department: str
    title: str
    is_key_person: bool
    is_decision_maker: bool
    postal_code: str
    prefecture: str
    city: str
    town: str
    street: str
    building: str
    phone: str
    phone_e164: str = Field(description="Read-only: the phone in E.164 (+81…), or empty.")
    mobile: str
    mobile_e164: str = Field(description="Read-only.")
    fax: str
    fax_e164: str = Field(description="Read-only.")
    email: str
    email_alt: str
    birthday: datetime.date | None
    gender: str
    owner_id: int | None
    team_id: int | None
    status: str
    rank: str
    acquisition_channel: str
    contact_permissions: dict[str, bool]
    payment_terms: str
    needs: str
    preferences: str
    notes: str
    custom_fields: dict[str, Any] = Field(
        description=(
            "Extra fields by key (see /field-definitions). Sensitive fields appear only in "
            "GET /customers/{id}, for roles that may see them, and that read is logged."
        )
    )
    tags: list[str]
    version: int = Field(description="Send it back with a change (or as If-Match).")
    created_at: datetime.datetime
    updated_at: datetime.datetime
    last_confirmed_at: datetime.datetime | None


class CustomerIn(InSchema):
    """A new karte, or (PATCH) only the fields to change. null clears a field."""

    kind: Kind | None = None
    code: text(_limit("code")) | None = None
    name: text(_limit("name")) | None = None
    family_name: text(_limit("family_name")) | None = None
    given_name: text(_limit("given_name")) | None = None
    name_kana: text(_limit("name_kana")) | None = None
    legal_name: text(_limit("legal_name")) | None = None
    corporate_number: text(20) | None = None
    industry: text(_limit("industry")) | None = None
    employees: int | None = Field(None, ge=0, le=MAX_PG_INT)
    founded_on: Day | None = None
    fiscal_month: int | None = Field(None, ge=1, le=12)
    website: text(_limit("website")) | None = None
    sns: text(_limit("sns")) | None = None
    parent_id: Id | None = None
    company_id: Id | None = None
    department: text(_limit("department")) | None = None
    title: text(_limit("title")) | None = None
    is_key_person: bool | None = None
    is_decision_maker: bool | None = None
    postal_code: text(20) | None = None
    prefecture: text(_limit("prefecture")) | None = None
    city: text(_limit("city")) | None = None
    town: text(_limit("town")) | None = None
    street: text(_limit("street")) | None = None
    building: text(_limit("building")) | None = None
    phone: text(_limit("phone")) | None = None
    mobile: text(_limit("mobile")) | None = None
    fax: text(_limit("fax")) | None = None
    email: text(_limit("email")) | None = None
    email_alt: text(_limit("email_alt")) | None = None
    birthday: Day | None = None
    gender: Gender | None = None
    owner_id: Id | None = None
    team_id: Id | None = None
    status: CustomerStatus | None = None
    rank: Rank | None = None
    acquisition_channel: Channel | None = None
    contact_permissions: ContactPermissions | None = None
    payment_terms: text(_limit("payment_terms")) | None = None
    needs: text(services.LONG_TEXT_LIMIT) | None = None
    preferences: text(services.LONG_TEXT_LIMIT) | None = None
    notes: text(services.LONG_TEXT_LIMIT) | None = None
    custom_fields: dict[text(50), CustomValue] | None = Field(
        None, description="On PATCH, merged into the stored values; null removes a value."
    )
    tags: list[text(50)] | None = Field(None, description="Tag names; unknown names become tags.")


class CustomerPatch(CustomerIn):
    version: Version | None = Field(
        None,
        description=(
            "The version you read; or send it as If-Match. One of them is needed; if both are "
            "sent and differ, the answer is 409."
        ),
    )


class CustomerPage(PageOut):
    results: list[CustomerOut]


class CustomerConflict(ErrorOut):
    current: CustomerOut


class CustomerQuery(Schema):
    kind: Kind | None = None
    status: CustomerStatus | None = None
    rank: _choices(Customer.Rank.values) | None = None
    owner: Id | None = Field(None, description="Owner's user id.")
    tag: text(50) | None = Field(None, description="Tag name.")
    prefecture: text(10) | None = None
    channel: _choices(Customer.Channel.values) | None = None
    q: text(100) | None = Field(None, description="Search words, as in the search box.")
    updated_since: Moment | None = None
    cursor: text(200) | None = None
    limit: Limit = 50


class SearchQuery(Schema):
    q: text(100)
    limit: Limit = 20


class SearchOut(Schema):
    count: int
    capped: bool = Field(description="True when there are more matches than `count` says.")
    results: list[CustomerOut]


class FieldDefinitionOut(Schema):
    key: str
    label: str
    label_ja: str
    label_en: str
    definition: str
    type: str
    required: bool
    choices: list[str]
    applies_to: str
    sensitive: bool
    position: int


# --- presenting ----------------------------------------------------------------------------


TEXT_FIELDS = {
    f.name
    for f in Customer._meta.get_fields()
    if f.get_internal_type() in ("CharField", "TextField", "EmailField", "URLField")
}


def _present(
    user, customers: list[Customer], *, with_sensitive: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """Kartes as API data, and the labels of sensitive fields that were included.

    Links to a company or parent the user may not see are left out (null), as on the karte.
    """
    prefetch_related_objects(customers, "tags")
    visible = selectors.customer_visible_ids(
        user, [c.company_id for c in customers] + [c.parent_id for c in customers]
    )
    sensitive = {d.key: d for d in FieldDefinition.objects.filter(sensitive=True)}
    show_sensitive = with_sensitive and can_view_sensitive(user)
    shown: list[str] = []
    results = []
    for c in customers:
        values = {}
        for key, value in (c.custom_fields or {}).items():
            if key in sensitive:
                if not show_sensitive:
                    continue
                if value not in (None, "", []):
                    shown.append(sensitive[key].label)
            values[key] = value
        results.append(
            {
                **{name: getattr(c, name) for name in CustomerOut.model_fields if hasattr(c, name)},
                "parent_id": c.parent_id if c.parent_id in visible else None,
                "company_id": c.company_id if c.company_id in visible else None,
                "contact_permissions": {
                    k: v for k, v in (c.contact_permissions or {}).items() if isinstance(v, bool)
                },
                "custom_fields": values,
                "tags": sorted(t.name for t in c.tags.all()),
            }
        )
    return results, shown


def _one(user, customer: Customer, *, with_sensitive: bool = False) -> dict[str, Any]:
    return _present(user, [customer], with_sensitive=with_sensitive)[0][0]


# --- input → service data ---------------------------------------------------------------------


def _service_data(request: HttpRequest, payload: CustomerIn, current: Customer | None):
    """The payload as the services take it: ids become records, null clears a field."""
    user = request.user
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    errors: list[tuple[str, str, str]] = []
    # Before null becomes "" for text: a karte always has a kind and a status.
    for name in ("kind", "status"):
        if name in data and data[name] is None:
            errors.append((name, "null", _("This field cannot be empty.")))
            del data[name]
    for name in list(data):
        if data[name] is None and name in TEXT_FIELDS:
            data[name] = ""
    for name in ("is_key_person", "is_decision_maker"):
        if name in data and data[name] is None:
            data[name] = False
    if "owner_id" in data:
        pk = data.pop("owner_id")
        data["owner"] = None if pk is None else api_selectors.user_get_active(pk)
        if pk is not None and data["owner"] is None:
            errors.append(("owner_id", "invalid", _("Choose an active user.")))
    if "team_id" in data:
        pk = data.pop("team_id")
        data["team"] = None if pk is None else api_selectors.team_get(pk)
        if pk is not None and data["team"] is None:
            errors.append(("team_id", "invalid", _("There is no such team.")))
    for name in ("company", "parent"):
        if f"{name}_id" in data:
            pk = data.pop(f"{name}_id")
            try:
                data[name] = None if pk is None else selectors.customer_get(user, pk)
            except Http404:
                errors.append((f"{name}_id", "invalid", _("There is no such customer.")))
    if "contact_permissions" in data:
        data["contact_permissions"] = {
            k: v for k, v in (data["contact_permissions"] or {}).items() if v is not None
        }
    if "tags" in data:
        data["tags"] = data["tags"] or []
    if "custom_fields" in data:
        given = data["custom_fields"] or {}
        if not can_view_sensitive(user):
            hidden = set(
                FieldDefinition.objects.filter(sensitive=True).values_list("key", flat=True)
            )
            for key in sorted(hidden & set(given)):
                errors.append(
                    (
                        f"custom_fields.{key}",
                        "invalid",
                        _("There is no field “%(key)s” for this kind of customer.") % {"key": key},
                    )
                )
        merged = {**(current.custom_fields if current else {}), **given}
        data["custom_fields"] = {k: v for k, v in merged.items() if v is not None}
    if errors:
        raise Unprocessable(
            _("Some values are not valid: see errors."),
            [{"field": f, "code": c, "message": m} for f, c, m in errors],
        )
    return data


# --- endpoints ------------------------------------------------------------------------------

READ_ERRORS = error_responses(401, 422, 429)
ONE_ERRORS = error_responses(401, 404, 422, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 422, 429)


@router.get("/customers", response={200: CustomerPage, **READ_ERRORS}, summary="List customers")
def list_customers(request: HttpRequest, filters: Query[CustomerQuery]):
    """Kartes the token's user may see, in id order, filtered; page with `cursor`."""
    after = cursor_after_id(filters.cursor)
    found = api_selectors.customer_page(
        request.user,
        selectors.CustomerFilters(
            kind=filters.kind or "",
            status=filters.status or "",
            rank=filters.rank or "",
            owner=filters.owner,
            prefecture=filters.prefecture or "",
            channel=filters.channel or "",
            q=filters.q or "",
        ),
        tag_name=filters.tag or "",
        updated_since=filters.updated_since,
        after=after,
        limit=filters.limit + 1,
    )
    items, next_cursor = id_page(found, filters.limit)
    return {"results": _present(request.user, items)[0], "next_cursor": next_cursor}


@router.post(
    "/customers",
    response={201: CustomerOut, **error_responses(400, 401, 403, 422, 429)},
    summary="Create a customer",
    auth=write_auth(),
)
def create_customer(request: HttpRequest, response: HttpResponse, payload: CustomerIn):
    require_write(request)
    customer = services.customer_create(
        actor=request.user, data=_service_data(request, payload, None), via=VIA
    )
    response["ETag"] = etag(customer.version)
    response["Location"] = f"{request.path.rstrip('/')}/{customer.pk}"
    return Status(201, _one(request.user, customer))


@router.get("/customers/{id}", response={200: CustomerOut, **ONE_ERRORS}, summary="Get a customer")
def get_customer(request: HttpRequest, response: HttpResponse, id: Id):
    """The karte, with sensitive fields for roles that may see them (such reads are logged)."""
    customer = selectors.customer_get(request.user, id)
    results, shown = _present(request.user, [customer], with_sensitive=True)
    if shown:
        history_record_view_sensitive(actor=request.user, customer=customer, fields=shown, via=VIA)
    response["ETag"] = etag(customer.version)
    return results[0]


@router.patch(
    "/customers/{id}",
    response={200: CustomerOut, 409: CustomerConflict, **WRITE_ERRORS},
    summary="Change a customer",
    auth=write_auth(),
)
def update_customer(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: CustomerPatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    """Only the fields sent change. Send the version you read (body or If-Match): if someone
    saved the karte since, nothing is written and the answer is 409 with the current karte."""
    require_write(request)
    customer = selectors.customer_get(request.user, id)
    version = version_wanted(
        payload.version, if_match, current=lambda: _one(request.user, customer)
    )
    try:
        customer = services.customer_update(
            actor=request.user,
            customer=customer,
            data=_service_data(request, payload, customer),
            version=version,
            via=VIA,
        )
    except services.StaleVersionError as exc:
        raise Conflict(
            _("Someone saved this customer after you read it: nothing was changed."),
            current=_one(request.user, exc.current),
        ) from None
    response["ETag"] = etag(customer.version)
    return _one(request.user, customer)


@router.delete(
    "/customers/{id}",
    response={204: None, **error_responses(401, 403, 404, 422, 429)},
    summary="Move a customer to the trash",
    auth=write_auth(),
)
def delete_customer(request: HttpRequest, id: Id):
    """The karte, its activities and tasks go to the trash (restorable on the screens)."""
    require_write(request)
    customer = selectors.customer_get(request.user, id)
    services.customer_delete(actor=request.user, customer=customer, via=VIA)
    return Status(204, None)


@router.get("/search", response={200: SearchOut, **READ_ERRORS}, tags=["search"], summary="Search")
def search(request: HttpRequest, query: Query[SearchQuery]):
    """Names, readings, companies, phones in any format, e-mails, addresses and codes, best
    matches first (the search box's search). Counts beyond the cap are reported as capped."""
    result = selectors.search_customers(request.user, query.q, limit=query.limit)
    return {
        "count": result.count,
        "capped": result.capped,
        "results": _present(request.user, result.customers)[0],
    }


@router.get(
    "/field-definitions",
    response={200: list[FieldDefinitionOut], **error_responses(401, 429)},
    tags=["field-definitions"],
    summary="List extra field definitions",
)
def list_field_definitions(request: HttpRequest):
    """The 項目定義シート: the keys that `custom_fields` takes, with their types and choices."""
    return [
        {
            "key": d.key,
            "label": d.label,
            "label_ja": d.label_ja,
            "label_en": d.label_en,
            "definition": d.definition,
            "type": d.type,
            "required": d.required,
            "choices": [str(c) for c in d.choices or []],
            "applies_to": d.applies_to,
            "sensitive": d.sensitive,
            "position": d.position,
        }
        for d in api_selectors.field_definitions_for(request.user)
    ]


# --- the karte beyond the facts: key figures and the one timeline ------------------------------


class KarteFiguresOut(Schema):
    lifetime_revenue: str = Field(
        description="Sum of order totals incl. tax (yen), cancelled excluded."
    )
    last_purchase: datetime.date | None
    order_count: int
    open_deals: int
    open_deal_amount: str = Field(description="Open deals in JPY, before weighting.")
    deal_count: int
    open_inquiries: int
    inquiry_count: int
    next_renewal: datetime.date | None
    running_contracts: int


class TimelineEntryOut(Schema):
    kind: Literal["activity", "deal", "deal_stage", "inquiry", "order", "contract"]
    id: int = Field(
        description="The id of the activity, deal, stage move, inquiry, order or contract."
    )
    at: datetime.datetime = Field(
        description="Dated records (orders, contracts) sit at local midnight."
    )
    title: str
    detail: str


class TimelineOut(PageOut):
    results: list[TimelineEntryOut]


class KarteTimelineQuery(Schema):
    kind: Literal["activity", "deal", "inquiry", "order", "contract"] | None = Field(
        None, description="Only this kind (deal includes its stage moves)."
    )
    cursor: text(200) | None = None
    limit: Limit = 50


def _timeline_entry(item) -> dict[str, Any]:
    obj = item.obj
    title, detail = {
        "activity": lambda: (obj.subject or obj.get_type_display(), obj.get_type_display()),
        "deal": lambda: (obj.title, f"{obj.stage.name} {obj.amount} {obj.currency}"),
        "deal_stage": lambda: (obj.deal.title, f"{obj.from_stage.name} → {obj.to_stage.name}"),
        "inquiry": lambda: (obj.subject, obj.get_status_display()),
        "order": lambda: (str(obj), f"{obj.total} JPY {obj.get_status_display()}"),
        "contract": lambda: (obj.plan, f"{obj.amount} JPY {obj.get_period_display()}"),
    }[item.kind]()
    return {"kind": item.kind, "id": item.id, "at": item.at, "title": title, "detail": detail}


@router.get(
    "/customers/{id}/figures",
    response={200: KarteFiguresOut, **ONE_ERRORS},
    summary="A customer's key figures",
)
def get_customer_figures(request: HttpRequest, id: Id):
    """What the karte's header shows: revenue, last purchase, open deals and inquiries, renewal."""
    customer = selectors.customer_get(request.user, id)
    figures = karte_sections(customer).figures
    return {
        **figures,
        # Whole yen, the same on SQLite and PostgreSQL.
        "lifetime_revenue": f"{figures['lifetime_revenue']:.0f}",
        "open_deal_amount": f"{figures['open_deal_amount']:.0f}",
    }


@router.get(
    "/customers/{id}/timeline",
    response={200: TimelineOut, **ONE_ERRORS},
    summary="A customer's whole timeline",
)
def get_customer_timeline(request: HttpRequest, id: Id, query: Query[KarteTimelineQuery]):
    """Activities, deals and their stage moves, inquiries, orders and contracts, newest first;
    page with `cursor`."""
    customer = selectors.customer_get(request.user, id)
    before = None
    if query.cursor:
        data = cursor_decode(query.cursor)
        before = cursor_from(str(data.get("at")), str(data.get("rank")), str(data.get("id")))
        if before is None:
            raise Unprocessable.field(
                "cursor",
                "invalid",
                _("This cursor is not valid: use next_cursor from a previous page."),
            )
    items, cursor = karte_timeline(customer, kind=query.kind or "", before=before, size=query.limit)
    next_cursor = (
        cursor_encode({"at": cursor.at.isoformat(), "rank": cursor.rank, "id": cursor.id})
        if cursor
        else None
    )
    return {"results": [_timeline_entry(i) for i in items], "next_cursor": next_cursor}
