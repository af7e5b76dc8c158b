"""Building blocks shared by the API routers: checked text and times, ids, cursors, versions."""

import base64
import binascii
import datetime
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from enishi.api.errors import Conflict, Unprocessable

MAX_ID = 2**63 - 1
MAX_VERSION = 2**31 - 1
MAX_PAGE = 200
DEFAULT_PAGE = 50


def _check_text(value: str) -> str:
    # NUL cannot be stored in a PostgreSQL text column, and a lone surrogate cannot be encoded:
    # both are refused here, at the boundary, with the field named.
    if "\x00" in value:
        raise PydanticCustomError(
            "invalid_character", _("The text contains a NUL character, which cannot be stored.")
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "invalid_character", _("The text contains characters that are not valid Unicode.")
        ) from None
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    # pydantic would also take 1700000000 or "0.5" as a Unix time: the API speaks ISO 8601 only.
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise PydanticCustomError("date_parsing", _("Enter a date such as 2024-04-01."))
    return value


def _check_moment(value: datetime.datetime) -> datetime.datetime:
    if not 1900 <= value.year <= 2999:
        raise PydanticCustomError("invalid_value", _("Enter a date between 1900 and 2999."))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _check_day(value: datetime.date) -> datetime.date:
    if not 1900 <= value.year <= 2999:
        raise PydanticCustomError("invalid_value", _("Enter a date between 1900 and 2999."))
    return value


Text = Annotated[str, AfterValidator(_check_text)]
Moment = Annotated[datetime.datetime, BeforeValidator(_iso_only), AfterValidator(_check_moment)]
Day = Annotated[datetime.date, BeforeValidator(_iso_only), AfterValidator(_check_day)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description="Page size, 1 to 200.")]


def either(union: Any, message: Promise) -> Any:
    """A union of types that reports a bad value as one error at the value's own place.

    pydantic reports every member's failure, each under the member's internal name
    (`custom_fields.size.int`, `….function-after[_check_text(), str]`): names no client sent.
    The document still shows the members (anyOf).
    """
    adapter = TypeAdapter(union)

    def check(value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except PydanticValidationError as exc:
            # A member's own rule (NUL in a text) says more than "not any of these".
            own = [e for e in exc.errors() if e["type"] in ("invalid_character", "invalid_value")]
            if own:
                raise PydanticCustomError(own[0]["type"], own[0]["msg"]) from None
            raise PydanticCustomError("invalid_value", str(message)) from None

    return Annotated[Any, PlainValidator(check), WithJsonSchema(adapter.json_schema())]


def text(max_length: int | None = None):
    """Checked text with an optional length limit (shown in the OpenAPI document)."""
    if max_length is None:
        return Text
    return Annotated[str, Field(max_length=max_length), AfterValidator(_check_text)]


class InSchema(Schema):
    """Request bodies: unknown fields are refused, so a typo is noticed instead of ignored."""

    model_config = ConfigDict(extra="forbid")


class PageOut(Schema):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


# --- cursors: opaque to clients, plain JSON underneath ---------------------------------------


def cursor_encode(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise _bad_cursor()
    return data


def _bad_cursor() -> Unprocessable:
    return Unprocessable.field(
        "cursor", "invalid", _("This cursor is not valid: use next_cursor from a previous page.")
    )


def cursor_after_id(cursor: str | None) -> int | None:
    if not cursor:
        return None
    value = cursor_decode(cursor).get("id")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise _bad_cursor()
    return value


def id_page(items: list, limit: int) -> tuple[list, str | None]:
    """Selectors are asked for limit + 1 rows: the extra one only says that more follow."""
    more = len(items) > limit
    items = items[:limit]
    return items, (cursor_encode({"id": items[-1].pk}) if more else None)


# --- optimistic locking ------------------------------------------------------------------


_IF_MATCH = re.compile(r'\s*(?:W/)?"?(\d{1,10})"?\s*')


def etag(version: int) -> str:
    return f'"{version}"'


def _if_match_version(if_match: str) -> int:
    match = _IF_MATCH.fullmatch(if_match)
    if match is None or not 1 <= int(match.group(1)) <= MAX_VERSION:
        raise Unprocessable.field(
            "If-Match", "invalid", _('Send If-Match as the ETag you read, e.g. "3".')
        )
    return int(match.group(1))


def version_wanted(
    body_version: int | None, if_match: str | None, *, current: Callable[[], dict[str, Any]]
) -> int:
    """The version the writer read: `version` in the body or the If-Match header.

    Sent both ways, they must agree: if they do not, one of them is not what the writer last
    read, so nothing is written and the answer is 409 with the current record (`current` gives
    it as the API shows it), as for any stale version, never a silent choice of one of them.
    """
    header_version = _if_match_version(if_match) if if_match else None
    if body_version is not None and header_version is not None and body_version != header_version:
        message = _(
            "The version in the body (%(body)s) and the If-Match header (%(header)s) disagree: "
            "nothing was changed. Send the version you read, in one of them or the same in both."
        ) % {"body": body_version, "header": header_version}
        raise Conflict(
            message,
            [{"field": "version", "code": "version_mismatch", "message": message}],
            current=current(),
        )
    if body_version is not None:
        return body_version
    if header_version is not None:
        return header_version
    raise Unprocessable.field(
        "version",
        "required",
        _(
            "Send the version you read (version in the body, or an If-Match header), "
            "so that no one's changes are overwritten."
        ),
    )
