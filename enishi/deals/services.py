"""Writes for deals (商談) and their pipelines: one function per use case, each in one
transaction, each recording history. Every stage move also keeps a DealStageChange (from → to,
by whom, when): conversion and time in stage are measured from those.
"""

import datetime
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from enishi.accounts.models import User
from enishi.activities import services as activity_services
from enishi.activities.models import Task
from enishi.core.permissions import is_admin
from enishi.core.records import (
    StaleVersionError,
    changes_between,
    move_to_trash,
    record_created,
    versioned_update,
)
from enishi.customers.models import Customer
from enishi.deals.models import Deal, DealStageChange, Pipeline, Stage
from enishi.history.models import HistoryEntry
from enishi.history.services import history_record, snapshot

__all__ = ["StaleVersionError"]

# Currencies a deal may be in, with their minor units (ISO 4217): yen and won have none.
CURRENCIES = {"JPY": 0, "USD": 2, "EUR": 2, "CNY": 2, "KRW": 0, "TWD": 2}
DEFAULT_CURRENCY = "JPY"
MAX_AMOUNT = Decimal("999999999999")
LONG_TEXT_LIMIT = 20000
FIRST_YEAR, LAST_YEAR = 1900, 2999

# The stages a new pipeline starts with (the data migration made the first pipeline of them).
DEFAULT_PIPELINE_NAME = "新規営業"
DEFAULT_STAGES = [
    {"name": "リード", "probability": 10, "outcome": Stage.Outcome.OPEN},
    {"name": "ヒアリング", "probability": 20, "outcome": Stage.Outcome.OPEN},
    {"name": "提案", "probability": 40, "outcome": Stage.Outcome.OPEN},
    {"name": "見積提出", "probability": 60, "outcome": Stage.Outcome.OPEN},
    {"name": "交渉", "probability": 80, "outcome": Stage.Outcome.OPEN},
    {"name": "受注", "probability": 100, "outcome": Stage.Outcome.WON},
    {"name": "失注", "probability": 0, "outcome": Stage.Outcome.LOST},
]

# What the history of a deal shows (contacts by their names).
DEAL_FIELDS = (
    "title",
    "pipeline",
    "stage",
    "amount",
    "currency",
    "probability",
    "expected_close_on",
    "owner",
    "contacts",
    "competitors",
    "decision_process",
    "next_action",
    "next_action_due",
    "lost_reason",
    "closed_on",
)
# What deal_update may change; the stage changes only through deal_move.
DEAL_EDITABLE = (
    "title",
    "amount",
    "currency",
    "probability",
    "expected_close_on",
    "owner",
    "contacts",
    "competitors",
    "decision_process",
    "next_action",
    "next_action_due",
    "lost_reason",
)
MOVE_FIELDS = ("stage", "probability", "closed_on", "lost_reason")
TEXT_FIELDS = ("title", "competitors", "decision_process", "next_action", "lost_reason")
PIPELINE_FIELDS = ("name", "position", "is_active")
STAGE_FIELDS = ("name", "position", "probability", "outcome", "is_active")


# --- rules ------------------------------------------------------------------------------------


def _amount_errors(amount: Any, currency: str) -> list[str]:
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        return [_("Enter an amount such as 1200000.")]
    if not value.is_finite():
        return [_("Enter an amount such as 1200000.")]
    if value < 0:
        return [_("The amount cannot be negative.")]
    if value > MAX_AMOUNT:
        return [_("The amount cannot be more than 999,999,999,999.")]
    places = CURRENCIES.get(currency)
    if places is not None and value != value.quantize(Decimal(1).scaleb(-places)):
        if places == 0:
            return [
                _("Amounts in %(currency)s are whole numbers: no decimals.")
                % {"currency": currency}
            ]
        return [
            _("Amounts in %(currency)s have at most %(places)s decimal places.")
            % {"currency": currency, "places": places}
        ]
    return []


def _day_ok(day: datetime.date | None) -> bool:
    return day is None or FIRST_YEAR <= day.year <= LAST_YEAR


def _contacts_errors(customer: Customer, contacts: Iterable[Customer]) -> list[str]:
    contacts = list(contacts)
    if not contacts:
        return []
    if not customer.is_company:
        return [_("Contact persons can be chosen for a deal with a company only.")]
    strangers = [
        c
        for c in contacts
        if c.kind != Customer.Kind.PERSON or c.company_id != customer.pk or c.deleted_at
    ]
    if strangers:
        return [
            _("%(names)s is not a contact person at %(company)s.")
            % {"names": "、".join(c.name for c in strangers), "company": customer.name}
        ]
    return []


def deal_rules(deal: Deal, *, contacts: Iterable[Customer] | None = None) -> dict[str, list[str]]:
    """Every rule a deal's state must satisfy, as {field: [messages]} (empty: all good)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for name in TEXT_FIELDS:
        value = getattr(deal, name) or ""
        if "\x00" in value:
            add(name, _("The text contains a control character that cannot be stored."))
    if not (deal.title or "").strip():
        add("title", _("Give the deal a title."))
    if len(deal.decision_process or "") > LONG_TEXT_LIMIT:
        add(
            "decision_process",
            _("Too long: at most %(limit)s characters.") % {"limit": f"{LONG_TEXT_LIMIT:,}"},
        )
    if deal.currency not in CURRENCIES:
        add(
            "currency",
            _("Choose one of these currencies: %(list)s.") % {"list": ", ".join(CURRENCIES)},
        )
    for message in _amount_errors(deal.amount, deal.currency):
        add("amount", message)
    probability = deal.probability
    if not isinstance(probability, int) or isinstance(probability, bool):
        add("probability", _("Enter the probability as a whole number from 0 to 100."))
    elif not 0 <= probability <= 100:
        add("probability", _("The probability is a percentage from 0 to 100."))
    for name in ("expected_close_on", "next_action_due"):
        if not _day_ok(getattr(deal, name)):
            add(name, _("Enter a date between 1900 and 2999."))
    if deal.next_action_due and not (deal.next_action or "").strip():
        add("next_action", _("Say what the next action is, or clear its date."))
    stage = deal.stage
    if stage.pipeline_id != deal.pipeline_id:
        add("stage", _("This stage belongs to another pipeline."))
    if stage.outcome == Stage.Outcome.LOST and not (deal.lost_reason or "").strip():
        add("lost_reason", _("Say why the deal was lost."))
    if stage.outcome != Stage.Outcome.LOST and (deal.lost_reason or "").strip():
        add("lost_reason", _("A lost reason is kept for lost deals only."))
    if deal.owner_id is not None and not deal.owner.is_active:
        add("owner", _("Choose an active user."))
    if contacts is not None:
        for message in _contacts_errors(deal.customer, contacts):
            add("contacts", message)
    return errors


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _clean_text(data: dict[str, Any]) -> dict[str, Any]:
    for name in ("title", "competitors", "next_action", "lost_reason"):
        if name in data and isinstance(data[name], str):
            data[name] = data[name].strip()
    return data


# --- deals ------------------------------------------------------------------------------------


def _sync_next_action_task(
    *, actor: User, deal: Deal, before: tuple[str, datetime.date | None], via: str
) -> None:
    """The deal's next action (and its due date) is a task on the karte, linked to the deal.

    A changed next action updates the open task made for the previous one, or makes a new task
    when there is none (e.g. it was done); a cleared next action leaves existing tasks alone.
    """
    wanted = (deal.next_action, deal.next_action_due)
    if not deal.next_action or wanted == before:
        return
    task = None
    if before[0]:
        task = (
            Task.objects.filter(
                deal=deal, title=before[0], done_at__isnull=True, deleted_at__isnull=True
            )
            .order_by("-id")
            .first()
        )
    if task is not None:
        activity_services.task_update(
            actor=actor,
            task=task,
            data={"title": deal.next_action, "due_on": deal.next_action_due},
            version=None,
            via=via,
        )
        return
    task = activity_services.task_create(
        actor=actor,
        customer=deal.customer,
        title=deal.next_action,
        due_on=deal.next_action_due,
        assignee=deal.owner or actor,
        via=via,
    )
    # task_create has no deal parameter (activities is another app's code): link it here, in
    # the same transaction.
    Task.objects.filter(pk=task.pk).update(deal=deal)


@transaction.atomic
def deal_create(
    *,
    actor: User,
    customer: Customer,
    title: str,
    stage: Stage,
    pipeline: Pipeline | None = None,
    amount: Decimal | int = Decimal(0),
    currency: str = DEFAULT_CURRENCY,
    probability: int | None = None,
    expected_close_on: datetime.date | None = None,
    owner: User | None = None,
    contacts: Iterable[Customer] = (),
    competitors: str = "",
    decision_process: str = "",
    next_action: str = "",
    next_action_due: datetime.date | None = None,
    lost_reason: str = "",
    via: str = HistoryEntry.Via.UI,
) -> Deal:
    """A new deal in `stage` (its pipeline's, unless `pipeline` says otherwise: refused).

    The probability defaults to the stage's; the first stage entry is kept as a stage change
    from nowhere, so that conversion counts the deal from the stage it started in.
    """
    contacts = list(contacts)
    now = timezone.now()
    data = _clean_text(
        {
            "title": title,
            "competitors": competitors,
            "next_action": next_action,
            "lost_reason": lost_reason,
        }
    )
    deal = Deal(
        customer=customer,
        pipeline=pipeline or stage.pipeline,
        stage=stage,
        amount=amount,
        currency=currency,
        probability=stage.probability if probability is None else probability,
        expected_close_on=expected_close_on,
        owner=owner or actor,
        competitors=data["competitors"],
        decision_process=decision_process,
        next_action=data["next_action"],
        next_action_due=next_action_due,
        lost_reason=data["lost_reason"],
        title=data["title"],
        stage_entered_at=now,
        closed_on=timezone.localdate() if stage.is_closed else None,
        created_by=actor,
        updated_by=actor,
    )
    errors = deal_rules(deal, contacts=contacts)
    if not stage.is_active and "stage" not in errors:
        errors["stage"] = [_("This stage is no longer in use.")]
    if not deal.pipeline.is_active:
        errors.setdefault("stage", []).append(_("This pipeline is no longer in use."))
    try:
        deal.full_clean(
            exclude=["customer", "pipeline", "stage", "owner", "contacts", "created_by"]
            + ["updated_by", "amount", "currency", "probability"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, messages)
    _raise_if(errors)
    deal.save()
    if contacts:
        deal.contacts.set(contacts)
    DealStageChange.objects.create(
        deal=deal, from_stage=None, to_stage=stage, changed_at=now, changed_by=actor
    )
    record_created(deal, actor=actor, via=via, fields=DEAL_FIELDS, customer_id=customer.pk)
    _sync_next_action_task(actor=actor, deal=deal, before=("", None), via=via)
    return deal


@transaction.atomic
def deal_update(
    *,
    actor: User,
    deal: Deal,
    data: dict[str, Any],
    version: int | None,
    via: str = HistoryEntry.Via.UI,
) -> Deal:
    """Change a deal's facts on top of the version the user read (stale: StaleVersionError).

    `data` may hold any of DEAL_EDITABLE; `contacts` is the whole new list. Nothing is saved
    when a rule fails; an unchanged deal records nothing.
    """
    data = _clean_text(dict(data))
    unknown = set(data) - set(DEAL_EDITABLE)
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))} cannot be changed here")
    contacts = list(data.pop("contacts")) if "contacts" in data else None
    before = (deal.next_action, deal.next_action_due)

    def check(current: Deal) -> None:
        _raise_if(deal_rules(current, contacts=contacts))
        # A many-to-many relation cannot be assigned before save: it is set here, inside the
        # locked transaction, so that versioned_update's after-snapshot (and history) sees it.
        if contacts is not None and {c.pk for c in contacts} != {
            c.pk for c in current.contacts.all()
        }:
            current.contacts.set(contacts)

    deal = versioned_update(
        Deal,
        actor=actor,
        instance=deal,
        data=data,
        version=version,
        fields=DEAL_FIELDS,
        via=via,
        check=check,
        clean_exclude=("amount", "currency", "probability"),
    )
    _sync_next_action_task(actor=actor, deal=deal, before=before, via=via)
    return deal


@transaction.atomic
def deal_move(
    *,
    actor: User,
    deal: Deal,
    stage: Stage,
    version: int | None,
    lost_reason: str = "",
    via: str = HistoryEntry.Via.UI,
) -> Deal:
    """Move a deal to another stage of its pipeline.

    The probability becomes the stage's default, the time in stage starts again, a won or lost
    stage sets the closing date (moving back to an open stage clears it) and a lost stage needs
    a reason. The move is kept as a DealStageChange and in the history.
    """
    current = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
    if version is not None and current.version != version:
        raise StaleVersionError(current)
    lost_reason = (lost_reason or "").strip()
    errors: dict[str, list[str]] = {}
    if stage.pipeline_id != current.pipeline_id:
        errors["stage"] = [_("This stage belongs to another pipeline.")]
    elif not stage.is_active and stage.pk != current.stage_id:
        errors["stage"] = [_("This stage is no longer in use.")]
    if "\x00" in lost_reason:
        errors["lost_reason"] = [_("The text contains a control character that cannot be stored.")]
    elif len(lost_reason) > Deal._meta.get_field("lost_reason").max_length:
        errors["lost_reason"] = [
            _("Too long: at most %(limit)s characters.")
            % {"limit": Deal._meta.get_field("lost_reason").max_length}
        ]
    elif stage.outcome == Stage.Outcome.LOST and not lost_reason:
        errors["lost_reason"] = [_("Say why the deal was lost.")]
    _raise_if(errors)
    if stage.pk == current.stage_id:
        return current
    before = snapshot(current, MOVE_FIELDS)
    from_stage = current.stage
    now = timezone.now()
    current.stage = stage
    current.probability = stage.probability
    current.stage_entered_at = now
    if not stage.is_closed:
        current.closed_on = None
    elif not from_stage.is_closed or current.closed_on is None:
        current.closed_on = timezone.localdate()
    current.lost_reason = lost_reason if stage.outcome == Stage.Outcome.LOST else ""
    current.version += 1
    current.updated_by = actor
    current.save()
    left = (
        DealStageChange.objects.filter(deal=current, duration__isnull=True)
        .order_by("-changed_at", "-id")
        .first()
    )
    if left is not None:
        left.duration = max(now - left.changed_at, datetime.timedelta(0))
        left.save(update_fields=["duration"])
    DealStageChange.objects.create(
        deal=current, from_stage=from_stage, to_stage=stage, changed_at=now, changed_by=actor
    )
    history_record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=current,
        customer_id=current.customer_id,
        changes=changes_between(before, snapshot(current, MOVE_FIELDS)),
    )
    return current


@transaction.atomic
def deal_delete(*, actor: User, deal: Deal, via: str = HistoryEntry.Via.UI) -> None:
    """Deals go to the trash with a history entry (their stage history stays with them)."""
    move_to_trash(deal, actor=actor, via=via)


# --- pipelines and stages (admin settings) ----------------------------------------------------


def _require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise PermissionDenied


def _settings_record(actor: User, instance, action: str, changes: dict, via: str) -> None:
    if action == HistoryEntry.Action.UPDATE and not changes:
        return
    history_record(
        actor=actor, via=via, action=action, instance=instance, customer_id=None, changes=changes
    )


def _name_errors(name: str, *, limit: int = 100) -> list[str]:
    if "\x00" in name:
        return [_("The text contains a control character that cannot be stored.")]
    if not name:
        return [_("Enter a name.")]
    if len(name) > limit:
        return [_("Too long: at most %(limit)s characters.") % {"limit": limit}]
    return []


def _stage_errors(stage: Stage) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if messages := _name_errors(stage.name):
        errors["name"] = messages
    if (
        not isinstance(stage.probability, int)
        or isinstance(stage.probability, bool)
        or not 0 <= stage.probability <= 100
    ):
        errors["probability"] = [_("The probability is a percentage from 0 to 100.")]
    if stage.outcome not in Stage.Outcome.values:
        errors["outcome"] = [_("Choose open, won or lost.")]
    if (
        "name" not in errors
        and Stage.objects.filter(pipeline_id=stage.pipeline_id, name=stage.name)
        .exclude(pk=stage.pk)
        .exists()
    ):
        errors["name"] = [_("This pipeline already has a stage with this name.")]
    return errors


def pipeline_check(pipeline: Pipeline) -> None:
    """A pipeline needs, among its stages in use, an open one, a won one and a lost one."""
    outcomes = set(
        Stage.objects.filter(pipeline=pipeline, is_active=True).values_list("outcome", flat=True)
    )
    missing = []
    if Stage.Outcome.OPEN not in outcomes:
        missing.append(_("A pipeline needs at least one open stage in use."))
    if Stage.Outcome.WON not in outcomes:
        missing.append(_("A pipeline needs at least one won stage in use."))
    if Stage.Outcome.LOST not in outcomes:
        missing.append(_("A pipeline needs at least one lost stage in use."))
    if missing:
        raise ValidationError(missing)


def _stage_add(
    *, actor: User, pipeline: Pipeline, data: dict[str, Any], position: int, via: str
) -> Stage:
    stage = Stage(
        pipeline=pipeline,
        name=(data.get("name") or "").strip(),
        position=position,
        probability=data.get("probability", 0),
        outcome=data.get("outcome", Stage.Outcome.OPEN),
        is_active=data.get("is_active", True),
    )
    _raise_if(_stage_errors(stage))
    stage.save()
    _settings_record(
        actor,
        stage,
        HistoryEntry.Action.CREATE,
        snapshot(stage, ("pipeline", *STAGE_FIELDS), only_filled=True),
        via,
    )
    return stage


def _stage_change(*, actor: User, stage: Stage, data: dict[str, Any], via: str) -> Stage:
    before = snapshot(stage, STAGE_FIELDS)
    for name, value in data.items():
        if name not in STAGE_FIELDS:
            raise ValueError(f"{name} cannot be changed")
        setattr(stage, name, value.strip() if isinstance(value, str) and name == "name" else value)
    _raise_if(_stage_errors(stage))
    changes = changes_between(before, snapshot(stage, STAGE_FIELDS))
    if changes:
        stage.save()
        _settings_record(actor, stage, HistoryEntry.Action.UPDATE, changes, via)
    return stage


def stage_in_use_by_deals(stage: Stage) -> bool:
    """Deals (also in the trash) or their stage history refer to it: it can only be retired."""
    return (
        Deal.objects.filter(stage=stage).exists()
        or DealStageChange.objects.filter(to_stage=stage).exists()
        or DealStageChange.objects.filter(from_stage=stage).exists()
    )


def _stage_remove(*, actor: User, stage: Stage, via: str) -> None:
    if stage_in_use_by_deals(stage):
        raise ValidationError(
            {
                "name": [
                    _(
                        "The stage “%(name)s” has deals (or had them): it cannot be deleted; "
                        "set it not in use instead."
                    )
                    % {"name": stage.name}
                ]
            }
        )
    _settings_record(
        actor, stage, HistoryEntry.Action.DELETE, snapshot(stage, ("pipeline", "name")), via
    )
    stage.delete()


@transaction.atomic
def pipeline_create(
    *,
    actor: User,
    name: str,
    stages: list[dict[str, Any]] | None = None,
    via: str = HistoryEntry.Via.UI,
) -> Pipeline:
    """A new pipeline, last in order, with `stages` (default: the standard seven)."""
    _require_admin(actor)
    name = (name or "").strip()
    if messages := _name_errors(name):
        raise ValidationError({"name": messages})
    if Pipeline.objects.filter(name=name).exists():
        raise ValidationError({"name": [_("There is already a pipeline with this name.")]})
    last = Pipeline.objects.order_by("-position").values_list("position", flat=True).first()
    pipeline = Pipeline.objects.create(name=name, position=0 if last is None else last + 1)
    _settings_record(
        actor,
        pipeline,
        HistoryEntry.Action.CREATE,
        snapshot(pipeline, PIPELINE_FIELDS, only_filled=True),
        via,
    )
    for position, data in enumerate(DEFAULT_STAGES if stages is None else stages):
        _stage_add(actor=actor, pipeline=pipeline, data=data, position=position, via=via)
    pipeline_check(pipeline)
    return pipeline


@transaction.atomic
def pipeline_update(
    *, actor: User, pipeline: Pipeline, data: dict[str, Any], via: str = HistoryEntry.Via.UI
) -> Pipeline:
    """Rename, reorder, or retire a pipeline (the last one in use cannot be retired)."""
    _require_admin(actor)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    before = snapshot(pipeline, PIPELINE_FIELDS)
    for key, value in data.items():
        if key not in PIPELINE_FIELDS:
            raise ValueError(f"{key} cannot be changed")
        setattr(pipeline, key, value.strip() if key == "name" and isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    if messages := _name_errors(pipeline.name):
        errors["name"] = messages
    elif Pipeline.objects.filter(name=pipeline.name).exclude(pk=pipeline.pk).exists():
        errors["name"] = [_("There is already a pipeline with this name.")]
    if (
        not pipeline.is_active
        and not Pipeline.objects.filter(is_active=True).exclude(pk=pipeline.pk).exists()
    ):
        errors["is_active"] = [_("At least one pipeline must stay in use.")]
    _raise_if(errors)
    changes = changes_between(before, snapshot(pipeline, PIPELINE_FIELDS))
    if changes:
        pipeline.save()
        _settings_record(actor, pipeline, HistoryEntry.Action.UPDATE, changes, via)
    return pipeline


@transaction.atomic
def stage_create(
    *,
    actor: User,
    pipeline: Pipeline,
    name: str,
    probability: int = 0,
    outcome: str = Stage.Outcome.OPEN,
    is_active: bool = True,
    via: str = HistoryEntry.Via.UI,
) -> Stage:
    """A new stage at the end of the pipeline."""
    _require_admin(actor)
    last = pipeline.stages.order_by("-position").values_list("position", flat=True).first()
    stage = _stage_add(
        actor=actor,
        pipeline=pipeline,
        data={"name": name, "probability": probability, "outcome": outcome, "is_active": is_active},
        position=0 if last is None else last + 1,
        via=via,
    )
    pipeline_check(pipeline)
    return stage


@transaction.atomic
def stage_update(
    *, actor: User, stage: Stage, data: dict[str, Any], via: str = HistoryEntry.Via.UI
) -> Stage:
    """Rename a stage, change its default probability or outcome, or retire it (not in use)."""
    _require_admin(actor)
    stage = _stage_change(actor=actor, stage=stage, data=data, via=via)
    pipeline_check(stage.pipeline)
    return stage


@transaction.atomic
def stage_delete(*, actor: User, stage: Stage, via: str = HistoryEntry.Via.UI) -> None:
    """Only a stage no deal was ever in can be deleted; others are set not in use."""
    _require_admin(actor)
    pipeline = stage.pipeline
    _stage_remove(actor=actor, stage=stage, via=via)
    pipeline_check(pipeline)


@transaction.atomic
def stages_reorder(
    *, actor: User, pipeline: Pipeline, stage_ids: list[int], via: str = HistoryEntry.Via.UI
) -> None:
    """Put the pipeline's stages in this order (every stage of it, each once)."""
    _require_admin(actor)
    stages = {s.pk: s for s in pipeline.stages.all()}
    if sorted(stage_ids) != sorted(stages):
        raise ValidationError(_("List every stage of the pipeline once."))
    for position, pk in enumerate(stage_ids):
        if stages[pk].position != position:
            _stage_change(actor=actor, stage=stages[pk], data={"position": position}, via=via)


@transaction.atomic
def pipeline_stages_save(
    *,
    actor: User,
    pipeline: Pipeline,
    rows: list[dict[str, Any]],
    via: str = HistoryEntry.Via.UI,
) -> None:
    """The settings screen's one save: every stage row in its new order, as
    {"id": pk or None, "name", "probability", "outcome", "is_active", "delete": bool}.

    All or nothing: the pipeline's rules are checked once, on the result, so that moving the
    won outcome from one stage to another, or swapping two names, is one valid change.
    Messages name the row they are about.
    """
    _require_admin(actor)
    existing = {s.pk: s for s in pipeline.stages.all()}
    if any(row.get("id") is not None and row["id"] not in existing for row in rows):
        raise ValidationError(_("A stage of another pipeline cannot be changed here."))
    # Names are unique per pipeline: renamed and deleted stages first get a placeholder name in
    # the database (their real name stays on the Python object, for the history), so that two
    # stages may swap names in one save.
    parked = [
        row["id"]
        for row in rows
        if row.get("id") is not None
        and (row.get("delete") or existing[row["id"]].name != (row.get("name") or "").strip())
    ]
    if parked:
        Stage.objects.filter(pk__in=parked).update(
            name=Concat(Value("\x01"), Cast("id", output_field=CharField()))
        )
    errors: list[str] = []
    for row in rows:
        if row.get("id") is not None and row.get("delete"):
            try:
                _stage_remove(actor=actor, stage=existing[row["id"]], via=via)
            except ValidationError as exc:
                errors.extend(exc.messages)
    kept = [row for row in rows if not row.get("delete")]
    for position, row in enumerate(kept, start=1):
        data = {k: row[k] for k in ("name", "probability", "outcome", "is_active") if k in row}
        try:
            if row.get("id") is None:
                _stage_add(
                    actor=actor, pipeline=pipeline, data=data, position=position - 1, via=via
                )
            else:
                _stage_change(
                    actor=actor,
                    stage=existing[row["id"]],
                    data={**data, "position": position - 1},
                    via=via,
                )
        except ValidationError as exc:
            errors.extend(
                _("Stage %(n)s: %(message)s") % {"n": position, "message": m} for m in exc.messages
            )
    if errors:
        raise ValidationError(errors)
    pipeline_check(pipeline)


def default_pipeline_ensure() -> Pipeline:
    """The first pipeline in use, made with the standard stages when there is none (a fresh
    database without the data migration's rows, e.g. after a test flushed them)."""
    found = Pipeline.objects.filter(is_active=True).order_by("position", "id").first()
    if found is not None:
        return found
    with transaction.atomic():
        pipeline = Pipeline.objects.create(name=DEFAULT_PIPELINE_NAME, position=0)
        Stage.objects.bulk_create(
            Stage(pipeline=pipeline, position=i, **data) for i, data in enumerate(DEFAULT_STAGES)
        )
    return pipeline
