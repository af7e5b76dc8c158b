"""API for deals and pipelines: thin handlers over the deal services and selectors; a deal is
reached through a karte the user may see (anything else is a 404, as for a deal that never
existed). Money is a decimal string in answers ("1200000.00") and a number or string in requests.
"""

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema
from ninja.responses import Status

from enishi.api import selectors as api_selectors
from enishi.api.auth import require_write, write_auth
from enishi.api.errors import (
    Conflict,
    ErrorOut,
    Unprocessable,
    error_responses,
    rule_errors,
    stale_conflict,
)
from enishi.api.schemas import (
    Day,
    Id,
    InSchema,
    Limit,
    PageOut,
    Version,
    cursor_after_id,
    etag,
    id_page,
    text,
    version_wanted,
)
from enishi.customers.selectors import customer_get, customer_visible_ids
from enishi.deals import selectors, services
from enishi.deals.models import Deal, Stage
from enishi.history.models import HistoryEntry

router = Router(tags=["deals"])

VIA = HistoryEntry.Via.API
Currency = Literal[tuple(services.CURRENCIES)]
Money = Annotated[
    Decimal,
    Field(
        description=(
            "A decimal number or string, 0 to 999999999999; whole numbers for JPY and KRW, "
            "at most 2 decimal places otherwise."
        )
    ),
]
# Service field names → the names this API uses for them.
FIELD_NAMES = {
    "stage": "stage_id",
    "pipeline": "pipeline_id",
    "owner": "owner_id",
    "contacts": "contact_ids",
    "customer": "customer_id",
}


def _max(name: str) -> int:
    return Deal._meta.get_field(name).max_length


# --- schemas ----------------------------------------------------------------------------------


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int = Field(description="The default probability (%) of deals in this stage.")
    outcome: str = Field(description="open, won or lost.")
    is_active: bool = Field(description="Retired stages keep their deals but take no new ones.")


class PipelineOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    stages: list[StageOut]


class DealOut(Schema):
    id: int
    customer_id: int
    pipeline_id: int
    stage_id: int
    outcome: str = Field(description="The stage's outcome: open, won or lost.")
    title: str
    amount: Decimal
    currency: str
    probability: int
    weighted_amount: Decimal = Field(description="amount × probability / 100.")
    expected_close_on: datetime.date | None
    owner_id: int | None
    contact_ids: list[int] = Field(description="Contact persons at the customer you may see.")
    competitors: str
    decision_process: str
    next_action: str
    next_action_due: datetime.date | None
    lost_reason: str
    closed_on: datetime.date | None
    stage_entered_at: datetime.datetime
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class DealFields(InSchema):
    amount: Money | None = None
    currency: Currency | None = None
    probability: int | None = Field(None, ge=0, le=100)
    expected_close_on: Day | None = None
    owner_id: Id | None = Field(None, description="Default on create: the token's user.")
    contact_ids: list[Id] | None = Field(
        None, max_length=100, description="Persons whose company is the deal's customer."
    )
    competitors: text(_max("competitors")) | None = None
    decision_process: text(services.LONG_TEXT_LIMIT) | None = None
    next_action: text(_max("next_action")) | None = Field(
        None, description="Becomes a task on the karte (with next_action_due)."
    )
    next_action_due: Day | None = None
    lost_reason: text(_max("lost_reason")) | None = Field(
        None, description="Only for deals in a lost stage, where it is required."
    )


class DealIn(DealFields):
    """A new deal. The probability defaults to the stage's."""

    customer_id: Id
    stage_id: Id
    pipeline_id: Id | None = Field(None, description="Optional: must be the stage's pipeline.")
    title: text(_max("title"))


class DealPatch(DealFields):
    title: text(_max("title")) | None = None
    version: Version | None = Field(None, description="The version you read; or If-Match.")


class MoveIn(InSchema):
    stage_id: Id = Field(description="A stage of the deal's pipeline.")
    version: Version | None = Field(None, description="The version you read; or If-Match.")
    lost_reason: text(_max("lost_reason")) | None = Field(
        None, description="Required when the stage is a lost stage."
    )


class DealPage(PageOut):
    results: list[DealOut]


class DealConflict(ErrorOut):
    current: DealOut


class StageChangeOut(Schema):
    id: int
    from_stage_id: int | None = Field(description="null for the stage the deal started in.")
    to_stage_id: int
    changed_at: datetime.datetime
    changed_by_id: int | None


class DealQuery(Schema):
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    owner: text(20) | None = Field(None, description='"me" or a user id.')
    customer_id: Id | None = None
    status: Literal["open", "won", "lost"] | None = None
    close_from: Day | None = Field(None, description="Expected close on or after.")
    close_to: Day | None = Field(None, description="Expected close on or before.")
    q: text(100) | None = Field(None, description="Words in the title or the customer's name.")
    amount_min: Decimal | None = Field(None, ge=0, le=services.MAX_AMOUNT)
    cursor: text(200) | None = None
    limit: Limit = 50


class ForecastQuery(Schema):
    by: Literal["month", "owner"] = "month"
    pipeline_id: Id | None = None
    owner: text(20) | None = Field(None, description='"me" or a user id.')
    start: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")] | None = Field(
        None, description="First month (YYYY-MM) of a by-month forecast; default: this month."
    )
    months: int = Field(12, ge=1, le=60)


class MoneyOut(Schema):
    currency: str
    value: Decimal = Field(description="Pipeline value: the sum of the open deals' amounts.")
    weighted: Decimal = Field(description="Σ amount × probability / 100.")


class ForecastGroupOut(Schema):
    count: int
    money: list[MoneyOut] = Field(description="Per currency (never added across currencies).")


class ForecastRowOut(ForecastGroupOut):
    key: str = Field(
        description=(
            'By month: "YYYY-MM", "earlier" (overdue), "later" or "none" (no date). '
            'By owner: the user id, or "none".'
        )
    )
    label: str


class ForecastOut(Schema):
    by: str
    start: datetime.date | None
    months: int
    rows: list[ForecastRowOut]
    total: ForecastGroupOut


# --- presenting and reading input --------------------------------------------------------------


def _present(user, deals: list[Deal]) -> list[dict[str, Any]]:
    """Deals as API data; contact ids only of persons the user may see (as on the screens)."""
    contacts = {d.pk: [c.pk for c in d.contacts.all()] for d in deals}
    visible = customer_visible_ids(user, [pk for ids in contacts.values() for pk in ids])
    return [
        {
            **{name: getattr(d, name) for name in DealOut.model_fields if hasattr(d, name)},
            "outcome": d.stage.outcome,
            "weighted_amount": selectors.money_rounded(d.weighted_amount, d.currency),
            "contact_ids": sorted(pk for pk in contacts[d.pk] if pk in visible),
        }
        for d in deals
    ]


def _one(user, deal: Deal) -> dict[str, Any]:
    return _present(user, [deal])[0]


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable.field(field, "invalid", message)


def _rules_failed(exc: ValidationError) -> Unprocessable:
    return Unprocessable(_("Some values are not valid: see errors."), rule_errors(exc, FIELD_NAMES))


def _owner_id(request: HttpRequest, value: str | None) -> int | None:
    if not value:
        return None
    if value == "me":
        return request.user.pk
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
        raise _invalid("owner", _('Use "me" or a user id.'))
    return int(value)


def _data(request: HttpRequest, payload: DealFields, customer, current: Deal | None):
    """The payload as the services take it: ids become records, null clears a text field."""
    data = payload.model_dump(exclude_unset=True, exclude={"version", "stage_id", "pipeline_id"})
    data.pop("customer_id", None)
    for name in ("competitors", "decision_process", "next_action", "lost_reason"):
        if name in data and data[name] is None:
            data[name] = ""
    for name in ("title", "amount", "currency", "probability"):
        if name in data and data[name] is None:
            raise Unprocessable.field(name, "null", _("This field cannot be empty."))
    if "owner_id" in data:
        pk = data.pop("owner_id")
        data["owner"] = None if pk is None else api_selectors.user_get_active(pk)
        if pk is not None and data["owner"] is None:
            raise _invalid("owner_id", _("Choose an active user."))
    if "contact_ids" in data:
        wanted = set(data.pop("contact_ids") or [])
        found = list(selectors.contact_choices(request.user, customer).filter(pk__in=wanted))
        if len(found) != len(wanted):
            raise _invalid(
                "contact_ids",
                _("Choose persons whose company is %(company)s.") % {"company": customer.name},
            )
        if current is not None:
            # Contacts the user may not see stay (they could not have been sent).
            seen = customer_visible_ids(request.user, [c.pk for c in current.contacts.all()])
            found += [c for c in current.contacts.all() if c.pk not in seen]
        data["contacts"] = found
    return data


def _stale(exc: services.StaleVersionError, user) -> Conflict:
    return stale_conflict(_one(user, selectors.deal_get(user, exc.current.pk)))


READ_ERRORS = error_responses(401, 422, 429)
ONE_ERRORS = error_responses(401, 404, 422, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 422, 429)


# --- pipelines and forecast -------------------------------------------------------------------


@router.get(
    "/pipelines",
    response={200: list[PipelineOut], **error_responses(401, 429)},
    summary="List pipelines and their stages",
)
def list_pipelines(request: HttpRequest):
    """Every pipeline (retired ones too, with is_active false), stages in board order."""
    return [
        {
            "id": p.pk,
            "name": p.name,
            "position": p.position,
            "is_active": p.is_active,
            "stages": [
                {name: getattr(s, name) for name in StageOut.model_fields}
                for s in sorted(p.stages.all(), key=lambda s: (s.position, s.pk))
            ],
        }
        for p in selectors.pipeline_list(active_only=False)
    ]


def _group(money: selectors.Money) -> dict[str, Any]:
    return {
        "count": money.count,
        "money": [
            {"currency": c, "value": value, "weighted": weighted}
            for c, value, weighted in money.items()
        ],
    }


@router.get(
    "/deals/forecast",
    response={200: ForecastOut, **READ_ERRORS},
    summary="Pipeline value and weighted forecast",
)
def get_deal_forecast(request: HttpRequest, query: Query[ForecastQuery]):
    """Open deals you may see: their sum (pipeline value) and Σ amount × probability / 100
    (weighted forecast), per currency, by expected-close month or by owner."""
    start = None
    if query.start:
        try:
            start = datetime.datetime.strptime(query.start, "%Y-%m").date()
        except ValueError:
            raise _invalid("start", _("Enter a month such as 2026-04.")) from None
        if not 1900 <= start.year <= 2999:
            raise _invalid("start", _("Enter a date between 1900 and 2999."))
    filters = selectors.DealFilters(
        pipeline=query.pipeline_id, owner=_owner_id(request, query.owner)
    )
    found = selectors.forecast(
        request.user, filters=filters, by=query.by, start=start, months=query.months
    )
    return {
        "by": found.by,
        "start": found.start,
        "months": found.months,
        "rows": [
            {"key": r.key, "label": r.label, **_group(r.money)}
            for r in found.rows
            if r.money.count or r.month
        ],
        "total": _group(found.total),
    }


# --- deals ------------------------------------------------------------------------------------


@router.get("/deals", response={200: DealPage, **READ_ERRORS}, summary="List deals")
def list_deals(request: HttpRequest, query: Query[DealQuery]):
    """Deals on kartes you may see, in id order, filtered; page with `cursor`."""
    filters = selectors.DealFilters(
        pipeline=query.pipeline_id,
        stage=query.stage_id,
        owner=_owner_id(request, query.owner),
        customer=query.customer_id,
        status=query.status or "",
        close_from=query.close_from,
        close_to=query.close_to,
        q=query.q or "",
        amount_min=query.amount_min,
    )
    found = selectors.deal_page(
        request.user, filters, after=cursor_after_id(query.cursor), limit=query.limit + 1
    )
    items, next_cursor = id_page(found, query.limit)
    stages = {s.pk: s for s in Stage.objects.filter(pk__in={d.stage_id for d in items})}
    for deal in items:
        deal.stage = stages[deal.stage_id]
    return {"results": _present(request.user, items), "next_cursor": next_cursor}


@router.post(
    "/deals",
    response={201: DealOut, **error_responses(400, 401, 403, 422, 429)},
    summary="Create a deal",
    auth=write_auth(),
)
def create_deal(request: HttpRequest, response: HttpResponse, payload: DealIn):
    """A deal on a karte you may change; a next action becomes a task."""
    require_write(request)
    try:
        customer = customer_get(request.user, payload.customer_id)
    except Http404:
        raise _invalid("customer_id", _("There is no such customer.")) from None
    stage = selectors.stage_get(payload.stage_id)
    if stage is None:
        raise _invalid("stage_id", _("There is no such stage."))
    pipeline = None
    if payload.pipeline_id is not None:
        pipeline = selectors.pipeline_find(payload.pipeline_id)
        if pipeline is None:
            raise _invalid("pipeline_id", _("There is no such pipeline."))
    data = _data(request, payload, customer, None)
    try:
        deal = services.deal_create(
            actor=request.user, customer=customer, stage=stage, pipeline=pipeline, via=VIA, **data
        )
    except ValidationError as exc:
        raise _rules_failed(exc) from None
    deal = selectors.deal_get(request.user, deal.pk)
    response["ETag"] = etag(deal.version)
    response["Location"] = f"{request.path.rstrip('/')}/{deal.pk}"
    return Status(201, _one(request.user, deal))


@router.get("/deals/{id}", response={200: DealOut, **ONE_ERRORS}, summary="Get a deal")
def get_deal(request: HttpRequest, response: HttpResponse, id: Id):
    deal = selectors.deal_get(request.user, id)
    response["ETag"] = etag(deal.version)
    return _one(request.user, deal)


@router.patch(
    "/deals/{id}",
    response={200: DealOut, 409: DealConflict, **WRITE_ERRORS},
    summary="Change a deal",
    auth=write_auth(),
)
def update_deal(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: DealPatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    """Only the fields sent change (the stage changes through /move). Send the version you
    read: if someone saved the deal since, nothing is written and the answer is 409."""
    require_write(request)
    deal = selectors.deal_get(request.user, id)
    version = version_wanted(payload.version, if_match, current=lambda: _one(request.user, deal))
    data = _data(request, payload, deal.customer, deal)
    try:
        deal = services.deal_update(
            actor=request.user, deal=deal, data=data, version=version, via=VIA
        )
    except services.StaleVersionError as exc:
        raise _stale(exc, request.user) from None
    except ValidationError as exc:
        raise _rules_failed(exc) from None
    deal = selectors.deal_get(request.user, deal.pk)
    response["ETag"] = etag(deal.version)
    return _one(request.user, deal)


@router.delete(
    "/deals/{id}",
    response={204: None, **error_responses(401, 403, 404, 422, 429)},
    summary="Move a deal to the trash",
    auth=write_auth(),
)
def delete_deal(request: HttpRequest, id: Id):
    require_write(request)
    deal = selectors.deal_get(request.user, id)
    services.deal_delete(actor=request.user, deal=deal, via=VIA)
    return Status(204, None)


@router.post(
    "/deals/{id}/move",
    response={200: DealOut, 409: DealConflict, **WRITE_ERRORS},
    summary="Move a deal to another stage",
    auth=write_auth(),
)
def move_deal(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: MoveIn,
    if_match: str | None = Header(None, alias="If-Match"),
):
    """The probability becomes the stage's default; won and lost stages set closed_on (moving
    back to an open stage clears it); a lost stage needs lost_reason. Kept in stage-changes."""
    require_write(request)
    deal = selectors.deal_get(request.user, id)
    version = version_wanted(payload.version, if_match, current=lambda: _one(request.user, deal))
    stage = selectors.stage_get(payload.stage_id)
    if stage is None:
        raise _invalid("stage_id", _("There is no such stage."))
    try:
        deal = services.deal_move(
            actor=request.user,
            deal=deal,
            stage=stage,
            version=version,
            lost_reason=payload.lost_reason or "",
            via=VIA,
        )
    except services.StaleVersionError as exc:
        raise _stale(exc, request.user) from None
    except ValidationError as exc:
        raise _rules_failed(exc) from None
    deal = selectors.deal_get(request.user, deal.pk)
    response["ETag"] = etag(deal.version)
    return _one(request.user, deal)


@router.get(
    "/deals/{id}/stage-changes",
    response={200: list[StageChangeOut], **ONE_ERRORS},
    summary="A deal's stage history",
)
def list_deal_stage_changes(request: HttpRequest, id: Id):
    """Every stage the deal entered, oldest first: from → to, when, by whom."""
    deal = selectors.deal_get(request.user, id)
    return [
        {name: getattr(c, name) for name in StageChangeOut.model_fields}
        for c in selectors.stage_changes_for(deal)
    ]
