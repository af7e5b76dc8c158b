"""引き継ぎ: moving one person's customers, open tasks, open deals, open inquiries and running
contracts to colleagues when staff change."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from enishi.accounts.models import User
from enishi.activities.models import Activity, Task
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry


@dataclass
class HandoverPlan:
    from_user: User
    to_users: list[User]
    # customer id → the colleague who takes it over
    customers: dict[int, User] = field(default_factory=dict)
    tasks: dict[int, User] = field(default_factory=dict)
    # model label → {record id → colleague}: open deals, open inquiries, running contracts
    records: dict[str, dict[int, User]] = field(default_factory=dict)

    def counts(self) -> list[tuple[User, int, int, int, int, int]]:
        """(colleague, customers, open tasks, deals, inquiries, contracts) for the preview."""

        def n(moves: dict[int, User], user: User) -> int:
            return sum(1 for u in moves.values() if u == user)

        return [
            (
                user,
                n(self.customers, user),
                n(self.tasks, user),
                *(n(self.records.get(label, {}), user) for label, _m, _f, _q in _followers()),
            )
            for user in self.to_users
        ]


def _followers():
    """Records that follow their customer to the new owner: (label, model, person field, open)."""
    from django.db.models import Q

    from enishi.deals.models import Deal, Stage
    from enishi.inquiries.models import Inquiry
    from enishi.sales.models import Contract

    return [
        ("deals.deal", Deal, "owner", Q(stage__outcome=Stage.Outcome.OPEN)),
        ("inquiries.inquiry", Inquiry, "assignee", Q(status__in=Inquiry.OPEN_STATUSES)),
        ("sales.contract", Contract, "owner", Q(cancelled_on__isnull=True)),
    ]


def handover_sources(actor: User):
    """Whose customers this person may hand over: anyone for an admin, their team for a manager."""
    from enishi.core.permissions import is_admin

    users = User.objects.order_by("-is_active", "username")
    if is_admin(actor):
        return users
    return users.filter(team_id=actor.team_id) if actor.team_id else users.none()


def handover_plan(*, actor: User, from_user: User, to_users: list[User]) -> HandoverPlan:
    """Who gets what. With several colleagues the customers are spread evenly, but a company
    and its contacts stay together so one person keeps the whole account."""
    if not handover_sources(actor).filter(pk=from_user.pk).exists():
        raise ValidationError(
            {"from_user": [_("You can only hand over the customers of your own team.")]}
        )
    if not to_users:
        raise ValidationError({"to_users": [_("Choose at least one colleague to hand over to.")]})
    if any(u.pk == from_user.pk for u in to_users):
        raise ValidationError({"to_users": [_("A person cannot hand over to themselves.")]})
    if any(not u.is_active for u in to_users):
        raise ValidationError({"to_users": [_("Only active users can take over customers.")]})
    plan = HandoverPlan(from_user=from_user, to_users=list(to_users))
    from enishi.customers.selectors import customer_visible

    owned = list(
        customer_visible(actor)
        .filter(owner=from_user)
        .order_by("id")
        .values_list("pk", "company_id")
    )
    # Group: a company with its owned contacts; persons without a company each on their own.
    owned_ids = {pk for pk, _ in owned}
    groups: dict[int, list[int]] = {}
    for pk, company_id in owned:
        groups.setdefault(company_id if company_id in owned_ids else pk, []).append(pk)
    load = {u.pk: 0 for u in to_users}
    order = {u.pk: i for i, u in enumerate(to_users)}
    by_pk = {u.pk: u for u in to_users}
    for members in sorted(groups.values(), key=len, reverse=True):
        target = by_pk[min(load, key=lambda pk: (load[pk], order[pk]))]
        for pk in members:
            plan.customers[pk] = target
        load[target.pk] += len(members)
    open_tasks = Task.objects.filter(
        assignee=from_user,
        done_at__isnull=True,
        deleted_at__isnull=True,
        customer__in=customer_visible(actor),
    )
    for task_pk, customer_id in open_tasks.values_list("pk", "customer_id"):
        # A task follows its customer; a task on someone else's customer goes to the first colleague.
        plan.tasks[task_pk] = plan.customers.get(customer_id, to_users[0])
    for label, model, person, open_q in _followers():
        rows = model.objects.filter(
            open_q,
            **{person: from_user},
            deleted_at__isnull=True,
            customer__in=customer_visible(actor),
        ).values_list("pk", "customer_id")
        plan.records[label] = {pk: plan.customers.get(cid, to_users[0]) for pk, cid in rows}
    return plan


@transaction.atomic
def customers_hand_over(
    *, actor: User, from_user: User, to_users: list[User], note: str
) -> HandoverPlan:
    """Carry out the plan: owners and assignees change, each karte gets a handover entry on its
    timeline with the note, and history records every move."""
    note = (note or "").strip()
    if len(note) > 5000:
        raise ValidationError({"note": [_("The note is too long (at most 5,000 characters).")]})
    plan = handover_plan(actor=actor, from_user=from_user, to_users=to_users)
    now = timezone.now()
    activities, entries = [], []
    customer_names = dict(Customer.objects.filter(pk__in=plan.customers).values_list("pk", "name"))
    for user in plan.to_users:
        customer_ids = [pk for pk, u in plan.customers.items() if u == user]
        Customer.objects.filter(pk__in=customer_ids).update(
            owner=user, updated_by=actor, updated_at=now
        )
        task_ids = [pk for pk, u in plan.tasks.items() if u == user]
        Task.objects.filter(pk__in=task_ids).update(assignee=user, updated_at=now)
        for pk in customer_ids:
            activities.append(
                Activity(
                    customer_id=pk,
                    type=Activity.Type.HANDOVER,
                    occurred_at=now,
                    staff=actor,
                    subject=_("Handover: %(from)s → %(to)s")
                    % {"from": from_user.label, "to": user.label},
                    body=note,
                    created_by=actor,
                )
            )
            entries.append(
                HistoryEntry(
                    actor=actor,
                    via=HistoryEntry.Via.UI,
                    action=HistoryEntry.Action.HANDOVER,
                    model="customers.customer",
                    object_id=pk,
                    customer_id=pk,
                    object_repr=customer_names.get(pk, "")[:200],
                    changes={"owner": [from_user.label, user.label]},
                )
            )
    task_customers = dict(Task.objects.filter(pk__in=plan.tasks).values_list("pk", "customer_id"))
    for task_pk, user in plan.tasks.items():
        entries.append(
            HistoryEntry(
                actor=actor,
                via=HistoryEntry.Via.UI,
                action=HistoryEntry.Action.HANDOVER,
                model="activities.task",
                object_id=task_pk,
                customer_id=task_customers.get(task_pk),
                changes={"assignee": [from_user.label, user.label]},
            )
        )
    for label, model, person, _open in _followers():
        moves = plan.records.get(label, {})
        owners = dict(model.objects.filter(pk__in=moves).values_list("pk", "customer_id"))
        for user in plan.to_users:
            ids = [pk for pk, u in moves.items() if u == user]
            model.objects.filter(pk__in=ids).update(
                **{person: user}, updated_at=now, version=F("version") + 1
            )
        entries.extend(
            HistoryEntry(
                actor=actor,
                via=HistoryEntry.Via.UI,
                action=HistoryEntry.Action.HANDOVER,
                model=label,
                object_id=pk,
                customer_id=owners.get(pk),
                changes={person: [from_user.label, user.label]},
            )
            for pk, user in moves.items()
        )
    Activity.objects.bulk_create(activities, batch_size=500)
    HistoryEntry.objects.bulk_create(entries, batch_size=500)
    # Optimistic locks: anyone editing one of these kartes must see that the owner changed.
    Customer.objects.filter(pk__in=plan.customers).update(version=F("version") + 1)
    return plan
