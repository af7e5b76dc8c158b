"""API for exports.

- `GET /customers/export/columns`: the columns this user may export.
- `GET /customers/export`: the kartes of GET /customers (same filters, same permissions) as a
  CSV or .xlsx file, at once, up to ENISHI_EXPORT_BACKGROUND_ROWS kartes.
- `POST /exports`: the same export prepared in the background (any size); poll
  `GET /exports/{id}` and fetch `GET /exports/{id}/file` when its status is "done".
- `POST /exports/full`: administrators: the full-data export (a zip), in the background.
- `GET /exports`, `DELETE /exports/{id}`: the history of exports; cancel or remove one.

Mount this router before the customers router: its paths start with /customers/.
"""

import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from enishi.api.auth import TokenAuthThen, require_write_scope
from enishi.api.errors import (
    ApiError,
    Conflict,
    Forbidden,
    Unprocessable,
    error_responses,
    rule_errors,
)
from enishi.api.schemas import Id, InSchema, Limit, PageOut, cursor_after_id, id_page, text
from enishi.core.permissions import is_admin
from enishi.customers.models import Customer
from enishi.customers.selectors import SORTS, CustomerFilters
from enishi.history.models import HistoryEntry
from enishi.transfer import selectors, services
from enishi.transfer.export import DEFAULT_COLUMNS, export_columns
from enishi.transfer.http import download_response
from enishi.transfer.models import Export

router = Router(tags=["export"])

VIA = HistoryEntry.Via.API
FORMATS = {
    ("xlsx", "utf-8"): Export.Format.XLSX,
    ("xlsx", "cp932"): Export.Format.XLSX,
    ("csv", "utf-8"): Export.Format.CSV_UTF8,
    ("csv", "cp932"): Export.Format.CSV_CP932,
}
FORMAT_NAMES = {
    Export.Format.XLSX: ("xlsx", None),
    Export.Format.CSV_UTF8: ("csv", "utf-8"),
    Export.Format.CSV_CP932: ("csv", "cp932"),
    Export.Format.ZIP: ("zip", None),
    Export.Format.PDF: ("pdf", None),
}


class Gone(ApiError):
    status = 410


def _choices(values):
    return Literal[tuple(values)]


COLUMNS_HELP = (
    "Column keys in the order wanted (see /customers/export/columns); default: "
    + ",".join(DEFAULT_COLUMNS)
    + "."
)
ENCODING_HELP = "For CSV: UTF-8 with BOM, or cp932 (Shift_JIS as Japanese Excel)."
UNENCODABLE_HELP = (
    "cp932 only: characters it cannot hold (𠮷, emoji …) refuse the export with a list of "
    "them (default), or are replaced with 〓 (recorded with the export)."
)


class ExportQuery(Schema):
    format: Literal["csv", "xlsx"] = "csv"
    encoding: Literal["utf-8", "cp932"] = Field("utf-8", description=ENCODING_HELP)
    unencodable: Literal["refuse", "replace"] = Field("refuse", description=UNENCODABLE_HELP)
    columns: text(4000) | None = Field(None, description="Separated by commas. " + COLUMNS_HELP)
    kind: _choices(Customer.Kind.values) | None = None
    status: _choices(Customer.Status.values) | None = None
    rank: _choices(Customer.Rank.values) | None = None
    owner: Id | None = Field(None, description="Owner's user id.")
    tag: text(50) | None = Field(None, description="Tag name.")
    prefecture: text(10) | None = None
    channel: _choices(Customer.Channel.values) | None = None
    q: text(100) | None = Field(None, description="Search words, as in the search box.")
    sort: _choices(SORTS) = "updated"


class ExportFilters(InSchema):
    kind: _choices(Customer.Kind.values) | None = None
    status: _choices(Customer.Status.values) | None = None
    rank: _choices(Customer.Rank.values) | None = None
    owner: Id | None = Field(None, description="Owner's user id.")
    tag: text(50) | None = Field(None, description="Tag name.")
    prefecture: text(10) | None = None
    channel: _choices(Customer.Channel.values) | None = None
    q: text(100) | None = Field(None, description="Search words, as in the search box.")
    sort: _choices(SORTS) = "updated"


class ExportIn(InSchema):
    format: Literal["csv", "xlsx"] = "csv"
    encoding: Literal["utf-8", "cp932"] = Field("utf-8", description=ENCODING_HELP)
    unencodable: Literal["refuse", "replace"] = Field("refuse", description=UNENCODABLE_HELP)
    columns: list[text(60)] | None = Field(None, max_length=500, description=COLUMNS_HELP)
    filters: ExportFilters = Field(
        default_factory=ExportFilters, description="The filters of GET /customers."
    )


class ExportColumnOut(Schema):
    key: str
    label: str
    group: str
    sensitive: bool


class UnencodableOut(Schema):
    row: int = Field(description="Row in the file (the header is row 1).")
    column: str
    characters: str
    code_points: str
    customer_id: int | None


class ExportOut(Schema):
    id: int
    kind: Literal[tuple(Export.Kind.values)]
    status: Literal[tuple(Export.Status.values)] = Field(
        description="queued → running → done; or failed, cancelled; a kept file's time "
        "running out makes it expired."
    )
    format: str = Field(
        description="csv, xlsx, zip, pdf (printable kartes), or vcard3 / vcard4 (the "
        "customer list's kartes as vCards, sent at once)."
    )
    encoding: str | None = Field(description="CSV: utf-8 (with BOM) or cp932.")
    file_name: str
    rows_done: int
    rows_total: int = Field(description="0 while not yet counted.")
    row_count: int = Field(description="Rows written (when done).")
    columns: list[str]
    filters: dict
    replace_unencodable: bool
    replaced: int = Field(description="Characters replaced with 〓 (cp932, when chosen).")
    error: str = Field(description="Why it did not finish, for people.")
    unencodable: list[UnencodableOut] = Field(
        description="cp932: the first cells with characters it cannot hold."
    )
    file_size: int
    download_url: str | None = Field(description="While the file is kept: GET it.")
    expires_at: datetime.datetime | None
    created_at: datetime.datetime
    created_by_id: int
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    via: str


class ExportPage(PageOut):
    results: list[ExportOut]


class ExportListQuery(Schema):
    mine: bool = Field(False, description="Admins: only their own exports.")
    kind: _choices(Export.Kind.values) | None = None
    status: _choices(Export.Status.values) | None = None
    cursor: text(200) | None = None
    limit: Limit = 50


FILE_TYPES = {
    "text/csv": {"schema": {"type": "string", "format": "binary"}},
    services.CONTENT_TYPES[Export.Format.XLSX]: {"schema": {"type": "string", "format": "binary"}},
    "application/zip": {"schema": {"type": "string", "format": "binary"}},
}
# A kept export may also be printable kartes (started on the customer list's print page).
KEPT_FILE_TYPES = {
    **FILE_TYPES,
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}
ONE_ERRORS = error_responses(401, 404, 422, 429)


def _out(record: Export) -> dict:
    file_format, encoding = FORMAT_NAMES.get(record.format, (record.format, None))
    return {
        "id": record.pk,
        "kind": record.kind,
        "status": Export.Status.EXPIRED if record.has_expired else record.status,
        "format": file_format,
        "encoding": encoding,
        "file_name": record.file_name,
        "rows_done": record.done,
        "rows_total": record.total,
        "row_count": record.row_count,
        "columns": record.columns,
        "filters": record.filters,
        "replace_unencodable": record.replace_unencodable,
        "replaced": record.replaced,
        "error": record.error_text,
        "unencodable": [p for p in record.problems if "row" in p],
        "file_size": record.file_size,
        "download_url": (
            reverse("api:export_file", kwargs={"id": record.pk}) if record.downloadable else None
        ),
        "expires_at": record.expires_at if record.background else None,
        "created_at": record.created_at,
        "created_by_id": record.created_by_id,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "via": record.via,
    }


def _filters(source) -> CustomerFilters:
    filters = CustomerFilters(
        kind=source.kind or "",
        status=source.status or "",
        rank=source.rank or "",
        owner=source.owner,
        prefecture=source.prefecture or "",
        channel=source.channel or "",
        q=source.q or "",
        sort=source.sort,
    )
    if source.tag:
        filters.tag = selectors.tag_id(source.tag)
        if filters.tag is None:
            field = "tag" if isinstance(source, ExportQuery) else "filters.tag"
            raise Unprocessable.field(field, "invalid", _("There is no such tag."))
    return filters


def _unencodable(exc: services.UnencodableCharacters) -> Unprocessable:
    # The field is the request's `encoding` (the choice to change, or to pair with
    # unencodable=replace); the file's column is named in the message.
    return Unprocessable(
        exc.message,
        [
            {
                "field": "encoding",
                "code": "unencodable",
                "message": _("Row %(row)s (karte %(id)s), %(column)s: %(chars)s (%(codes)s)")
                % {
                    "row": p.row,
                    "id": p.customer_id or "—",
                    "column": p.column,
                    "chars": p.characters,
                    "codes": p.code_points(),
                },
            }
            for p in exc.report.problems
        ],
    )


def _invalid(exc: ValidationError) -> ApiError:
    if getattr(exc, "code", None) in ("too_many_exports", "already_running"):
        return Conflict(" ".join(exc.messages), rule_errors(exc))
    return Unprocessable(_("Some values are not valid: see errors."), rule_errors(exc))


@router.get(
    "/customers/export/columns",
    response={200: list[ExportColumnOut], **error_responses(401, 429)},
    summary="List export columns",
)
def list_export_columns(request: HttpRequest):
    """The columns this token's user may export (sensitive fields only for roles that may see
    them), with headers in the language of the request."""
    return [
        {"key": c.key, "label": c.label, "group": c.group, "sensitive": c.sensitive}
        for c in export_columns(request.user)
    ]


@router.get(
    "/customers/export",
    response={200: None, **error_responses(401, 422, 429)},
    summary="Export customers",
    openapi_extra={
        "responses": {
            200: {"description": "The file, as an attachment.", "content": FILE_TYPES},
        }
    },
)
def export_customers(request: HttpRequest, query: Query[ExportQuery]):
    """The kartes of GET /customers with the same filters, as CSV or .xlsx, at once; recorded
    in the history like exports from the screens. More kartes than the background threshold
    (ENISHI_EXPORT_BACKGROUND_ROWS) answer 422 `too_many_rows`: use POST /exports."""
    filters = _filters(query)
    keys = [k.strip() for k in (query.columns or "").split(",") if k.strip()]
    count = selectors.export_count(request.user, filters)
    if count > services.background_threshold():
        raise Unprocessable(
            _(
                "%(count)s customers are more than an answer at once holds (%(limit)s): "
                "start the export with POST /api/v1/exports and download it when it is ready."
            )
            % {"count": f"{count:,}", "limit": f"{services.background_threshold():,}"},
            [{"field": None, "code": "too_many_rows", "message": _("Use POST /api/v1/exports.")}],
        )
    try:
        result = services.customer_export(
            actor=request.user,
            filters=filters,
            column_keys=keys or list(DEFAULT_COLUMNS),
            file_format=FORMATS[(query.format, query.encoding)],
            replace_unencodable=query.unencodable == "replace",
            via=VIA,
        )
    except services.UnencodableCharacters as exc:
        raise _unencodable(exc) from None
    except ValidationError as exc:
        raise _invalid(exc) from None
    return download_response(result)


@router.post(
    "/exports",
    response={202: ExportOut, **error_responses(400, 401, 409, 422, 429)},
    summary="Start a customer export in the background",
)
def start_export(request: HttpRequest, response: HttpResponse, payload: ExportIn):
    """Queue an export of the kartes of GET /customers (any number) with the columns and format
    chosen. Poll GET /exports/{id}; when `status` is "done", fetch `download_url`. Characters
    cp932 cannot hold make the export fail with the list in `unencodable`, unless
    `unencodable` is "replace"."""
    filters = _filters(payload.filters)
    try:
        record = services.customer_export_start(
            actor=request.user,
            filters=filters,
            column_keys=list(payload.columns or DEFAULT_COLUMNS),
            file_format=FORMATS[(payload.format, payload.encoding)],
            replace_unencodable=payload.unencodable == "replace",
            via=VIA,
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    record.refresh_from_db()
    response["Location"] = reverse("api:get_export", kwargs={"id": record.pk})
    return Status(202, _out(record))


def _require_admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise Forbidden(_("Only administrators may export all data."))


@router.post(
    "/exports/full",
    response={202: ExportOut, **error_responses(401, 403, 409, 422, 429)},
    summary="Start a full-data export (admins)",
    auth=TokenAuthThen(_require_admin),
)
def start_full_export(request: HttpRequest, response: HttpResponse):
    """Every record of every table as JSON Lines + CSV in a zip, with manifest.json; in the
    background, one at a time. Administrators only."""
    _require_admin(request)
    try:
        record = services.full_export_start(actor=request.user, via=VIA)
    except ValidationError as exc:
        raise _invalid(exc) from None
    record.refresh_from_db()
    response["Location"] = reverse("api:get_export", kwargs={"id": record.pk})
    return Status(202, _out(record))


@router.get(
    "/exports",
    response={200: ExportPage, **error_responses(401, 422, 429)},
    summary="List exports",
)
def list_exports(request: HttpRequest, query: Query[ExportListQuery]):
    """The token user's exports, newest first; administrators see everyone's."""
    qs = selectors.export_list(
        request.user, mine_only=query.mine, kind=query.kind or "", status=query.status or ""
    ).order_by("-pk")
    after = cursor_after_id(query.cursor)
    if after is not None:
        qs = qs.filter(pk__lt=after)
    items, next_cursor = id_page(list(qs[: query.limit + 1]), query.limit)
    return {"results": [_out(e) for e in items], "next_cursor": next_cursor}


@router.get(
    "/exports/{id}",
    response={200: ExportOut, **ONE_ERRORS},
    summary="Get an export (status and progress)",
    url_name="get_export",
)
def get_export(request: HttpRequest, id: Id):
    """Its creator's or, for administrators, anyone's."""
    return _out(selectors.export_get(request.user, id))


@router.get(
    "/exports/{id}/file",
    response={200: None, **error_responses(401, 404, 409, 410, 422, 429)},
    summary="Download an export's file",
    url_name="export_file",
    openapi_extra={
        "responses": {
            200: {"description": "The file, as an attachment.", "content": KEPT_FILE_TYPES},
        }
    },
)
def get_export_file(request: HttpRequest, id: Id):
    """409 while it is being prepared (or if it failed), 410 once its time is up."""
    record = selectors.export_get(request.user, id)
    try:
        result = services.export_open(actor=request.user, record=record, via=VIA)
    except ValidationError as exc:
        if getattr(exc, "code", None) == "expired":
            raise Gone(" ".join(exc.messages)) from None
        raise Conflict(" ".join(exc.messages)) from None
    return download_response(result)


@router.delete(
    "/exports/{id}",
    response={204: None, **error_responses(401, 403, 404, 422, 429)},
    summary="Cancel an export or remove its file",
    auth=TokenAuthThen(require_write_scope),
)
def delete_export(request: HttpRequest, id: Id):
    """An export being prepared is cancelled; a kept file is removed now. The record stays in
    the history. Needs a token with the write scope."""
    require_write_scope(request)
    record = selectors.export_get(request.user, id)
    services.export_discard(actor=request.user, record=record)
    return Status(204, None)
