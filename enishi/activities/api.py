"""API for the timeline (activities) and tasks: thin handlers over the activity services, every
record reached through a karte the user may see (anything else is a 404).
"""

import datetime
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema
from ninja.responses import Status

from enishi.activities import selectors, services
from enishi.activities.models import Activity, Task
from enishi.api import selectors as api_selectors
from enishi.api.auth import require_write, write_auth
from enishi.api.errors import ErrorOut, Unprocessable, error_responses, stale_conflict
from enishi.api.schemas import (
    Day,
    Id,
    InSchema,
    Limit,
    Moment,
    PageOut,
    Version,
    cursor_after_id,
    cursor_decode,
    cursor_encode,
    etag,
    id_page,
    text,
    version_wanted,
)
from enishi.customers.selectors import customer_get
from enishi.history.models import HistoryEntry

router = Router()

VIA = HistoryEntry.Via.API
ActivityType = Literal[tuple(Activity.Type.values)]
Direction = Literal[tuple(["", *Activity.Direction.values])]


def _limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class ActivityOut(Schema):
    id: int
    customer_id: int
    type: str
    direction: str
    occurred_at: datetime.datetime
    staff_id: int | None
    attendees: str
    subject: str
    body: str
    outcome: str
    next_action: str
    next_action_due: datetime.date | None
    deal_id: int | None
    inquiry_id: int | None
    order_id: int | None
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ActivityFields(InSchema):
    direction: Direction | None = None
    occurred_at: Moment | None = Field(None, description="Default: now.")
    staff_id: Id | None = Field(None, description="Default: the token's user.")
    attendees: text(_limit(Activity, "attendees")) | None = None
    subject: text(_limit(Activity, "subject")) | None = None
    body: text(20000) | None = None
    outcome: text(_limit(Activity, "outcome")) | None = None
    next_action: text(_limit(Activity, "next_action")) | None = None
    next_action_due: Day | None = None


class ActivityIn(ActivityFields):
    """A touch point; a next action (with or without a date) also becomes a task."""

    type: ActivityType
    deal_id: Id | None = Field(None, description="A deal of this customer it is about.")
    inquiry_id: Id | None = Field(None, description="An inquiry of this customer it is about.")
    order_id: Id | None = Field(None, description="An order of this customer it is about.")


class ActivityPatch(ActivityFields):
    type: ActivityType | None = None
    version: Version | None = Field(None, description="The version you read; or If-Match.")


class ActivityPage(PageOut):
    results: list[ActivityOut]


class ActivityConflict(ErrorOut):
    current: ActivityOut


class TaskOut(Schema):
    id: int
    customer_id: int
    activity_id: int | None
    title: str
    due_on: datetime.date | None
    assignee_id: int | None
    done: bool
    done_at: datetime.datetime | None
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TaskIn(InSchema):
    title: text(_limit(Task, "title"))
    due_on: Day | None = None
    assignee_id: Id | None = Field(None, description="Default: the token's user.")


class TaskPatch(InSchema):
    title: text(_limit(Task, "title")) | None = None
    due_on: Day | None = None
    assignee_id: Id | None = None
    done: bool | None = Field(None, description="true completes the task, false reopens it.")
    version: Version | None = Field(None, description="The version you read; or If-Match.")


class TaskPage(PageOut):
    results: list[TaskOut]


class TaskConflict(ErrorOut):
    current: TaskOut


class TimelineQuery(Schema):
    cursor: text(200) | None = None
    limit: Limit = 50


class TaskQuery(Schema):
    assignee: text(20) | None = Field(None, description='"me" or a user id.')
    status: Literal["open", "done"] | None = None
    due_before: Day | None = None
    due_after: Day | None = None
    customer_id: Id | None = None
    cursor: text(200) | None = None
    limit: Limit = 50


def _activity(a: Activity) -> dict[str, Any]:
    return {name: getattr(a, name) for name in ActivityOut.model_fields}


def _task(t: Task) -> dict[str, Any]:
    return {
        **{name: getattr(t, name) for name in TaskOut.model_fields if name != "done"},
        "done": t.done_at is not None,
    }


def _timeline_cursor(cursor: str | None) -> tuple[datetime.datetime, int] | None:
    if not cursor:
        return None
    data = cursor_decode(cursor)
    try:
        at = datetime.datetime.fromisoformat(data["at"])
        pk = int(data["id"])
        if at.tzinfo is None or not 0 <= pk < 2**63 or not 1900 <= at.year <= 2999:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise Unprocessable.field(
            "cursor",
            "invalid",
            _("This cursor is not valid: use next_cursor from a previous page."),
        ) from None
    return at, pk


def _text_fields(data: dict[str, Any], model) -> dict[str, Any]:
    """null clears a text field (stored as empty text)."""
    for name, value in data.items():
        if value is None and model._meta.get_field(name).get_internal_type() in (
            "CharField",
            "TextField",
        ):
            data[name] = ""
    return data


READ_ERRORS = error_responses(401, 422, 429)
ONE_ERRORS = error_responses(401, 404, 422, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 422, 429)
DELETE_ERRORS = error_responses(401, 403, 404, 422, 429)


# --- activities -------------------------------------------------------------------------------


@router.get(
    "/customers/{id}/activities",
    response={200: ActivityPage, **ONE_ERRORS},
    tags=["activities"],
    summary="A customer's timeline",
)
def list_customer_activities(request: HttpRequest, id: Id, query: Query[TimelineQuery]):
    """Newest first; page with `cursor`."""
    customer = customer_get(request.user, id)
    items, cursor = selectors.timeline_page(
        request.user, customer, before=_timeline_cursor(query.cursor), size=query.limit
    )
    next_cursor = cursor_encode({"at": cursor[0].isoformat(), "id": cursor[1]}) if cursor else None
    return {"results": [_activity(a) for a in items], "next_cursor": next_cursor}


@router.post(
    "/customers/{id}/activities",
    response={201: ActivityOut, **WRITE_ERRORS},
    tags=["activities"],
    summary="Log an activity",
    auth=write_auth(),
)
def create_activity(request: HttpRequest, response: HttpResponse, id: Id, payload: ActivityIn):
    require_write(request)
    customer = customer_get(request.user, id)
    data = _text_fields(payload.model_dump(exclude_unset=True), Activity)
    data["staff"] = api_selectors.user_active_or_422("staff_id", data.pop("staff_id", None))
    activity = services.activity_log(actor=request.user, customer=customer, via=VIA, **data)
    response["ETag"] = etag(activity.version)
    return Status(201, _activity(activity))


@router.get(
    "/activities/{id}",
    response={200: ActivityOut, **ONE_ERRORS},
    tags=["activities"],
    summary="Get an activity",
)
def get_activity(request: HttpRequest, response: HttpResponse, id: Id):
    activity = api_selectors.activity_get(request.user, id)
    response["ETag"] = etag(activity.version)
    return _activity(activity)


@router.patch(
    "/activities/{id}",
    response={200: ActivityOut, 409: ActivityConflict, **WRITE_ERRORS},
    tags=["activities"],
    summary="Change an activity",
    auth=write_auth(),
)
def update_activity(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: ActivityPatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    require_write(request)
    activity = api_selectors.activity_get(request.user, id)
    version = version_wanted(payload.version, if_match, current=lambda: _activity(activity))
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    if "type" in data and data["type"] is None:
        raise Unprocessable.field("type", "null", _("This field cannot be empty."))
    data = _text_fields(data, Activity)
    if "staff_id" in data:
        data["staff"] = api_selectors.user_active_or_422("staff_id", data.pop("staff_id"))
    try:
        activity = services.activity_update(
            actor=request.user, activity=activity, data=data, version=version, via=VIA
        )
    except services.StaleVersionError as exc:
        raise stale_conflict(_activity(exc.current)) from None
    response["ETag"] = etag(activity.version)
    return _activity(activity)


@router.delete(
    "/activities/{id}",
    response={204: None, **DELETE_ERRORS},
    tags=["activities"],
    summary="Delete an activity",
    auth=write_auth(),
)
def delete_activity(request: HttpRequest, id: Id):
    require_write(request)
    activity = api_selectors.activity_get(request.user, id)
    services.activity_delete(actor=request.user, activity=activity, via=VIA)
    return Status(204, None)


# --- tasks ------------------------------------------------------------------------------------


@router.get("/tasks", response={200: TaskPage, **READ_ERRORS}, tags=["tasks"], summary="List tasks")
def list_tasks(request: HttpRequest, query: Query[TaskQuery]):
    """Tasks on kartes the user may see, in id order, filtered; page with `cursor`."""
    assignee_id = None
    if query.assignee == "me":
        assignee_id = request.user.pk
    elif query.assignee:
        if not query.assignee.isascii() or not query.assignee.isdigit():
            raise Unprocessable.field("assignee", "invalid", _('Use "me" or a user id.'))
        assignee_id = int(query.assignee)
    found = api_selectors.task_list(
        request.user,
        assignee_id=assignee_id,
        done=None if query.status is None else query.status == "done",
        due_before=query.due_before,
        due_after=query.due_after,
        customer_id=query.customer_id,
        after=cursor_after_id(query.cursor),
        limit=query.limit + 1,
    )
    items, next_cursor = id_page(found, query.limit)
    return {"results": [_task(t) for t in items], "next_cursor": next_cursor}


@router.post(
    "/customers/{id}/tasks",
    response={201: TaskOut, **WRITE_ERRORS},
    tags=["tasks"],
    summary="Add a task",
    auth=write_auth(),
)
def create_task(request: HttpRequest, response: HttpResponse, id: Id, payload: TaskIn):
    require_write(request)
    customer = customer_get(request.user, id)
    task = services.task_create(
        actor=request.user,
        customer=customer,
        title=payload.title,
        due_on=payload.due_on,
        assignee=api_selectors.user_active_or_422("assignee_id", payload.assignee_id),
        via=VIA,
    )
    response["ETag"] = etag(task.version)
    return Status(201, _task(task))


@router.get(
    "/tasks/{id}", response={200: TaskOut, **ONE_ERRORS}, tags=["tasks"], summary="Get a task"
)
def get_task(request: HttpRequest, response: HttpResponse, id: Id):
    task = selectors.task_get(request.user, id)
    response["ETag"] = etag(task.version)
    return _task(task)


@router.patch(
    "/tasks/{id}",
    response={200: TaskOut, 409: TaskConflict, **WRITE_ERRORS},
    tags=["tasks"],
    summary="Change, complete or reopen a task",
    auth=write_auth(),
)
def update_task(
    request: HttpRequest,
    response: HttpResponse,
    id: Id,
    payload: TaskPatch,
    if_match: str | None = Header(None, alias="If-Match"),
):
    """`done: true` completes the task (who and when are recorded), `false` reopens it."""
    require_write(request)
    task = selectors.task_get(request.user, id)
    version = version_wanted(payload.version, if_match, current=lambda: _task(task))
    data = payload.model_dump(exclude_unset=True, exclude={"version", "done"})
    if "title" in data and data["title"] is None:
        raise Unprocessable.field("title", "null", _("This field cannot be empty."))
    if "assignee_id" in data:
        data["assignee"] = api_selectors.user_active_or_422("assignee_id", data.pop("assignee_id"))
    try:
        # The version is checked (and the row locked) by the update, even with nothing to
        # change; completing goes through its own service so that who completed is recorded.
        with transaction.atomic():
            task = services.task_update(
                actor=request.user, task=task, data=data, version=version, via=VIA
            )
            if payload.done is not None:
                task = services.task_complete(
                    actor=request.user, task=task, done=payload.done, via=VIA
                )
    except services.StaleVersionError as exc:
        raise stale_conflict(_task(exc.current)) from None
    response["ETag"] = etag(task.version)
    return _task(task)


@router.delete(
    "/tasks/{id}",
    response={204: None, **DELETE_ERRORS},
    tags=["tasks"],
    summary="Delete a task",
    auth=write_auth(),
)
def delete_task(request: HttpRequest, id: Id):
    require_write(request)
    task = selectors.task_get(request.user, id)
    services.task_delete(actor=request.user, task=task, via=VIA)
    return Status(204, None)
