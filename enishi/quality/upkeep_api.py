"""API for the house style and the freshness report (the clean-up runs from the screen)."""

import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema

from enishi.api.auth import require_write, write_auth
from enishi.api.errors import (
    Conflict,
    ErrorOut,
    Forbidden,
    Unprocessable,
    error_responses,
    rule_errors,
)
from enishi.api.schemas import (
    Id,
    InSchema,
    Limit,
    PageOut,
    Version,
    cursor_after_id,
    etag,
    id_page,
    version_wanted,
)
from enishi.core.models import HouseStyle
from enishi.core.permissions import is_admin
from enishi.core.records import StaleVersionError
from enishi.customers import selectors as customer_selectors
from enishi.customers import services as customer_services
from enishi.history.models import HistoryEntry
from enishi.quality import upkeep

router = Router(tags=["data quality"])
VIA = HistoryEntry.Via.API

CompanyNameRule = Literal["keep", "spell_out", "front", "back"]
StreetRule = Literal["keep", "hyphen", "hyphen_full"]
DateRule = Literal["iso", "slash", "kanji", "era"]


class HouseStyleOut(Schema):
    company_name: CompanyNameRule = Field(
        description="keep: as typed; spell_out: (株) → 株式会社 where it stands; front / back: "
        "the legal form moved to the front or back."
    )
    street: StreetRule = Field(
        description="keep: as typed; hyphen: block numbers as 1-2-3; hyphen_full: as １－２－３."
    )
    dates: DateRule = Field(
        description="How the screens show dates: 2026-04-01, 2026/04/01, "
        "2026年4月1日 or 令和8年4月1日."
    )
    version: int


class HouseStyleConflict(ErrorOut):
    current: HouseStyleOut


class HouseStylePatch(InSchema):
    company_name: CompanyNameRule | None = None
    street: StreetRule | None = None
    dates: DateRule | None = None
    version: Version | None = Field(None, description="The version you read (or If-Match).")


def _style(style: HouseStyle) -> dict:
    return {
        "company_name": style.company_name,
        "street": style.street,
        "dates": style.dates,
        "version": style.version,
    }


@router.get(
    "/house-style",
    response={200: HouseStyleOut, **error_responses(401, 429)},
    summary="The house style",
)
def get_house_style(request: HttpRequest, response: HttpResponse):
    """How company names and street addresses are written when a karte is saved, and how
    dates are shown."""
    style = upkeep.house_style_get()
    response["ETag"] = etag(style.version)
    return _style(style)


def _require_admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise Forbidden(_("Only administrators may change the house style."))


@router.patch(
    "/house-style",
    response={
        200: HouseStyleOut,
        409: HouseStyleConflict,
        **error_responses(400, 401, 403, 422, 429),
    },
    summary="Change the house style (admins)",
    auth=write_auth(_require_admin),
)
def update_house_style(
    request: HttpRequest,
    response: HttpResponse,
    payload: HouseStylePatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    require_write(request)
    _require_admin(request)
    version = version_wanted(
        payload.version, if_match, current=lambda: _style(upkeep.house_style_get())
    )
    data = payload.model_dump(exclude_none=True, exclude={"version"})
    try:
        style = upkeep.house_style_update(actor=request.user, data=data, version=version, via=VIA)
    except StaleVersionError as exc:
        raise Conflict(
            _("Someone changed the house style after you read it: nothing was changed."),
            current=_style(exc.current),
        ) from None
    except ValidationError as exc:
        raise Unprocessable(_("Some values are not valid: see errors."), rule_errors(exc)) from None
    response["ETag"] = etag(style.version)
    return _style(style)


class StaleQuery(Schema):
    months: int = Field(
        12, ge=1, le=120, description="Kartes neither updated nor confirmed for this many months."
    )
    owner: Id | None = Field(None, description="Only this owner's kartes.")
    unowned: bool = Field(False, description="Only kartes without an owner.")
    cursor: str | None = None
    limit: Limit = 50


class StaleCustomerOut(Schema):
    id: int
    name: str
    name_kana: str
    owner_id: int | None
    updated_at: datetime.datetime
    last_confirmed_at: datetime.datetime | None


class StalePage(PageOut):
    results: list[StaleCustomerOut]


@router.get(
    "/freshness",
    response={200: StalePage, **error_responses(401, 422, 429)},
    summary="Stale kartes",
)
def list_stale(request: HttpRequest, query: Query[StaleQuery]):
    """Kartes the token's user may see that nobody has updated or confirmed for `months`, in
    id order; page with `cursor`."""
    qs = upkeep.stale_customers(
        request.user, months=query.months, owner_id=query.owner, unowned=query.unowned
    ).order_by("pk")
    after = cursor_after_id(query.cursor)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    items, next_cursor = id_page(list(qs[: query.limit + 1]), query.limit)
    return {"results": items, "next_cursor": next_cursor}


class ConfirmedOut(Schema):
    id: int
    last_confirmed_at: datetime.datetime


@router.post(
    "/customers/{id}/confirm",
    response={200: ConfirmedOut, **error_responses(401, 403, 404, 422, 429)},
    summary="Mark a karte as confirmed today",
    auth=write_auth(),
)
def confirm_customer(request: HttpRequest, id: Id):
    """The facts were checked with the customer: the karte is fresh again (recorded)."""
    require_write(request)
    customer = customer_selectors.customer_get(request.user, id)
    customer = customer_services.customer_confirm(actor=request.user, customer=customer, via=VIA)
    return {"id": customer.pk, "last_confirmed_at": customer.last_confirmed_at}
