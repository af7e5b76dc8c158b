"""One error shape for every API failure, in the language of the request:

    {"detail": "…", "errors": [{"field": "phone", "code": "invalid", "message": "…"}]}

Service rules (Django ValidationError), ninja's schema checks, unknown or invisible records,
missing permissions, stale versions and rate limits all end up here.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as SchemaValidationError

from enishi.customers.fields import FORM_PREFIX

logger = logging.getLogger("enishi.api")


class ErrorItem(Schema):
    field: str | None
    code: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem]


def error_responses(*codes: int) -> dict[int, Any]:
    return {code: ErrorOut for code in codes}


class ApiError(Exception):
    status = 400

    def __init__(
        self, detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class Forbidden(ApiError):
    status = 403


class Conflict(ApiError):
    status = 409


def stale_conflict(current_out: dict) -> Conflict:
    """409 for a write on top of an old version: nothing was written; here is what is current."""
    return Conflict(
        _("Someone saved this record after you read it: nothing was changed."),
        current=current_out,
    )


class Unprocessable(ApiError):
    status = 422

    @classmethod
    def field(cls, field: str, code: str, message: str) -> "Unprocessable":
        return cls(
            _("Some values are not valid: see errors."),
            [{"field": field, "code": code, "message": message}],
        )


class TokenRejected(AuthenticationError):
    """A token that was recognised but cannot be used (expired, revoked): say which."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)


# Service and model field names → the names the API uses for them. A router whose request
# calls a field otherwise passes its own names to rule_errors (e.g. an inquiry's category is
# `category_id`, while a product's `category` is its own text field).
API_FIELD_NAMES = {
    "owner": "owner_id",
    "team": "team_id",
    "company": "company_id",
    "parent": "parent_id",
    "staff": "staff_id",
    "assignee": "assignee_id",
    "tag_names": "tags",
}


def api_field(name: str | None, names: Mapping[str, str] | None = None) -> str | None:
    """The name the API's request gives a service's field: "company" → "company_id",
    "cf_size" → "custom_fields.size", "lines.0.product" → "lines.0.product_id"; a rule about
    the record as a whole ("__all__") names no field."""
    if name is None or name == NON_FIELD_ERRORS:
        return None
    if name.startswith(FORM_PREFIX):
        return "custom_fields." + name[len(FORM_PREFIX) :]
    table = {**API_FIELD_NAMES, **(names or {})}
    if name in table:
        return table[name]
    parts = name.split(".")
    parts[-1] = table.get(parts[-1], parts[-1])
    return ".".join(parts)


def rule_errors(
    exc: DjangoValidationError, names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Django ValidationError (from services and models) → errors[], each field named as the
    request names it (`names`: the router's own renamings, over API_FIELD_NAMES)."""
    items = []
    groups = exc.error_dict.items() if hasattr(exc, "error_dict") else [(None, exc.error_list)]
    for name, errors in groups:
        for error in errors:
            for message in error.messages:
                items.append(
                    {
                        "field": api_field(name, names),
                        "code": error.code or "invalid",
                        "message": message,
                    }
                )
    return items


def _schema_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "string_too_long":
        return _("Too long: at most %(limit)s characters.") % {"limit": ctx.get("max_length")}
    if kind == "string_too_short":
        return _("Too short: at least %(limit)s characters.") % {"limit": ctx.get("min_length")}
    if kind in ("greater_than_equal", "greater_than"):
        return _("Enter a number no smaller than %(limit)s.") % {
            "limit": ctx.get("ge", ctx.get("gt"))
        }
    if kind in ("less_than_equal", "less_than"):
        return _("Enter a number no larger than %(limit)s.") % {
            "limit": ctx.get("le", ctx.get("lt"))
        }
    if kind.startswith("int_"):
        return _("Enter a whole number.")
    if kind in ("literal_error", "enum"):
        return _("Choose one of: %(choices)s.") % {"choices": ctx.get("expected", "")}
    if kind.startswith("datetime_") or kind == "timezone_aware":
        return _("Enter a date and time such as 2024-04-01T09:30:00+09:00.")
    if kind.startswith("date_"):
        return _("Enter a date such as 2024-04-01.")
    if kind.startswith("bool_"):
        return _("Enter true or false.")
    if kind.startswith("string_"):
        return _("Enter text.")
    if kind in ("too_short", "too_long"):
        limit = int(ctx.get("min_length" if kind == "too_short" else "max_length") or 0)
        if kind == "too_short":
            text = ngettext(
                "Give at least %(limit)s item.", "Give at least %(limit)s items.", limit
            )
        else:
            text = ngettext("Give at most %(limit)s item.", "Give at most %(limit)s items.", limit)
        return text % {"limit": limit}
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("Enter a list.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Enter an object.")
    if kind == "extra_forbidden":
        return _("There is no such field.")
    if kind in ("invalid_character", "invalid_value"):
        return str(error.get("msg", ""))
    return _("This value is not valid.")


def schema_errors(exc: SchemaValidationError) -> list[dict[str, Any]]:
    """ninja's (pydantic's) validation errors → errors[], with our own translated messages."""
    items = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ("body", "payload", "phone") → "phone"; ("query", "limit") → "limit";
        # ("file", "file") → "file"; ("form", "target") → "target"
        if loc and loc[0] in ("body", "query", "path", "header", "cookie", "form", "file"):
            loc = loc[1:]
        if loc and loc[0] == "payload":
            loc = loc[1:]
        # A bad key of an object is reported at the key itself: ("custom_fields", "x", "[key]").
        loc = [part for part in loc if part != "[key]"]
        items.append(
            {
                "field": ".".join(loc) or None,
                "code": str(error.get("type") or "invalid"),
                "message": _schema_message(error),
            }
        )
    return items


def _http_error_message(exc: HttpError) -> str:
    if isinstance(exc, TokenRejected):
        return exc.message
    if isinstance(exc, Throttled):
        return _("Too many requests for this token: wait a little and try again.")
    if exc.status_code == 401:
        return _("Send a valid token: Authorization: Bearer <token>.")
    if exc.status_code == 400:
        return _("The request body is not valid JSON.")
    if exc.status_code == 403:
        return _("You may not do this.")
    return _("The request could not be handled.")


def install_error_handlers(api: NinjaAPI) -> None:
    def respond(
        request: HttpRequest, status: int, detail: str, errors=(), **extra: Any
    ) -> HttpResponse:
        body = {"detail": detail, "errors": list(errors), **extra}
        response = api.create_response(request, body, status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="enishi"'
        return response

    @api.exception_handler(ApiError)
    def on_api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.detail, exc.errors, **exc.extra)

    @api.exception_handler(Http404)
    def on_not_found(request, exc):
        return respond(request, 404, _("Not found."))

    @api.exception_handler(PermissionDenied)
    def on_denied(request, exc):
        return respond(request, 403, _("You may not do this."))

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        return respond(request, exc.status_code, _http_error_message(exc))

    @api.exception_handler(SchemaValidationError)
    def on_schema_error(request, exc: SchemaValidationError):
        return respond(
            request, 422, _("Some values are not valid: see errors."), schema_errors(exc)
        )

    @api.exception_handler(DjangoValidationError)
    def on_rule_error(request, exc: DjangoValidationError):
        return respond(request, 422, _("Some values are not valid: see errors."), rule_errors(exc))

    @api.exception_handler(MultiPartParserError)
    def on_broken_upload(request, exc):
        return respond(
            request,
            400,
            _(
                "The upload could not be read: send the file as multipart/form-data with its "
                "boundary, and a file name of at most 255 characters."
            ),
        )

    @api.exception_handler(SuspiciousOperation)
    def on_suspicious(request, exc):
        # Too many fields, a body over the limit, a hostile header: Django answers 400 too.
        return respond(request, 400, _("The request could not be read."))

    @api.exception_handler(Exception)
    def on_bug(request, exc: Exception):
        logger.exception("API error on %s %s", request.method, request.path)
        return respond(request, 500, _("Something went wrong on our side."))
