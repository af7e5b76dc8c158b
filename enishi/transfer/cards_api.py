"""API for vCards and printed kartes: a karte's vCard (3.0 / 4.0) and A4 PDF, and vCard import.

The import is one operation in two modes: without `commit` it reads the file and answers what
every card would become (its problems, the company it would be linked to, similar customers)
and saves nothing; with `commit=true` (the same file again) it creates the cards chosen by
`create`, all of them or none. Mount this router before the customers router (its paths start
with /customers/).
"""

from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile
from ninja.responses import Status

from enishi.api.auth import require_write, write_auth
from enishi.api.errors import ApiError, Unprocessable, error_responses
from enishi.api.schemas import Id
from enishi.customers.selectors import customer_get
from enishi.history.models import HistoryEntry
from enishi.transfer import card_selectors as selectors
from enishi.transfer import card_services as services
from enishi.transfer.card_views import file_response


class TooLarge(ApiError):
    status = 413


router = Router(tags=["cards"])
VIA = HistoryEntry.Via.API


def _binary(content_type: str) -> dict:
    return {content_type: {"schema": {"type": "string", "format": "binary"}}}


class VCardQuery(Schema):
    version: Literal["3.0", "4.0"] = Field(
        "3.0",
        description=(
            "3.0 is what iPhone, Android, Google Contacts and Outlook read best (kana readings "
            "as X-PHONETIC-*); 4.0 adds N;SORT-AS."
        ),
    )
    contacts: bool = Field(
        False, description="For a company: its contact persons (those you may see) instead."
    )


@router.get(
    "/customers/{id}/vcard",
    response={200: None, **error_responses(401, 404, 422, 429)},
    summary="Get a customer's vCard",
    openapi_extra={
        "responses": {
            200: {
                "description": "The .vcf file, as an attachment.",
                "content": _binary("text/vcard"),
            }
        }
    },
)
def get_customer_vcard(request: HttpRequest, id: Id, query: Query[VCardQuery]):
    """The karte as a vCard (a company as itself, with ORG). Recorded in the karte's history."""
    customer = customer_get(request.user, id)
    people = selectors.card_people(request.user, customer, contacts=query.contacts)
    if not people:
        raise Unprocessable.field(
            "contacts", "empty", _("This company has no contact persons you can see.")
        )
    result = services.card_vcard_export(
        actor=request.user, customers=people, version=query.version, via=VIA
    )
    return file_response(result)


@router.get(
    "/customers/{id}/pdf",
    response={200: None, **error_responses(401, 404, 422, 429)},
    summary="Get a customer's printable karte (PDF)",
    openapi_extra={
        "responses": {
            200: {"description": "A4 PDF, as an attachment.", "content": _binary("application/pdf")}
        }
    },
)
def get_customer_pdf(request: HttpRequest, id: Id):
    """The karte on A4: facts, custom fields (sensitive ones for roles that may see them),
    open tasks and recent history. Recorded in the karte's history."""
    customer = customer_get(request.user, id)
    result = services.card_pdf_export(
        actor=request.user,
        customers=[customer],
        base_url=request.build_absolute_uri("/"),
        via=VIA,
    )
    return file_response(result)


class SimilarOut(Schema):
    id: int
    name: str
    score: float
    reasons: list[str]


class ImportCardOut(Schema):
    number: int = Field(description="The card's position in the file, from 1.")
    kind: str
    name: str
    name_kana: str
    phones: list[str]
    emails: list[str]
    address: str
    organisation: str = Field(description="ORG as written on the card.")
    company_id: int | None = Field(
        description="The company karte the person is linked to (same name after normalisation)."
    )
    title: str
    department: str
    warnings: list[str] = Field(description="What was kept in the notes instead of a field.")
    problems: list[str] = Field(description="Why the card cannot be imported.")
    similar: list[SimilarOut] = Field(description="Customers you have that look the same.")
    alike: list[int] = Field(description="Earlier cards of this file that look the same.")
    suggested: Literal["create", "skip"]
    customer_id: int | None = Field(None, description="The karte created (commit only).")


class ImportOut(Schema):
    committed: bool
    batch: str | None = Field(
        description="History batch of the created kartes (commit only), e.g. vcard:3f9a…"
    )
    encoding: str = Field(description="How the file's text was read.")
    created: int
    cards: list[ImportCardOut]


def _card_out(card: services.CardPreview, customer_id: int | None = None) -> dict:
    return {
        "number": card.number,
        "kind": card.kind,
        "name": card.name,
        "name_kana": card.name_kana,
        "phones": card.phones,
        "emails": card.emails,
        "address": card.address,
        "organisation": card.organisation,
        "company_id": card.company_id,
        "title": card.title,
        "department": card.department,
        "warnings": card.warnings,
        "problems": card.problems,
        "similar": card.similar,
        "alike": card.alike,
        "suggested": card.suggested,
        "customer_id": customer_id,
    }


def _chosen(preview: services.ImportPreview, create: str) -> list[int]:
    if create == "all":
        return [c.number for c in preview.cards if c.can_create]
    if create == "new":
        return [c.number for c in preview.cards if c.suggested == "create"]
    numbers = []
    for part in create.split(","):
        part = part.strip()
        if not part.isdigit() or len(part) > 6:
            raise Unprocessable.field(
                "create",
                "invalid",
                _("Enter all, new, or card numbers separated by commas (1,3,4)."),
            )
        numbers.append(int(part))
    return numbers


@router.post(
    "/vcards/import",
    response={200: ImportOut, 201: ImportOut, **error_responses(400, 401, 403, 413, 422, 429)},
    summary="Import vCards (preview, then commit)",
    auth=write_auth(),
)
def import_vcards(
    request: HttpRequest,
    file: File[UploadedFile],
    commit: Form[bool] = False,
    create: Form[str] = "new",
):
    """Upload a .vcf (2.1, 3.0 or 4.0; UTF-8, Shift_JIS, QUOTED-PRINTABLE). Without `commit`:
    what each card would become, nothing saved (200). With `commit=true`: creates the cards
    that `create` names — `new` (default: those without problems or similar customers), `all`
    (every card without problems) or numbers such as `1,3,4` — in one transaction (201); if
    one fails, none is created (422, the failing cards in `errors` as `cards.<number>`)."""
    require_write(request)
    if file.size is not None and file.size > services.IMPORT_MAX_BYTES:
        # As for any upload over its limit (the imports answer the same): 413.
        message = _("The file is larger than %(size)s MB.") % {
            "size": services.IMPORT_MAX_BYTES // (1024 * 1024)
        }
        raise TooLarge(message, [{"field": "file", "code": "too_big", "message": message}])
    try:
        preview = services.card_import_read(
            actor=request.user,
            data=file.read(services.IMPORT_MAX_BYTES + 1),
            file_name=file.name or "",
        )
    except ValidationError as exc:
        raise Unprocessable.field("file", exc.code or "invalid", exc.messages[0]) from None
    if not commit:
        return Status(
            200,
            {
                "committed": False,
                "batch": None,
                "encoding": preview.encoding,
                "created": 0,
                "cards": [_card_out(c) for c in preview.cards],
            },
        )
    chosen = _chosen(preview, create)
    try:
        created = services.card_import_commit(
            actor=request.user, preview=preview, create=chosen, via=HistoryEntry.Via.IMPORT
        )
    except services.CardImportFailed as exc:
        raise Unprocessable(
            exc.messages[0],
            [
                {"field": f"cards.{number}", "code": "invalid", "message": message}
                for number, messages in exc.card_errors.items()
                for message in messages
            ],
        ) from None
    except ValidationError as exc:
        raise Unprocessable.field("create", exc.code or "invalid", exc.messages[0]) from None
    ids = {number: customer.pk for number, customer in created}
    return Status(
        201,
        {
            "committed": True,
            "batch": services.card_import_batch(preview),
            "encoding": preview.encoding,
            "created": len(created),
            "cards": [_card_out(c, ids.get(c.number)) for c in preview.cards],
        },
    )
