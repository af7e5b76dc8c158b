"""API for inquiries: thin handlers over the services; records reached through visible kartes.

An inquiry is created with POST /inquiries and its `customer_id` (a customer the token's user may
see and change); everything else is reached by the inquiry's id.
"""

import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema
from ninja.responses import Status

from enishi.api import selectors as api_selectors
from enishi.api.auth import require_write, write_auth
from enishi.api.errors import Conflict, ErrorOut, Unprocessable, error_responses, rule_errors
from enishi.api.schemas import (
    Id,
    InSchema,
    Limit,
    Moment,
    PageOut,
    Version,
    cursor_after_id,
    etag,
    id_page,
    text,
    version_wanted,
)
from enishi.customers.selectors import customer_visible
from enishi.history.models import HistoryEntry
from enishi.inquiries import selectors, services
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory

router = Router(tags=["inquiries"])

VIA = HistoryEntry.Via.API
ChannelName = Literal[tuple(Inquiry.Channel.values)]
StatusName = Literal[tuple(Inquiry.Status.values)]
StatusFilter = Literal[tuple([*Inquiry.Status.values, "open"])]
Satisfaction = Annotated[int, Field(ge=1, le=5)]


class InquiryOut(Schema):
    id: int
    customer_id: int
    received_at: datetime.datetime
    channel: str
    category_id: int | None
    subject: str
    content: str
    status: str
    assignee_id: int | None
    first_response_at: datetime.datetime | None
    resolved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    satisfaction: int | None
    first_response_seconds: int | None = Field(
        description="Seconds from receipt to the first answer to the customer; null if none yet."
    )
    resolution_seconds: int | None = Field(
        description="Seconds from receipt to resolution; null while unresolved."
    )
    overdue: bool = Field(
        description="Open, unanswered and older than the response target "
        "(ENISHI_INQUIRY_RESPONSE_HOURS)."
    )
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class InquiryIn(InSchema):
    """A received inquiry; it starts as `new`."""

    customer_id: Id
    subject: text(services.SUBJECT_MAX)
    content: text(services.TEXT_MAX) | None = None
    received_at: Moment | None = Field(None, description="Default: now. Not in the future.")
    channel: ChannelName = Inquiry.Channel.PHONE
    category_id: Id | None = None
    assignee_id: Id | None = None


class InquiryPatch(InSchema):
    received_at: Moment | None = None
    channel: ChannelName | None = None
    category_id: Id | None = Field(None, description="null removes the category.")
    subject: text(services.SUBJECT_MAX) | None = None
    content: text(services.TEXT_MAX) | None = None
    status: StatusName | None = Field(
        None,
        description="resolved / closed stamp resolved_at / closed_at; an open status clears "
        "them (and the satisfaction).",
    )
    assignee_id: Id | None = Field(None, description="null: nobody.")
    satisfaction: Satisfaction | None = Field(None, description="1–5, once resolved or closed.")
    version: Version | None = Field(None, description="The version you read; or If-Match.")


class InquiryPage(PageOut):
    results: list[InquiryOut]


class InquiryConflict(ErrorOut):
    current: InquiryOut


class InquiryQuery(Schema):
    status: StatusFilter | None = Field(None, description='A status, or "open" for any open one.')
    assignee: text(20) | None = Field(None, description='"me", a user id, or "none".')
    customer_id: Id | None = None
    category_id: Id | None = None
    channel: ChannelName | None = None
    overdue: bool | None = Field(None, description="true: only overdue; false: none overdue.")
    cursor: text(200) | None = None
    limit: Limit = 50


class AnswerOut(Schema):
    id: int
    inquiry_id: int
    author_id: int | None
    body: str
    is_internal: bool
    created_at: datetime.datetime


class AnswerIn(InSchema):
    body: text(services.TEXT_MAX)
    is_internal: bool = Field(False, description="An internal note, not an answer to the customer.")
    status: StatusName | None = Field(
        None, description="Status after the answer. Default: a new inquiry becomes in_progress."
    )


class AnswerPage(PageOut):
    results: list[AnswerOut]


class AnswerQuery(Schema):
    cursor: text(200) | None = None
    limit: Limit = 50


class CategoryOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool


def _seconds(delta: datetime.timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def _inquiry(i: Inquiry) -> dict[str, Any]:
    plain = {
        name: getattr(i, name)
        for name in InquiryOut.model_fields
        if name not in ("first_response_seconds", "resolution_seconds", "overdue")
    }
    overdue = getattr(i, "is_overdue", None)
    return {
        **plain,
        "first_response_seconds": _seconds(i.first_response_time),
        "resolution_seconds": _seconds(i.resolution_time),
        "overdue": selectors.is_overdue(i) if overdue is None else overdue,
    }


def _answer(a: InquiryAnswer) -> dict[str, Any]:
    return {name: getattr(a, name) for name in AnswerOut.model_fields}


def _category(pk: int | None) -> InquiryCategory | None:
    if pk is None:
        return None
    found = selectors.category_find(pk)
    if found is None:
        raise Unprocessable.field(
            "category_id", "invalid", _("No such category: see /inquiry-categories.")
        )
    return found


# The services name the inquiry's links as the screens do; the API's requests take ids.
FIELD_NAMES = {"category": "category_id"}


def _invalid(exc: ValidationError) -> Unprocessable:
    return Unprocessable(_("Some values are not valid: see errors."), rule_errors(exc, FIELD_NAMES))


def _assignee_filter(value: str | None, user) -> tuple[int | None, bool]:
    if not value:
        return None, False
    if value == "me":
        return user.pk, False
    if value == "none":
        return None, True
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
        raise Unprocessable.field("assignee", "invalid", _('Use "me", a user id or "none".'))
    return int(value), False


READ_ERRORS = error_responses(401, 422, 429)
ONE_ERRORS = error_responses(401, 404, 422, 429)
CREATE_ERRORS = error_responses(400, 401, 403, 422, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 422, 429)
DELETE_ERRORS = error_responses(401, 403, 404, 422, 429)


@router.get("/inquiries", response={200: InquiryPage, **READ_ERRORS}, summary="List inquiries")
def list_inquiries(request: HttpRequest, query: Query[InquiryQuery]):
    """Inquiries on kartes the user may see, in id order, filtered; page with `cursor`."""
    assignee, unassigned = _assignee_filter(query.assignee, request.user)
    filters = selectors.InquiryFilters(
        status=query.status or "",
        category=query.category_id,
        channel=query.channel or "",
        assignee=assignee,
        unassigned=unassigned,
        customer=query.customer_id,
    )
    found = selectors.inquiry_page(
        request.user,
        filters,
        overdue=query.overdue,
        after=cursor_after_id(query.cursor),
        limit=query.limit + 1,
    )
    items, next_cursor = id_page(found, query.limit)
    return {"results": [_inquiry(i) for i in items], "next_cursor": next_cursor}


@router.post(
    "/inquiries",
    response={201: InquiryOut, **CREATE_ERRORS},
    summary="Record an inquiry",
    auth=write_auth(),
)
def create_inquiry(request: HttpRequest, response: HttpResponse, payload: InquiryIn):
    """For the customer `customer_id` (one the user may see; any other id is refused alike)."""
    require_write(request)
    customer = customer_visible(request.user).filter(pk=payload.customer_id).first()
    if customer is None:
        raise Unprocessable.field(
            "customer_id", "invalid", _("No such customer: use the id of a customer you can see.")
        )
    try:
        inquiry = services.inquiry_create(
            actor=request.user,
            customer=customer,
            subject=payload.subject,
            content=payload.content or "",
            received_at=payload.received_at,
            channel=payload.channel,
            category=_category(payload.category_id),
            assignee=api_selectors.user_active_or_422("assignee_id", payload.assignee_id),
            via=VIA,
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    response["ETag"] = etag(inquiry.version)
    return Status(201, _inquiry(inquiry))


@router.get("/inquiries/{id}", response={200: InquiryOut, **ONE_ERRORS}, summary="Get an inquiry")
def get_inquiry(request: HttpRequest, response: HttpResponse, id: Id):
    inquiry = selectors.inquiry_get(request.user, id)
    response["ETag"] = etag(inquiry.version)
    return _inquiry(inquiry)


@router.patch(
    "/inquiries/{id}",
    response={200: InquiryOut, 409: InquiryConflict, **WRITE_ERRORS},
    summary="Change an inquiry (status, assignee, satisfaction, …)",
    auth=write_auth(),
)
def update_inquiry(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: InquiryPatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    require_write(request)
    inquiry = selectors.inquiry_get(request.user, id)
    version = version_wanted(payload.version, if_match, current=lambda: _inquiry(inquiry))
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("subject", "received_at", "channel", "status"):
        if name in data and data[name] is None:
            raise Unprocessable.field(name, "null", _("This field cannot be empty."))
    if "content" in data and data["content"] is None:
        data["content"] = ""
    if "category_id" in data:
        data["category"] = _category(data.pop("category_id"))
    if "assignee_id" in data:
        data["assignee"] = api_selectors.user_active_or_422("assignee_id", data.pop("assignee_id"))
    try:
        inquiry = services.inquiry_update(
            actor=request.user, inquiry=inquiry, data=data, version=version, via=VIA
        )
    except services.StaleVersionError as exc:
        raise Conflict(
            _("Someone saved this record after you read it: nothing was changed."),
            current=_inquiry(exc.current),
        ) from None
    except ValidationError as exc:
        raise _invalid(exc) from None
    response["ETag"] = etag(inquiry.version)
    return _inquiry(inquiry)


@router.delete(
    "/inquiries/{id}",
    response={204: None, **DELETE_ERRORS},
    summary="Delete an inquiry",
    auth=write_auth(),
)
def delete_inquiry(request: HttpRequest, id: Id):
    require_write(request)
    inquiry = selectors.inquiry_get(request.user, id)
    services.inquiry_delete(actor=request.user, inquiry=inquiry, via=VIA)
    return Status(204, None)


@router.get(
    "/inquiries/{id}/answers",
    response={200: AnswerPage, **ONE_ERRORS},
    summary="An inquiry's answers thread",
)
def list_inquiry_answers(request: HttpRequest, id: Id, query: Query[AnswerQuery]):
    """Answers and internal notes, oldest first; page with `cursor`."""
    inquiry = selectors.inquiry_get(request.user, id)
    found = selectors.answer_page(
        request.user, inquiry, after=cursor_after_id(query.cursor), limit=query.limit + 1
    )
    items, next_cursor = id_page(found, query.limit)
    return {"results": [_answer(a) for a in items], "next_cursor": next_cursor}


@router.post(
    "/inquiries/{id}/answers",
    response={201: AnswerOut, **WRITE_ERRORS},
    summary="Answer an inquiry",
    auth=write_auth(),
)
def answer_inquiry(request: HttpRequest, response: HttpResponse, id: Id, payload: AnswerIn):
    """Adds an answer (or internal note). A closed inquiry is refused (422): reopen it first
    with PATCH status. The inquiry's new version is in the ETag."""
    require_write(request)
    inquiry = selectors.inquiry_get(request.user, id)
    try:
        answer = services.inquiry_answer(
            actor=request.user,
            inquiry=inquiry,
            body=payload.body,
            is_internal=payload.is_internal,
            status=payload.status,
            via=VIA,
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise Unprocessable(exc.messages[0], rule_errors(exc)) from None
        raise
    response["ETag"] = etag(answer.inquiry.version)
    return Status(201, _answer(answer))


@router.get(
    "/inquiry-categories",
    response={200: list[CategoryOut], **READ_ERRORS},
    summary="Inquiry categories",
)
def list_inquiry_categories(request: HttpRequest):
    """All categories in their order; those not in use are kept for old inquiries."""
    return [
        {"id": c.pk, "name": c.name, "position": c.position, "is_active": c.is_active}
        for c in selectors.categories_all()
    ]
