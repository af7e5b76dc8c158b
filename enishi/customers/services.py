"""Writes to kartes: one function per use case, each validating, saving and recording history."""

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enishi.accounts.models import User
from enishi.core.permissions import can_view_sensitive
from enishi.core.records import StaleVersionError  # noqa: F401 - raised by customer_update
from enishi.customers import fields as custom_fields
from enishi.customers.models import Customer, FieldDefinition, Tag
from enishi.customers.search import build_search_documents
from enishi.history.models import HistoryEntry
from enishi.history.services import history_record, snapshot
from enishi.quality import house_style, normalize

# The fields people edit (forms, API, import); everything else is derived or bookkeeping.
EDITABLE_FIELDS: tuple[str, ...] = (
    "kind",
    "code",
    "name",
    "family_name",
    "given_name",
    "name_kana",
    "legal_name",
    "corporate_number",
    "industry",
    "employees",
    "founded_on",
    "fiscal_month",
    "website",
    "sns",
    "parent",
    "company",
    "department",
    "title",
    "is_key_person",
    "is_decision_maker",
    "postal_code",
    "prefecture",
    "city",
    "town",
    "street",
    "building",
    "phone",
    "mobile",
    "fax",
    "email",
    "email_alt",
    "birthday",
    "gender",
    "owner",
    "team",
    "status",
    "rank",
    "acquisition_channel",
    "contact_permissions",
    "payment_terms",
    "needs",
    "preferences",
    "notes",
    "custom_fields",
)
# What the history shows besides EDITABLE_FIELDS.
HISTORY_FIELDS = EDITABLE_FIELDS + ("tags", "last_confirmed_at")
TEXT_LIMITS = {
    f.name: f.max_length for f in Customer._meta.get_fields() if getattr(f, "max_length", None)
}
LONG_TEXT_LIMIT = 20000


# Embedding, override and isolate controls: in a one-line field (a name shown in titles, file
# names, vCards) they only serve to disguise text ("‮gpj.exe"). RTL scripts do not need them.
_DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Line breaks (those str.splitlines() cuts at): a one-line field is printed, exported and put in
# page titles as one line, so it refuses them (the API, the form); an import joins the lines with
# a space instead (`fold_line_breaks`), as a cell with Alt+Enter in 住所 is common.
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_LINE_BREAK_RUNS = re.compile(r"[ \t\u3000]*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


def fold_line_breaks(data: dict[str, Any]) -> list[str]:
    """Join the lines of one-line karte fields in `data` with a space, in place (an import's
    cells). Returns the fields changed, for a note on the row; long texts keep their lines."""
    folded = []
    for name, value in data.items():
        if name in TEXT_LIMITS and isinstance(value, str) and _LINE_BREAKS.search(value.strip()):
            data[name] = _LINE_BREAK_RUNS.sub(" ", value.strip())
            folded.append(name)
    return folded


def _clean_text(name: str, value: Any, errors: dict[str, list[Any]]) -> str:
    text = "" if value is None else str(value)
    if "\x00" in text:
        errors.setdefault(name, []).append(
            gettext_lazy("The text contains a control character that cannot be stored.")
        )
    if name in TEXT_LIMITS and _DIRECTION_CONTROLS.search(text):
        errors.setdefault(name, []).append(
            gettext_lazy(
                "The text contains invisible characters that reverse the writing direction "
                "(U+202A–U+202E, U+2066–U+2069): they make a name show differently from what it "
                "is. Remove them."
            )
        )
    if name in TEXT_LIMITS and _LINE_BREAKS.search(text.strip()):
        errors.setdefault(name, []).append(
            gettext_lazy(
                "Line breaks cannot be entered here: this field takes one line (it is printed, "
                "exported and shown as one). Join the lines, or put longer text in the notes."
            )
        )
    limit = TEXT_LIMITS.get(name, LONG_TEXT_LIMIT)
    if len(text) > limit:
        errors.setdefault(name, []).append(
            ValidationError(
                gettext_lazy("Too long: at most %(limit)s characters (you entered %(count)s)."),
                params={"limit": limit, "count": len(text)},
            )
        )
    return text.strip()


def customer_clean(
    data: dict[str, Any], *, kind: str, instance: Customer | None = None
) -> dict[str, Any]:
    """Validate and normalise one karte's input. Raises ValidationError keyed by field name.

    What people typed stays as typed where it is for display (names, phones); values with one
    correct spelling (postal code, corporate number, kana reading) are stored in that spelling.
    The messages keep their msgid and params (lazy, not formatted), so that an import can store
    them and show them in each reader's language (`core.later`).
    """
    errors: dict[str, list[Any]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, str) or (value is None and TEXT_LIMITS.get(name)):
            cleaned[name] = _clean_text(name, value, errors)
        else:
            cleaned[name] = value

    def check(name: str, fn):
        value = cleaned.get(name)
        if value:
            try:
                cleaned[name] = fn(value)
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.error_list)

    if (
        kind == Customer.Kind.PERSON
        and not cleaned.get("name")
        and (cleaned.get("family_name") or cleaned.get("given_name"))
    ):
        # Family name first, one space: the way a Japanese name is written on a card.
        cleaned["name"] = " ".join(
            p for p in (cleaned.get("family_name"), cleaned.get("given_name")) if p
        )
        if len(cleaned["name"]) > TEXT_LIMITS["name"]:
            errors.setdefault("given_name", []).append(
                ValidationError(
                    gettext_lazy(
                        "The family and given names together are too long for the name: at most "
                        "%(limit)s characters with the space between them (now %(count)s)."
                    ),
                    params={"limit": TEXT_LIMITS["name"], "count": len(cleaned["name"])},
                )
            )
    if "name" in cleaned or instance is None:
        cleaned["name"] = normalize.collapse_spaces(cleaned.get("name", ""))
        if not cleaned["name"]:
            errors.setdefault("name", []).append(gettext_lazy("Enter the name."))
    if cleaned.get("name_kana"):
        if normalize.is_kana_reading(cleaned["name_kana"]):
            cleaned["name_kana"] = normalize.to_katakana(cleaned["name_kana"])
        else:
            errors.setdefault("name_kana", []).append(
                gettext_lazy(
                    "Enter the reading in kana (hiragana, katakana or half-width katakana)."
                )
            )
    for phone_field in ("phone", "mobile", "fax"):
        check(phone_field, lambda v: (normalize.parse_phone(v), v)[1])
    check("postal_code", normalize.normalize_postal_code)
    if cleaned.get("postal_code") and "postal_code" not in errors and not cleaned.get("prefecture"):
        # Same help as the form's auto-fill, for the API and imports: only empty parts are filled.
        found = normalize.lookup_postal_code(cleaned["postal_code"])
        if found is not None:
            for part in ("prefecture", "city", "town"):
                if not cleaned.get(part):
                    cleaned[part] = getattr(found, part)
    check("corporate_number", normalize.normalize_corporate_number)
    check("website", _clean_url)
    check("email", normalize.normalize_email)
    check("email_alt", normalize.normalize_email)
    if "contact_permissions" in cleaned:
        perms = cleaned["contact_permissions"] or {}
        if not isinstance(perms, dict) or any(
            k not in Customer.CONTACT_CHANNELS or not isinstance(v, bool | None)
            for k, v in perms.items()
        ):
            errors.setdefault("contact_permissions", []).append(
                gettext_lazy(
                    "Contact permission takes yes, no or unknown for e-mail, phone, post and SNS."
                )
            )
        else:
            cleaned["contact_permissions"] = {k: v for k, v in perms.items() if v is not None}
    company = cleaned.get("company")
    if company is not None and (
        kind != Customer.Kind.PERSON or company.kind != Customer.Kind.COMPANY
    ):
        errors.setdefault("company", []).append(
            gettext_lazy("Only a person can belong to a company.")
        )
    parent = cleaned.get("parent")
    if parent is not None:
        if kind != Customer.Kind.COMPANY or parent.kind != Customer.Kind.COMPANY:
            errors.setdefault("parent", []).append(
                gettext_lazy("Only a company can have a parent company.")
            )
        elif instance is not None and _would_loop(instance, parent):
            errors.setdefault("parent", []).append(
                gettext_lazy("A company cannot be its own parent, directly or through others.")
            )
    _apply_house_style(cleaned, kind)
    for date_field in ("birthday", "founded_on"):
        value = cleaned.get(date_field)
        if value and value > timezone.localdate():
            errors.setdefault(date_field, []).append(gettext_lazy("This date is in the future."))
    if "custom_fields" in cleaned:
        try:
            cleaned["custom_fields"] = custom_fields.clean_custom_fields(
                kind, cleaned["custom_fields"] or {}
            )
        except ValidationError as exc:
            for key, field_errors in exc.error_dict.items():
                errors.setdefault(key, []).extend(field_errors)
    for tag in cleaned.get("tags") or []:
        if isinstance(tag, str) and len(normalize.collapse_spaces(tag)) > 50:
            errors.setdefault("tag_names", []).append(
                gettext_lazy("A tag can be at most 50 characters long.")
            )
            break
    if cleaned.get("code"):
        clash = Customer.objects.filter(code=cleaned["code"], deleted_at__isnull=True)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors.setdefault("code", []).append(
                gettext_lazy("Another customer already has this code.")
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _apply_house_style(cleaned: dict[str, Any], kind: str) -> None:
    """The business's own way of writing company names and streets (settings → house style)."""
    if house_style.is_suspended():
        return
    style = house_style.current()
    if kind == Customer.Kind.COMPANY and cleaned.get("name"):
        cleaned["name"] = house_style.company_name_styled(cleaned["name"], style.company_name)
    if cleaned.get("street"):
        cleaned["street"] = house_style.street_styled(cleaned["street"], style.street)


def _clean_url(value: str) -> str:
    url = normalize.nfkc(value).strip()
    if "://" not in url:
        url = "https://" + url
    URLValidator(
        schemes=["http", "https"],
        message=gettext_lazy("Enter a web address such as https://example.co.jp."),
    )(url)
    return url


def _would_loop(company: Customer, parent: Customer) -> bool:
    seen = set()
    node: Customer | None = parent
    while node is not None and node.pk not in seen:
        if node.pk == company.pk:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


def apply_derived_fields(customer: Customer, *, documents: bool = True) -> None:
    """Fill the normalised keys and (unless told not to) the search documents from what is
    typed (no saving)."""
    if customer.kind == Customer.Kind.COMPANY:
        legal = normalize.detect_legal_form(customer.name)
        customer.legal_form = legal.form
        customer.legal_form_position = legal.position
        customer.name_key = normalize.company_name_key(customer.name)
    else:
        customer.legal_form = ""
        customer.legal_form_position = ""
        customer.name_key = normalize.person_name_key(customer.name)
    customer.kana_key = normalize.kana_key(customer.name_kana) if customer.name_kana else ""
    customer.reading_key = normalize.reading_key(customer.name_kana) or None
    for field in ("phone", "mobile", "fax"):
        setattr(customer, f"{field}_e164", _e164_or_blank(getattr(customer, field)))
    # NFKC can lengthen text (ﬀ → ff): the keys are cut to the column's 254 characters.
    customer.email_key = normalize.email_key(customer.email)[:254] if customer.email else ""
    customer.email_alt_key = (
        normalize.email_key(customer.email_alt)[:254] if customer.email_alt else None
    )
    if documents:
        customer.search_text, customer.search_bigrams = build_search_documents(customer)


def _e164_or_blank(raw: str) -> str:
    """Services validate phones before this runs; a legacy or bulk-loaded value that does not
    parse keeps no E.164 key (and is searched as typed) instead of failing the whole load."""
    if not raw:
        return ""
    try:
        return normalize.parse_phone(raw).e164
    except ValidationError:
        return ""


def _set_fields(customer: Customer, cleaned: dict[str, Any]) -> list[Tag] | None:
    tags = cleaned.pop("tags", None)
    if tags is not None:
        # Tags come as names (forms, API, import) or as Tag rows; unknown names become tags.
        tags = [t for t in tags if isinstance(t, Tag)] + tags_from_names(
            t for t in tags if isinstance(t, str)
        )
    for name, value in cleaned.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name} is not an editable customer field")
        setattr(customer, name, value)
    return tags


@transaction.atomic
def customer_create(
    *, actor: User | None, data: dict[str, Any], via: str = HistoryEntry.Via.UI
) -> Customer:
    kind = data.get("kind") or Customer.Kind.PERSON
    _refuse_sensitive(actor, data.get("custom_fields") or {})
    cleaned = customer_clean({**data, "kind": kind}, kind=kind)
    customer = Customer(created_by=actor, updated_by=actor)
    if actor is not None and "owner" not in cleaned:
        customer.owner = actor
    tags = _set_fields(customer, cleaned)
    apply_derived_fields(customer)
    customer.save()
    if tags is not None:
        customer.tags.set(tags)
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.CREATE,
        instance=customer,
        customer_id=customer.pk,
        changes=snapshot(customer, HISTORY_FIELDS, only_filled=True),
    )
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: User | None,
    customer: Customer,
    data: dict[str, Any],
    version: int | None,
    via: str = HistoryEntry.Via.UI,
) -> Customer:
    """Save changes made on top of `version`; a stale version raises StaleVersionError.

    The row is re-read inside the transaction (locked on PostgreSQL; on SQLite the IMMEDIATE
    transaction already holds the write lock), so two writers can never both win.
    """
    # The related rows are read with it: the history snapshot names them (4 queries less).
    current = (
        Customer.objects.select_for_update(of=("self",))
        .select_related("owner", "team", "company", "parent")
        .get(pk=customer.pk)
    )
    if version is not None and current.version != version:
        raise StaleVersionError(current)
    kind = data.get("kind") or current.kind
    if "custom_fields" in data and not can_view_sensitive(actor):
        # Someone who cannot see sensitive fields cannot change or erase them either.
        _refuse_sensitive(actor, data["custom_fields"] or {}, current.custom_fields)
        data = {**data, "custom_fields": _keep_sensitive(current, data["custom_fields"] or {})}
    cleaned = customer_clean({**data, "kind": kind}, kind=kind, instance=current)
    before = snapshot(current, HISTORY_FIELDS)
    name_before = current.name
    tags = _set_fields(current, cleaned)
    if current.kind == Customer.Kind.COMPANY:
        current.company = None
    apply_derived_fields(current)
    if tags is not None:
        current.tags.set(tags)
    changes = {k: v for k, v in _diff(before, snapshot(current, HISTORY_FIELDS)).items()}
    if not changes:
        return current
    current.version += 1
    current.updated_by = actor
    current.save()
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=current,
        customer_id=current.pk,
        changes=changes,
    )
    if current.kind == Customer.Kind.COMPANY and current.name != name_before:
        customers_reindex(current.contacts.all())
    customer.__dict__.update(current.__dict__)
    return customer


def _refuse_sensitive(
    actor: User | None, submitted: dict[str, Any], stored: dict[str, Any] | None = None
) -> None:
    """A role that may not see sensitive fields may not write them either (never silently).
    Sending back the stored value unchanged (a full-record PATCH) is not a write."""
    if actor is None or can_view_sensitive(actor) or not submitted:
        return
    stored = stored or {}
    keys = FieldDefinition.objects.filter(sensitive=True, key__in=list(submitted)).values_list(
        "key", flat=True
    )
    sensitive = {key for key in keys if submitted[key] != stored.get(key)}
    if sensitive:
        raise ValidationError(
            {
                f"cf_{key}": [_("Your role may not enter this sensitive field.")]
                for key in sorted(sensitive)
            }
        )


def _keep_sensitive(current: Customer, submitted: dict[str, Any]) -> dict[str, Any]:
    sensitive = set(FieldDefinition.objects.filter(sensitive=True).values_list("key", flat=True))
    kept = {k: v for k, v in (current.custom_fields or {}).items() if k in sensitive}
    return {**{k: v for k, v in submitted.items() if k not in sensitive}, **kept}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


@transaction.atomic
def customer_confirm(
    *, actor: User, customer: Customer, via: str = HistoryEntry.Via.UI
) -> Customer:
    """Mark the karte as checked today (freshness), without changing its facts."""
    previous = customer.last_confirmed_at
    customer.last_confirmed_at = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(last_confirmed_at=customer.last_confirmed_at)
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=customer,
        customer_id=customer.pk,
        changes=snapshot_pair("last_confirmed_at", previous, customer.last_confirmed_at),
    )
    return customer


def snapshot_pair(name: str, before: Any, after: Any) -> dict[str, list[Any]]:
    """A change of one date-time field, as history stores date-times: ISO 8601 with the offset
    (the history shows it in the reader's time zone)."""
    fmt = lambda v: v.isoformat() if v else None  # noqa: E731
    return {name: [fmt(before), fmt(after)]}


def customers_reindex(customers: Iterable[Customer]) -> int:
    """Rebuild the search documents of these kartes (e.g. after their company was renamed)."""
    count = 0
    for customer in customers:
        text, bigrams = build_search_documents(customer)
        if (text, bigrams) != (customer.search_text, customer.search_bigrams):
            Customer.objects.filter(pk=customer.pk).update(search_text=text, search_bigrams=bigrams)
            count += 1
    return count


def tags_from_names(names: Iterable[str]) -> list[Tag]:
    """Tags by name, creating the missing ones (a tag is just a label people type)."""
    tags = []
    for raw in names:
        name = normalize.collapse_spaces(normalize.nfkc(raw))[:50]
        if name:
            tags.append(Tag.objects.get_or_create(name=name)[0])
    return tags


@transaction.atomic
def customer_delete(*, actor: User, customer: Customer, via: str = HistoryEntry.Via.UI) -> Customer:
    """Move a karte, with its activities and tasks, to the trash (restorable as a whole)."""
    from enishi.activities.models import Activity, Task

    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if current.deleted_at is not None:
        return current
    now = timezone.now()
    current.deleted_at = now
    current.version += 1
    current.updated_by = actor
    current.save(update_fields=["deleted_at", "version", "updated_by", "updated_at"])
    # Children deleted together carry the same timestamp, so a restore brings back exactly them.
    Activity.objects.filter(customer=current, deleted_at__isnull=True).update(deleted_at=now)
    Task.objects.filter(customer=current, deleted_at__isnull=True).update(deleted_at=now)
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.DELETE,
        instance=current,
        customer_id=current.pk,
    )
    return current


@transaction.atomic
def customer_restore(
    *, actor: User, customer: Customer, via: str = HistoryEntry.Via.UI
) -> Customer:
    from enishi.activities.models import Activity, Task

    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if current.deleted_at is None:
        return current
    deleted_at = current.deleted_at
    Activity.objects.filter(customer=current, deleted_at=deleted_at).update(deleted_at=None)
    Task.objects.filter(customer=current, deleted_at=deleted_at).update(deleted_at=None)
    current.deleted_at = None
    current.version += 1
    current.updated_by = actor
    current.save(update_fields=["deleted_at", "version", "updated_by", "updated_at"])
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.RESTORE,
        instance=current,
        customer_id=current.pk,
    )
    return current


@transaction.atomic
def customer_purge(*, actor: User, customer: Customer, via: str = HistoryEntry.Via.UI) -> None:
    """Erase a karte from the trash for good. The history keeps that it existed and who purged it."""
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if current.deleted_at is None:
        raise ValidationError(_("Only a karte in the trash can be purged."))
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.PURGE,
        instance=current,
        customer_id=current.pk,
        changes={"name": [current.name, None]},
    )
    Customer.objects.filter(parent=current).update(parent=None)
    Customer.objects.filter(company=current).update(company=None)
    current.delete()
