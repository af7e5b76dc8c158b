"""Writes to the timeline and tasks."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enishi.accounts.models import User
from enishi.activities.models import Activity, Task
from enishi.core.records import StaleVersionError, move_to_trash, versioned_update
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.history.services import history_record, snapshot

__all__ = ["StaleVersionError"]

ACTIVITY_FIELDS = (
    "type",
    "direction",
    "occurred_at",
    "staff",
    "attendees",
    "subject",
    "body",
    "outcome",
    "next_action",
    "next_action_due",
)
TASK_FIELDS = ("title", "due_on", "assignee", "done_at")
TASK_WRITABLE = (*TASK_FIELDS, "done_by")


@transaction.atomic
def activity_log(
    *,
    actor: User,
    customer: Customer,
    type: str,
    occurred_at: datetime.datetime | None = None,
    subject: str = "",
    body: str = "",
    direction: str = "",
    outcome: str = "",
    attendees: str = "",
    next_action: str = "",
    next_action_due: datetime.date | None = None,
    staff: User | None = None,
    deal_id: int | None = None,
    inquiry_id: int | None = None,
    order_id: int | None = None,
    via: str = HistoryEntry.Via.UI,
) -> Activity:
    """Log a touch point; a next action with or without a date becomes a task for the staff.
    It may be about one of the customer's deals, inquiries or orders (never another's)."""
    links = activity_links(customer, deal_id=deal_id, inquiry_id=inquiry_id, order_id=order_id)
    if next_action_due and not next_action:
        raise ValidationError(
            {"next_action": [_("Say what the next action is, or clear its date.")]}
        )
    if "\x00" in subject + body + outcome + attendees + next_action:
        raise ValidationError(_("The text contains a control character that cannot be stored."))
    activity = Activity.objects.create(
        customer=customer,
        type=type,
        direction=direction,
        occurred_at=occurred_at or timezone.now(),
        staff=staff or actor,
        attendees=attendees,
        subject=subject,
        body=body,
        outcome=outcome,
        next_action=next_action,
        next_action_due=next_action_due,
        created_by=actor,
        **links,
    )
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.CREATE,
        instance=activity,
        customer_id=customer.pk,
        changes=snapshot(activity, (*ACTIVITY_FIELDS, *links), only_filled=True),
    )
    if next_action:
        task_create(
            actor=actor,
            customer=customer,
            title=next_action,
            due_on=next_action_due,
            assignee=activity.staff,
            activity=activity,
            via=via,
        )
    return activity


def activity_links(customer: Customer, **ids: int | None) -> dict:
    """{"deal": Deal, …} for the given ids, each checked to belong to this customer."""
    from enishi.deals.models import Deal
    from enishi.inquiries.models import Inquiry
    from enishi.sales.models import Order

    models = {"deal_id": Deal, "inquiry_id": Inquiry, "order_id": Order}
    links = {}
    for name, pk in ids.items():
        if pk is None:
            continue
        found = (
            models[name].objects.filter(pk=pk, customer=customer, deleted_at__isnull=True).first()
        )
        if found is None:
            raise ValidationError({name: [_("Choose a deal, inquiry or order of this customer.")]})
        links[name.removesuffix("_id")] = found
    return links


def parse_about(value: str) -> dict[str, int]:
    """The log form's "about" choice ("deal:12") as keyword arguments for activity_log."""
    kind, _sep, pk = (value or "").partition(":")
    if kind in ("deal", "inquiry", "order") and pk.isascii() and pk.isdigit() and len(pk) < 19:
        return {f"{kind}_id": int(pk)}
    if value:
        raise ValidationError({"about": [_("Choose a deal, inquiry or order of this customer.")]})
    return {}


@transaction.atomic
def task_create(
    *,
    actor: User,
    customer: Customer,
    title: str,
    due_on: datetime.date | None = None,
    assignee: User | None = None,
    activity: Activity | None = None,
    via: str = HistoryEntry.Via.UI,
) -> Task:
    title = title.strip()
    if not title:
        raise ValidationError({"title": [_("Enter what needs to be done.")]})
    task = Task.objects.create(
        customer=customer,
        title=title,
        due_on=due_on,
        assignee=assignee or actor,
        activity=activity,
        created_by=actor,
    )
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.CREATE,
        instance=task,
        customer_id=customer.pk,
        changes=snapshot(task, TASK_FIELDS, only_filled=True),
    )
    return task


@transaction.atomic
def task_complete(
    *, actor: User, task: Task, done: bool = True, via: str = HistoryEntry.Via.UI
) -> Task:
    """Mark a task done (or open again). Completing twice changes nothing and records nothing."""
    current = Task.objects.select_for_update().get(pk=task.pk)
    if (current.done_at is not None) == done:
        return current
    before = snapshot(current, TASK_FIELDS)
    current.done_at = timezone.now() if done else None
    current.done_by = actor if done else None
    current.version += 1
    current.save(update_fields=["done_at", "done_by", "version", "updated_at"])
    after = snapshot(current, TASK_FIELDS)
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=current,
        customer_id=current.customer_id,
        changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
    )
    return current


def _update(model, *, actor, instance, data: dict, version: int | None, fields, via: str):
    return versioned_update(
        model, actor=actor, instance=instance, data=data, version=version, fields=fields, via=via
    )


@transaction.atomic
def activity_update(
    *,
    actor: User,
    activity: Activity,
    data: dict,
    version: int | None,
    via: str = HistoryEntry.Via.UI,
) -> Activity:
    if "\x00" in "".join(str(v) for v in data.values()):
        raise ValidationError(_("The text contains a control character that cannot be stored."))
    return _update(
        Activity,
        actor=actor,
        instance=activity,
        data=data,
        version=version,
        fields=ACTIVITY_FIELDS,
        via=via,
    )


@transaction.atomic
def task_update(
    *, actor: User, task: Task, data: dict, version: int | None, via: str = HistoryEntry.Via.UI
) -> Task:
    data = dict(data)
    if "title" in data:
        data["title"] = (data["title"] or "").strip()
        if not data["title"]:
            raise ValidationError({"title": [_("Enter what needs to be done.")]})
    if "done" in data:
        done = bool(data.pop("done"))
        data["done_at"] = (task.done_at or timezone.now()) if done else None
        data["done_by"] = (task.done_by or actor) if done else None
    return _update(
        Task, actor=actor, instance=task, data=data, version=version, fields=TASK_WRITABLE, via=via
    )


@transaction.atomic
def activity_delete(*, actor: User, activity: Activity, via: str = HistoryEntry.Via.UI) -> None:
    """Activities go to the trash with a history entry; restoring the karte does not revive them."""
    move_to_trash(activity, actor=actor, via=via)


@transaction.atomic
def task_delete(*, actor: User, task: Task, via: str = HistoryEntry.Via.UI) -> None:
    move_to_trash(task, actor=actor, via=via)
