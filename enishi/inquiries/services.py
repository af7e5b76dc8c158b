"""Writes to inquiries (問い合わせ), their answers thread and the categories an admin keeps.

The status rules live here and only here:
- the open statuses (new, in progress, waiting for customer) may change into each other freely;
- → resolved stamps `resolved_at` (once); → closed stamps `closed_at` (and `resolved_at` if the
  inquiry was never resolved); going back to an open status clears both, and the satisfaction
  given for the earlier resolution;
- satisfaction (1–5) only on a resolved or closed inquiry;
- the first answer to the customer (not an internal note) stamps `first_response_at`; answering a
  new inquiry moves it to in progress unless the answerer chooses a status; a closed inquiry takes
  no answers until it is reopened.
"""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enishi.accounts.models import User
from enishi.core.permissions import is_admin
from enishi.core.records import (
    StaleVersionError,
    changes_between,
    move_to_trash,
    record_created,
    versioned_update,
)
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.history.services import history_record, snapshot
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory

__all__ = ["StaleVersionError"]

SUBJECT_MAX = Inquiry._meta.get_field("subject").max_length
CATEGORY_NAME_MAX = InquiryCategory._meta.get_field("name").max_length
TEXT_MAX = 20000
# Clocks of phones and PCs drift: a receipt time a few minutes ahead is still "now".
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)

INQUIRY_FIELDS = (
    "received_at",
    "channel",
    "category",
    "subject",
    "content",
    "status",
    "assignee",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "satisfaction",
)
# What people change directly; the timestamps follow from the status and the answers.
INQUIRY_EDITABLE = (
    "received_at",
    "channel",
    "category",
    "subject",
    "content",
    "status",
    "assignee",
    "satisfaction",
)
ANSWER_FIELDS = ("body", "is_internal", "author", "created_at")
CATEGORY_FIELDS = ("name", "position", "is_active")
DONE_STATUSES = (Inquiry.Status.RESOLVED, Inquiry.Status.CLOSED)


# --- checks shared by create, update and answer ------------------------------------------------


def _no_nul(**values: Any) -> None:
    errors = {
        name: [_("The text contains a NUL character, which cannot be stored.")]
        for name, value in values.items()
        if isinstance(value, str) and "\x00" in value
    }
    if errors:
        raise ValidationError(errors)


def _too_long(limit: int) -> str:
    return _("Too long: at most %(limit)s characters.") % {"limit": limit}


def _check_text(errors: dict[str, list[str]], name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors.setdefault(name, []).append(_too_long(limit))


def _received_at(errors: dict[str, list[str]], received_at: datetime.datetime) -> datetime.datetime:
    """The receipt time as stored: a time a little ahead of the server's clock counts as now."""
    if timezone.is_naive(received_at):
        errors.setdefault("received_at", []).append(_("Enter a date and time with a time zone."))
    elif not 1900 <= received_at.year <= 2999:
        errors.setdefault("received_at", []).append(_("Enter a date between 1900 and 2999."))
    elif received_at > timezone.now() + FUTURE_TOLERANCE:
        errors.setdefault("received_at", []).append(_("The time received cannot be in the future."))
    return min(received_at, timezone.now()) if timezone.is_aware(received_at) else received_at


def _check_category(
    errors: dict[str, list[str]], category: InquiryCategory | None, *, keep_id: int | None
) -> None:
    # A category retired after the inquiry was filed may stay on it; new choices must be in use.
    if category is not None and not category.is_active and category.pk != keep_id:
        errors.setdefault("category", []).append(
            _("This category is no longer in use: choose another.")
        )


def _check_assignee(
    errors: dict[str, list[str]], assignee: User | None, *, keep_id: int | None
) -> None:
    if assignee is not None and not assignee.is_active and assignee.pk != keep_id:
        errors.setdefault("assignee", []).append(_("Choose an active user."))


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def status_changes(
    current: Inquiry, status: str, at: datetime.datetime
) -> dict[str, datetime.datetime | int | str | None]:
    """The fields a move from `current.status` to `status` at `at` changes (none if the same)."""
    if status == current.status:
        return {}
    if status not in Inquiry.Status.values:
        raise ValidationError({"status": [_("Choose a status from the list.")]})
    data: dict[str, Any] = {"status": status}
    if status == Inquiry.Status.RESOLVED:
        data["resolved_at"] = current.resolved_at or at
        data["closed_at"] = None
    elif status == Inquiry.Status.CLOSED:
        data["closed_at"] = at
        data["resolved_at"] = current.resolved_at or at
    else:
        data["resolved_at"] = None
        data["closed_at"] = None
        data["satisfaction"] = None
    return data


def _check_state(inquiry: Inquiry) -> None:
    """The whole new state of an inquiry, as versioned_update's `check`."""
    errors: dict[str, list[str]] = {}
    if inquiry.satisfaction is not None:
        if not 1 <= inquiry.satisfaction <= 5:
            errors["satisfaction"] = [_("Enter a satisfaction from 1 to 5.")]
        elif inquiry.status not in DONE_STATUSES:
            errors["satisfaction"] = [
                _("Satisfaction can be recorded once the inquiry is resolved or closed.")
            ]
    later = [t for t in (inquiry.first_response_at, inquiry.resolved_at) if t is not None]
    if later and inquiry.received_at > min(later):
        errors.setdefault("received_at", []).append(
            _("The time received cannot be later than the first answer or the resolution.")
        )
    _raise(errors)


# --- inquiries -------------------------------------------------------------------------------


@transaction.atomic
def inquiry_create(
    *,
    actor: User,
    customer: Customer,
    subject: str,
    content: str = "",
    received_at: datetime.datetime | None = None,
    channel: str = Inquiry.Channel.PHONE,
    category: InquiryCategory | None = None,
    assignee: User | None = None,
    via: str = HistoryEntry.Via.UI,
) -> Inquiry:
    """Record an inquiry as received (status new). The caller has checked that `actor` may
    change `customer` (customers.selectors.customer_get_for_edit)."""
    _no_nul(subject=subject, content=content)
    subject = (subject or "").strip()
    content = content or ""
    errors: dict[str, list[str]] = {}
    if not subject:
        errors["subject"] = [_("Enter a subject.")]
    _check_text(errors, "subject", subject, SUBJECT_MAX)
    _check_text(errors, "content", content, TEXT_MAX)
    if channel not in Inquiry.Channel.values:
        errors["channel"] = [_("Choose a channel from the list.")]
    if received_at is not None:
        received_at = _received_at(errors, received_at)
    _check_category(errors, category, keep_id=None)
    _check_assignee(errors, assignee, keep_id=None)
    _raise(errors)
    inquiry = Inquiry.objects.create(
        customer=customer,
        received_at=received_at or timezone.now(),
        channel=channel,
        category=category,
        subject=subject,
        content=content,
        status=Inquiry.Status.NEW,
        assignee=assignee,
        created_by=actor,
        updated_by=actor,
    )
    record_created(inquiry, actor=actor, via=via, fields=INQUIRY_FIELDS, customer_id=customer.pk)
    return inquiry


@transaction.atomic
def inquiry_update(
    *,
    actor: User,
    inquiry: Inquiry,
    data: dict[str, Any],
    version: int | None,
    via: str = HistoryEntry.Via.UI,
    at: datetime.datetime | None = None,
) -> Inquiry:
    """Change what people may change (INQUIRY_EDITABLE) on top of `version`.

    A status change also sets or clears the resolution and closing times (`at`, default now).
    A stale version raises StaleVersionError and writes nothing.
    """
    unknown = set(data) - set(INQUIRY_EDITABLE)
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    data = dict(data)
    _no_nul(**{k: v for k, v in data.items() if isinstance(v, str)})
    current = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    if version is not None and current.version != version:
        raise StaleVersionError(current)
    errors: dict[str, list[str]] = {}
    if "subject" in data:
        data["subject"] = (data["subject"] or "").strip()
        if not data["subject"]:
            errors["subject"] = [_("Enter a subject.")]
        _check_text(errors, "subject", data["subject"], SUBJECT_MAX)
    if "content" in data:
        data["content"] = data["content"] or ""
        _check_text(errors, "content", data["content"], TEXT_MAX)
    if "channel" in data and data["channel"] not in Inquiry.Channel.values:
        errors["channel"] = [_("Choose a channel from the list.")]
    if "received_at" in data:
        if data["received_at"] is None:
            errors["received_at"] = [_("Enter when the inquiry was received.")]
        elif data["received_at"] != current.received_at:
            data["received_at"] = _received_at(errors, data["received_at"])
    if "category" in data:
        _check_category(errors, data["category"], keep_id=current.category_id)
    if "assignee" in data:
        _check_assignee(errors, data["assignee"], keep_id=current.assignee_id)
    if "status" in data and data["status"] not in Inquiry.Status.values:
        errors["status"] = [_("Choose a status from the list.")]
    _raise(errors)
    changes = status_changes(current, data.pop("status", current.status), at or timezone.now())
    if "satisfaction" in data and data["satisfaction"] is not None:
        changes.pop("satisfaction", None)
    return versioned_update(
        Inquiry,
        actor=actor,
        instance=current,
        data={**changes, **data},
        version=version,
        fields=INQUIRY_FIELDS,
        via=via,
        check=_check_state,
    )


@transaction.atomic
def inquiry_assign(
    *,
    actor: User,
    inquiry: Inquiry,
    assignee: User | None,
    version: int | None,
    via: str = HistoryEntry.Via.UI,
) -> Inquiry:
    """Give the inquiry to someone (or to no one); "take it" is `assignee=actor`."""
    return inquiry_update(
        actor=actor, inquiry=inquiry, data={"assignee": assignee}, version=version, via=via
    )


@transaction.atomic
def inquiry_answer(
    *,
    actor: User,
    inquiry: Inquiry,
    body: str,
    is_internal: bool = False,
    status: str | None = None,
    via: str = HistoryEntry.Via.UI,
    at: datetime.datetime | None = None,
) -> InquiryAnswer:
    """Add an answer (or an internal note) to the thread, optionally setting a new status.

    Answers only append, so no version is needed: two people answering at once both keep their
    answer. The inquiry's version still goes up, so an edit form read before the answer is stale.
    `answer.inquiry` is the inquiry as saved.
    """
    _no_nul(body=body)
    body = (body or "").strip()
    current = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    if current.deleted_at is not None:
        raise ValidationError(_("This inquiry is in the trash."))
    if current.status == Inquiry.Status.CLOSED:
        raise ValidationError(
            _("This inquiry is closed: reopen it first to add an answer."), code="closed"
        )
    at = at or timezone.now()
    errors: dict[str, list[str]] = {}
    if not body:
        errors["body"] = [_("Write the answer.")]
    _check_text(errors, "body", body, TEXT_MAX)
    if status not in (None, "") and status not in Inquiry.Status.values:
        errors["status"] = [_("Choose a status from the list.")]
    if at < current.received_at:
        errors.setdefault("body", []).append(
            _("An answer cannot be earlier than the time the inquiry was received.")
        )
    _raise(errors)

    answer = InquiryAnswer.objects.create(
        inquiry=current, author=actor, body=body, is_internal=is_internal, created_at=at
    )
    record_created(
        answer, actor=actor, via=via, fields=ANSWER_FIELDS, customer_id=current.customer_id
    )

    before = snapshot(current, INQUIRY_FIELDS)
    if not status and not is_internal and current.status == Inquiry.Status.NEW:
        status = Inquiry.Status.IN_PROGRESS
    for name, value in status_changes(current, status or current.status, at).items():
        setattr(current, name, value)
    if not is_internal and current.first_response_at is None:
        current.first_response_at = at
    current.version += 1
    current.updated_by = actor
    current.save()
    changes = changes_between(before, snapshot(current, INQUIRY_FIELDS))
    if changes:
        history_record(
            actor=actor,
            via=via,
            action=HistoryEntry.Action.UPDATE,
            instance=current,
            customer_id=current.customer_id,
            changes=changes,
        )
    return answer


@transaction.atomic
def inquiry_delete(*, actor: User, inquiry: Inquiry, via: str = HistoryEntry.Via.UI) -> None:
    """To the trash, with a history entry; the answers stay with it."""
    move_to_trash(inquiry, actor=actor, via=via)


# --- categories (admin settings) ---------------------------------------------------------------


def _admin_only(actor: User) -> None:
    if not is_admin(actor):
        raise PermissionDenied


def _category_clean(*, name: str, position: int, exclude_pk: int | None = None) -> tuple[str, int]:
    _no_nul(name=name)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Enter a name.")]
    _check_text(errors, "name", name, CATEGORY_NAME_MAX)
    if name and InquiryCategory.objects.filter(name=name).exclude(pk=exclude_pk).exists():
        errors.setdefault("name", []).append(_("A category with this name already exists."))
    if not 0 <= position <= 32767:
        errors["position"] = [_("Enter a number from 0 to 32767.")]
    _raise(errors)
    return name, position


@transaction.atomic
def category_create(
    *, actor: User, name: str, position: int = 0, is_active: bool = True
) -> InquiryCategory:
    _admin_only(actor)
    name, position = _category_clean(name=name, position=position)
    category = InquiryCategory.objects.create(name=name, position=position, is_active=is_active)
    record_created(
        category, actor=actor, via=HistoryEntry.Via.UI, fields=CATEGORY_FIELDS, customer_id=None
    )
    return category


@transaction.atomic
def category_update(
    *, actor: User, category: InquiryCategory, name: str, position: int, is_active: bool
) -> InquiryCategory:
    """Rename, reorder or retire a category; inquiries filed under it keep it."""
    _admin_only(actor)
    name, position = _category_clean(name=name, position=position, exclude_pk=category.pk)
    current = InquiryCategory.objects.select_for_update().get(pk=category.pk)
    before = snapshot(current, CATEGORY_FIELDS)
    current.name, current.position, current.is_active = name, position, is_active
    changes = changes_between(before, snapshot(current, CATEGORY_FIELDS))
    if changes:
        current.save()
        history_record(
            actor=actor,
            via=HistoryEntry.Via.UI,
            action=HistoryEntry.Action.UPDATE,
            instance=current,
            customer_id=None,
            changes=changes,
        )
    return current


@transaction.atomic
def category_delete(*, actor: User, category: InquiryCategory) -> None:
    """Only a category no inquiry (not even one in the trash) uses; others are retired."""
    _admin_only(actor)
    if Inquiry.objects.filter(category=category).exists():
        raise ValidationError(
            _(
                "This category is used by inquiries and cannot be deleted: "
                "mark it as not in use instead."
            )
        )
    history_record(
        actor=actor,
        via=HistoryEntry.Via.UI,
        action=HistoryEntry.Action.DELETE,
        instance=category,
        customer_id=None,
        changes=snapshot(category, CATEGORY_FIELDS, only_filled=True),
    )
    category.delete()
