"""vCards out and in, and printed kartes, as use cases: each checks its input, does the work
and records it in the history.

- Exports (vCard, PDF) of one karte, of a company's contacts or of the customer list's current
  selection are recorded per karte (action "export", `{"format": [None, "pdf"]}`), so a karte's
  history says who took it out and how, and a PDF that shows sensitive fields records that
  view too, as the karte page does. The list's selection is also one export (an `Export` row
  with the filters, the format and the count, and one history entry: listed in the export
  history like a list export); its kartes' entries carry its batch "export:<id>", and the
  audit log shows the export once, not a line per karte.
- An import is read and checked completely first (`card_import_read`: every card's data, its
  problems, the company it would be linked to, possible duplicates), then the cards the user
  chose are created in one transaction (`card_import_commit`): all of them, or none when one
  fails. History entries carry the batch "vcard:<id>", so the result can be listed and the
  same preview cannot be imported twice.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from enishi.accounts.models import User
from enishi.customers import fields as custom_fields
from enishi.customers import search_index
from enishi.customers.models import Customer
from enishi.customers.selectors import CustomerFilters, customer_visible, customer_visible_ids
from enishi.customers.services import customer_clean, customer_create
from enishi.history.models import HistoryEntry
from enishi.history.services import current_batch, history_batch, history_record_view_sensitive
from enishi.quality import normalize
from enishi.transfer import card_selectors as selectors
from enishi.transfer.card_selectors import KartePrint
from enishi.transfer.models import CardImportBatch, Export
from enishi.transfer.printing import KarteBook, karte_pdf
from enishi.transfer.vcard import VERSIONS, VCardFileError, parse_vcards
from enishi.transfer.vcard_map import CardImport, card_import_data, customer_vcard, display_name

# A phone's whole address book without photos is well under this; with photos it may not be.
IMPORT_MAX_BYTES = 10 * 1024 * 1024
IMPORT_MAX_CARDS = 1000
# A selection beyond these is refused with a message (narrow the list), never cut silently.
VCARD_SELECTION_LIMIT = 5000
# Printing: up to PRINT_SELECTION_LIMIT kartes are laid out in the request (about 0.25 s each,
# so the answer comes within a few seconds); up to PRINT_BACKGROUND_LIMIT by a background
# task, PRINT_BATCH kartes at a time. Settings ENISHI_PRINT_BACKGROUND_KARTES and
# ENISHI_PRINT_MAX_KARTES override the two limits.
PRINT_SELECTION_LIMIT = 10
PRINT_BACKGROUND_LIMIT = 500
PRINT_BATCH = 25

VCARD_TYPE = "text/vcard; charset=utf-8"
PDF_TYPE = "application/pdf"


def print_at_once_limit() -> int:
    """Selections of up to this many kartes are printed in the request."""
    return int(getattr(settings, "ENISHI_PRINT_BACKGROUND_KARTES", PRINT_SELECTION_LIMIT))


def print_background_limit() -> int:
    """Selections of more kartes than this are not printed at all (narrow the list)."""
    return int(getattr(settings, "ENISHI_PRINT_MAX_KARTES", PRINT_BACKGROUND_LIMIT))


@dataclass
class CardFile:
    filename: str
    content: bytes
    content_type: str
    count: int


def card_file_name(customers: Sequence[Customer], extension: str) -> str:
    """The karte's name for one karte, else "kartes-<date>"; no characters file systems refuse."""
    if len(customers) == 1:
        stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", display_name(customers[0])).strip(" ._")
    else:
        kartes = pgettext("file name", "kartes")
        stem = f"{kartes}-{timezone.localdate().isoformat()}"
    return f"{stem or 'karte'}.{extension}"


def _record_exports(actor: User, customers: Sequence[Customer], file_format: str, via: str) -> None:
    """One history entry per karte (written in bulk: a selection may hold thousands)."""
    batch = current_batch()
    HistoryEntry.objects.bulk_create(
        [
            HistoryEntry(
                actor=actor,
                via=via,
                action=HistoryEntry.Action.EXPORT,
                model="customers.customer",
                object_id=c.pk,
                customer_id=c.pk,
                object_repr=str(c)[:200],
                changes={"format": [None, file_format]},
                batch=batch,
            )
            for c in customers
        ],
        batch_size=500,
    )


@contextlib.contextmanager
def _as_list_export(
    actor: User,
    filters: CustomerFilters | None,
    *,
    kind: str,
    file_format: str,
    count: int,
    file_name: str,
    via: str,
) -> Iterator[None]:
    """For the customer list's selection (`filters` given): its export row and history entry,
    and the kartes' own entries written inside the block carry the export's batch. One karte
    or a company's contacts (no filters): the kartes' entries alone."""
    if filters is None:
        yield
        return
    from enishi.transfer import services as export_services  # it imports this module

    record = export_services.card_export_record(
        actor=actor,
        kind=kind,
        file_format=file_format,
        count=count,
        filters=filters,
        file_name=file_name,
        via=via,
    )
    with history_batch(export_services.export_batch(record)):
        yield


def card_vcard_export(
    *,
    actor: User,
    customers: Sequence[Customer],
    version: str = "3.0",
    via: str = HistoryEntry.Via.UI,
    filters: CustomerFilters | None = None,
) -> CardFile:
    """The kartes as one .vcf (a company as itself, with ORG). The callers got the kartes from
    the permission filter; their companies are named only when the user may see them.
    `filters`: the kartes are the customer list's with these filters (an export of its own)."""
    if version not in VERSIONS:
        raise ValidationError({"version": [_("Choose vCard 3.0 or 4.0.")]})
    if not customers:
        raise ValidationError(_("There is no karte to export."))
    companies = selectors.card_companies(actor, customers)
    text = "".join(
        customer_vcard(c, version=version, company=companies.get(c.company_id)) for c in customers
    )
    filename = card_file_name(customers, "vcf")
    with (
        transaction.atomic(),
        _as_list_export(
            actor,
            filters,
            kind=Export.Kind.VCARD,
            file_format=Export.Format.VCARD4 if version == "4.0" else Export.Format.VCARD3,
            count=len(customers),
            file_name=filename,
            via=via,
        ),
    ):
        _record_exports(actor, customers, f"vcard {version}", via)
    return CardFile(
        filename=filename,
        content=text.encode("utf-8"),
        content_type=VCARD_TYPE,
        count=len(customers),
    )


def card_pdf_export(
    *,
    actor: User,
    customers: Sequence[Customer],
    base_url: str,
    via: str = HistoryEntry.Via.UI,
    filters: CustomerFilters | None = None,
) -> CardFile:
    """The kartes as one A4 PDF, one karte per page (or more pages when it is long).
    `filters`: the kartes are the customer list's with these filters (an export of its own)."""
    if not customers:
        raise ValidationError(_("There is no karte to print."))
    companies = selectors.card_companies(actor, customers)
    prints = [selectors.card_print_data(actor, c, companies.get(c.company_id)) for c in customers]
    content = karte_pdf(
        prints,
        printed_by=actor.label,
        base_url=base_url,
        title=card_pdf_title(customers),
    )
    printed = PrintedKartes()
    printed.add(prints)
    filename = card_file_name(customers, "pdf")
    with (
        transaction.atomic(),
        _as_list_export(
            actor,
            filters,
            kind=Export.Kind.PRINT,
            file_format=Export.Format.PDF,
            count=len(customers),
            file_name=filename,
            via=via,
        ),
    ):
        card_pdf_record(actor=actor, printed=printed, via=via)
    return CardFile(
        filename=filename,
        content=content,
        content_type=PDF_TYPE,
        count=len(customers),
    )


def card_pdf_title(customers: Sequence[Customer], count: int | None = None) -> str:
    if count is None and len(customers) == 1:
        return display_name(customers[0])
    return _("%(count)s kartes") % {"count": count if count is not None else len(customers)}


@dataclass
class PrintedKartes:
    """What went into a printed PDF, for its history: the kartes and the sensitive fields
    each one showed (the PDF itself may already be written)."""

    customers: list[Customer] = field(default_factory=list)
    sensitive: list[tuple[Customer, list[str]]] = field(default_factory=list)
    left_out: int = 0  # chosen kartes the person may no longer see
    pages: int = 0

    @property
    def count(self) -> int:
        return len(self.customers)

    def add(self, prints: Sequence[KartePrint]) -> None:
        for shown in prints:
            self.customers.append(shown.customer)
            if shown.sensitive_shown:
                self.sensitive.append((shown.customer, list(shown.sensitive_shown)))


def card_pdf_record(*, actor: User, printed: PrintedKartes, via: str) -> None:
    """One export entry per printed karte, and the sensitive fields a karte showed as a view,
    as the karte page records it."""
    with transaction.atomic():
        _record_exports(actor, printed.customers, "pdf", via)
        for customer, fields in printed.sensitive:
            history_record_view_sensitive(actor=actor, customer=customer, fields=fields, via=via)


def card_pdf_write(
    *,
    actor: User,
    customer_ids: Sequence[int],
    base_url: str,
    out: Any,
    progress: Callable[[int], None],
    batch_size: int | None = None,
) -> PrintedKartes:
    """Print the chosen kartes into `out` (a background print), `batch_size` at a time.

    Visibility is checked again with the person's permissions now: a karte they may no
    longer see is left out (and counted); when none is left, nothing is written
    (ValidationError). `progress(n)` is told after each batch and may stop the work by
    raising. Nothing is recorded here: the caller records `card_pdf_record` once the file
    is complete.
    """
    visible = customer_visible_ids(actor, list(customer_ids))
    ids = [pk for pk in dict.fromkeys(customer_ids) if pk in visible]
    printed = PrintedKartes(left_out=len(set(customer_ids)) - len(ids))
    if printed.left_out:
        progress(printed.left_out)
    if not ids:
        raise ValidationError(
            gettext_lazy("None of the chosen kartes can be printed: you can no longer see them."),
            code="empty",
        )
    batch_size = batch_size or PRINT_BATCH
    book = KarteBook(printed_by=actor.label, base_url=base_url, title=card_pdf_title([], len(ids)))
    for start in range(0, len(ids), batch_size):
        customers = selectors.card_kartes_by_id(actor, ids[start : start + batch_size])
        printed.left_out += len(ids[start : start + batch_size]) - len(customers)
        if customers:
            companies = selectors.card_companies(actor, customers)
            prints = [
                selectors.card_print_data(actor, c, companies.get(c.company_id)) for c in customers
            ]
            printed.pages += book.add(prints)
            printed.add(prints)
        progress(len(ids[start : start + batch_size]))
    if not printed.customers:
        raise ValidationError(
            gettext_lazy("None of the chosen kartes can be printed: you can no longer see them."),
            code="empty",
        )
    book.write(out)
    return printed


@dataclass
class Selection:
    customers: list[Customer]
    count: int  # up to limit + 1
    limit: int

    @property
    def too_many(self) -> bool:
        return self.count > self.limit


def card_selection(user: User, filters: CustomerFilters, *, limit: int) -> Selection:
    """The list's kartes up to `limit` (+1 to tell that there are more)."""
    customers = list(selectors.card_selection(user, filters)[: limit + 1])
    return Selection(customers=customers[:limit], count=len(customers), limit=limit)


def too_many_error(limit: int, *, what: str) -> ValidationError:
    return ValidationError(
        _(
            "The list holds more than %(limit)s customers; at most %(limit)s can be "
            "%(what)s at once. Narrow the list with the filters or the search box."
        )
        % {"limit": f"{limit:,}", "what": what},
        code="too_many",
    )


def card_selection_check(selection: Selection, *, what: str) -> None:
    if selection.too_many:
        raise too_many_error(selection.limit, what=what)
    if not selection.customers:
        raise ValidationError(_("No customers match these filters."), code="empty")


# --- Import --------------------------------------------------------------------------------


@dataclass
class CardPreview:
    """One card of an import as the preview shows it (JSON-safe: kept in the session)."""

    number: int
    kind: str
    name: str
    name_kana: str
    phones: list[str]
    emails: list[str]
    address: str
    organisation: str
    title: str
    department: str
    company_id: int | None
    company_name: str
    warnings: list[str]
    problems: list[str]
    similar: list[dict[str, Any]] = field(default_factory=list)
    alike: list[int] = field(default_factory=list)  # earlier cards of the same file
    card: dict[str, Any] = field(default_factory=dict)  # CardImport.as_dict()

    @property
    def can_create(self) -> bool:
        return not self.problems

    @property
    def suggested(self) -> str:
        """Create unless it cannot be, or may already exist (then the user decides): any karte
        alike, even by the name alone, or a card met earlier in the same file. Creating a
        namesake is one click; a duplicate made by default is work for someone later."""
        return "create" if self.can_create and not self.similar and not self.alike else "skip"


@dataclass
class ImportPreview:
    batch: str
    file_name: str
    encoding: str
    cards: list[CardPreview]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportPreview:
        return cls(**{**data, "cards": [CardPreview(**c) for c in data["cards"]]})

    @property
    def creatable(self) -> int:
        return sum(1 for c in self.cards if c.can_create)


class CardImportFailed(ValidationError):
    """Some chosen cards broke a rule at creation: nothing was saved."""

    def __init__(self, errors: dict[int, list[str]]) -> None:
        super().__init__(
            ngettext(
                "%(count)s card could not be created, so nothing was imported. "
                "Skip it or correct the file and try again.",
                "%(count)s cards could not be created, so nothing was imported. "
                "Skip them or correct the file and try again.",
                len(errors),
            )
            % {"count": len(errors)},
            code="import_failed",
        )
        self.card_errors = errors


def _rule_messages(exc: ValidationError) -> list[str]:
    """Service errors with the field's name in front, as people read them."""
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    labels = {
        f"{custom_fields.FORM_PREFIX}{d.key}": d.label for d in custom_fields.active_definitions()
    }
    messages = []
    for name, errors in exc.message_dict.items():
        try:
            label = str(Customer._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            label = labels.get(name, "")
        messages.extend(f"{label}: {m}" if label else m for m in errors)
    return messages


def card_import_read(*, actor: User, data: bytes, file_name: str = "") -> ImportPreview:
    """Read a .vcf and check every card against the rules without saving anything."""
    if len(data) > IMPORT_MAX_BYTES:
        raise ValidationError(
            _(
                "The file is larger than %(size)s MB. Export the contacts without photos, or in "
                "several files."
            )
            % {"size": IMPORT_MAX_BYTES // (1024 * 1024)},
            code="too_big",
        )
    try:
        parsed = parse_vcards(data, max_cards=IMPORT_MAX_CARDS)
    except VCardFileError as exc:
        raise ValidationError(str(exc), code="not_a_vcard") from None
    imports = [card_import_data(card) for card in parsed.cards]
    persons = [i for i in imports if i.kind == Customer.Kind.PERSON and i.organisation]
    companies = selectors.card_companies_by_name(actor, [i.organisation for i in persons])
    similar = selectors.card_similar(actor, imports)
    alike = selectors.card_alike_in_file(imports)
    cards = []
    for imp in imports:
        company = None
        if imp.kind == Customer.Kind.PERSON and imp.organisation:
            key = normalize.company_name_key(imp.organisation)
            company = companies.get(key)
            if key in companies and company is None:
                imp.warnings.append(
                    _("Several company kartes are called %(name)s: link the person by hand.")
                    % {"name": imp.organisation}
                )
        if not imp.problems:
            data = imp.service_data(company)
            try:
                customer_clean(data, kind=imp.kind)
            except ValidationError as exc:
                imp.problems.extend(_rule_messages(exc))
        d = imp.data
        cards.append(
            CardPreview(
                number=imp.number,
                kind=imp.kind,
                name=imp.name,
                name_kana=d.get("name_kana", ""),
                phones=imp.phones,
                emails=imp.emails,
                address=imp.address,
                organisation=imp.organisation,
                title=d.get("title", ""),
                department=d.get("department", ""),
                company_id=company.pk if company is not None else None,
                company_name=company.name if company is not None else "",
                warnings=imp.warnings,
                problems=imp.problems,
                similar=[asdict(s) for s in similar.get(imp.number, [])],
                alike=alike.get(imp.number, []),
                card=imp.as_dict(),
            )
        )
    return ImportPreview(
        batch=secrets.token_hex(6),
        file_name=file_name[:200],
        encoding=parsed.encoding,
        cards=cards,
    )


def card_import_batch(preview: ImportPreview) -> str:
    return f"vcard:{preview.batch}"


def card_import_taken(batch: str) -> bool:
    """Whether an import of this batch has been made (by anyone)."""
    return CardImportBatch.objects.filter(batch=batch).exists() or selectors.card_import_done(batch)


def card_import_commit(
    *,
    actor: User,
    preview: ImportPreview,
    create: Iterable[int],
    via: str = HistoryEntry.Via.IMPORT,
) -> list[tuple[int, Customer]]:
    """Create the chosen cards' kartes, all or none; returns (card number, karte) pairs.

    A person whose ORG matched a company karte the user may (still) see is linked to it; else
    the organisation stays in the notes."""
    batch = card_import_batch(preview)
    if card_import_taken(batch):  # the common case, told early; the race: see below
        raise _already_imported()
    by_number = {card.number: card for card in preview.cards}
    chosen = sorted(set(create))
    unknown = [n for n in chosen if n not in by_number]
    if unknown:
        raise ValidationError(
            _("The file has no card %(numbers)s.") % {"numbers": ", ".join(map(str, unknown))},
            code="unknown_card",
        )
    blocked = [n for n in chosen if not by_number[n].can_create]
    if blocked:
        raise ValidationError(
            _("Card %(numbers)s cannot be created: see its problems.")
            % {"numbers": ", ".join(map(str, blocked))},
            code="blocked_card",
        )
    if not chosen:
        raise ValidationError(_("Choose at least one card to create."), code="nothing_chosen")
    company_ids = [by_number[n].company_id for n in chosen if by_number[n].company_id]
    companies = {
        c.pk: c
        for c in customer_visible(actor).filter(kind=Customer.Kind.COMPANY, pk__in=company_ids)
    }
    created: list[tuple[int, Customer]] = []
    errors: dict[int, list[str]] = {}
    try:
        # The batch is taken first: the same preview committed twice at once (a double click)
        # waits here for the other transaction and then finds the batch taken, so one import
        # is made per preview on every database. The new kartes go into the search index
        # together when the block ends (one statement instead of a trigger per karte).
        with transaction.atomic():
            CardImportBatch.objects.create(batch=batch, created_by=actor)
            with (
                history_batch(batch),
                search_index.indexed_after_insert(connection),
            ):
                for number in chosen:
                    card = by_number[number]
                    data = CardImport(**card.card).service_data(companies.get(card.company_id))
                    try:
                        customer = customer_create(actor=actor, data=data, via=via)
                    except ValidationError as exc:
                        errors[number] = _rule_messages(exc)
                        continue
                    created.append((number, customer))
                if errors:
                    raise CardImportFailed(errors)
    except IntegrityError:
        if not CardImportBatch.objects.filter(batch=batch).exists():
            raise
        raise _already_imported() from None
    return created


def _already_imported() -> ValidationError:
    return ValidationError(_("This file has already been imported."), code="done")
