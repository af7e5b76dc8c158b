"""API for the duplicates queue and merges: the same selectors and services as the screens
(a pair is visible only with both its kartes, a merge only with its survivor; anything else is
a 404), history written with via "api".

    GET  /duplicates              the queue, strongest first (cursor pages)
    GET  /duplicates/{id}         one pair with both kartes side by side and related counts
    POST /duplicates/{id}/dismiss "not a duplicate" (no later scan proposes it again)
    POST /duplicates/{id}/reopen  back into the queue
    POST /duplicate-scans         start a scan (administrators and managers)
    GET  /duplicate-scans/{id}    its progress
    POST /merges                  merge kartes (versions of all of them: a stale one is 409)
    GET  /merges, /merges/{id}    merges and what each changed and moved
    POST /merges/{id}/undo        undo a merge (409 with the reasons when it cannot be undone)
"""

import datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from enishi.api.auth import require_write, write_auth
from enishi.api.errors import (
    Conflict,
    ErrorOut,
    Forbidden,
    Unprocessable,
    error_responses,
    rule_errors,
)
from enishi.api.schemas import (
    MAX_ID,
    Id,
    InSchema,
    Limit,
    PageOut,
    Version,
    cursor_after_id,
    cursor_decode,
    cursor_encode,
    either,
    id_page,
    text,
)
from enishi.core.later import translated
from enishi.core.permissions import is_manager_or_admin
from enishi.core.records import StaleVersionError
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.quality import selectors, services
from enishi.quality.merge import (
    BOTH,
    KEEP_EMAILS,
    KEEP_PHONES,
    MAX_MERGE,
    KarteGoneError,
    customer_merge,
)
from enishi.quality.merge_undo import (
    customer_merge_undo,
    merge_undo_notes,
    merge_undo_problems,
)
from enishi.quality.models import DuplicatePair, Merge, ScanRun

router = Router(tags=["duplicates"])

VIA = HistoryEntry.Via.API
READ_ERRORS = error_responses(401, 422, 429)
ONE_ERRORS = error_responses(401, 404, 422, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 422, 429)
PairStatus = Literal[tuple(DuplicatePair.Status.values)]
Kind = Literal[tuple(Customer.Kind.values)]
Band = Literal[tuple(selectors.BANDS)]


# --- schemas ----------------------------------------------------------------------------------


class KarteRef(Schema):
    id: int
    kind: str
    name: str
    version: int


class Reason(Schema):
    code: str = Field(description="A reason code of the matching engine, e.g. same_phone.")
    label: str = Field(description="The reason in the request's language.")


class PairOut(Schema):
    id: int
    a: KarteRef
    b: KarteRef
    score: float = Field(description="0 to 1: how sure the matching engine is.")
    reasons: list[Reason] = Field(
        description="Why the kartes look alike: as the scan found them, or as the kartes read "
        "now when one of them changed since (see rechecked)."
    )
    rechecked: bool = Field(
        description="A karte changed after the scan, so the reasons were worked out again from "
        "the kartes as they are now, and so was the score."
    )
    group: int = Field(description="Pairs of one scan with the same group are one cluster.")
    status: str
    found_at: datetime.datetime
    decided_at: datetime.datetime | None
    merge_id: int | None


class PairPage(PageOut):
    results: list[PairOut]


class PairQuery(Schema):
    status: PairStatus = "open"
    kind: Kind | None = None
    band: Band | None = Field(None, description="high (≥ 0.9), medium (0.7–0.9), low (< 0.7).")
    owner_id: Id | None = Field(None, description="Either karte owned by this user.")
    cursor: text(200) | None = None
    limit: Limit = 50


class FieldRow(Schema):
    key: str = Field(description="The key to use in a merge's `choices` (cf:<key> for custom).")
    label: str
    values: list[str] = Field(description="As shown to people, one per karte (a, b).")
    differs: bool


class CountRow(Schema):
    kind: str
    counts: list[int]


class PairDetail(PairOut):
    fields: list[FieldRow]
    related: list[CountRow] = Field(description="Records on each karte that a merge moves.")


class ScanOut(Schema):
    id: int
    status: str
    percent: int
    done: int
    total: int
    phase: str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    customers: int
    pairs: int
    groups: int
    new_pairs: int
    dismissed_kept: int
    error: str


Choice = either(
    int | Literal["both"], gettext_lazy('Enter the id of one of the kartes, or "both".')
)


class MergeIn(InSchema):
    survivor_id: Id
    other_ids: list[Id] = Field(min_length=1, max_length=MAX_MERGE - 1)
    choices: dict[text(60), Choice] = Field(
        default_factory=dict,
        max_length=200,
        description="Per field key (see GET /duplicates/{id}): the id of the karte whose value "
        'is kept, or "both" for needs / preferences / notes. Left out: the survivor\'s value '
        "when it has one, else the first other karte's.",
    )
    keep_phones: bool = Field(
        False, description="Phones of the others that differ go to a free slot, else the notes."
    )
    keep_emails: bool = Field(
        False, description="E-mails of the others that differ go to a free slot, else the notes."
    )
    versions: dict[text(20), Version] = Field(
        max_length=MAX_MERGE, description="The version you read of every karte: {id: version}."
    )


class MergedOut(Schema):
    id: int
    name: str
    code_before: str


class FieldChange(Schema):
    field: str
    before: Any
    after: Any


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged: list[MergedOut]
    actor_id: int | None
    via: str
    created_at: datetime.datetime
    choices: dict[str, Any]
    changes: list[FieldChange] = Field(description="The survivor's fields the merge changed.")
    moved: dict[str, int] = Field(description="Records moved, per model.field.")
    remarks: list[str]
    undone_at: datetime.datetime | None
    undo_blocked_by: list[str] = Field(description="Why an undo is refused now (empty: it can).")
    undo_notes: list[str] = Field(
        default_factory=list,
        description="What an undo would do that may not be expected (records deleted since "
        "go back still in the trash).",
    )


class MergePage(PageOut):
    results: list[MergeOut]


class MergeQuery(Schema):
    customer_id: Id | None = Field(None, description="Merges into, or of, this karte.")
    cursor: text(200) | None = None
    limit: Limit = 50


class KarteConflict(ErrorOut):
    current: KarteRef | None = Field(
        None,
        description="The karte saved since you read it (none when one was merged or "
        "put in the trash meanwhile: the message says which).",
    )


class UndoConflict(ErrorOut):
    pass


# --- presenting ---------------------------------------------------------------------------------


def _karte(c: Customer) -> dict[str, Any]:
    return {"id": c.pk, "kind": c.kind, "name": c.name, "version": c.version}


def _pair(pair: DuplicatePair) -> dict[str, Any]:
    score, codes, rechecked = selectors.pair_reasons(pair)
    return {
        "id": pair.pk,
        "a": _karte(pair.a),
        "b": _karte(pair.b),
        "score": score,
        "reasons": [
            {"code": code, "label": label}
            for code, label in zip(codes, selectors.reason_labels(codes), strict=True)
        ],
        "rechecked": rechecked,
        "group": pair.group,
        "status": pair.status,
        "found_at": pair.found_at,
        "decided_at": pair.decided_at,
        "merge_id": pair.merge_id,
    }


def _scan(scan: ScanRun) -> dict[str, Any]:
    return {name: getattr(scan, name) for name in ScanOut.model_fields}


def _merge(m: Merge, *, with_problems: bool = True) -> dict[str, Any]:
    changes = []
    for name, pair in m.fields.items():
        if name == "custom_fields":
            for key, (before, after) in pair.items():
                changes.append({"field": f"custom_fields.{key}", "before": before, "after": after})
        else:
            changes.append({"field": name, "before": pair[0], "after": pair[1]})
    return {
        "id": m.pk,
        "survivor_id": m.survivor_id,
        "merged": [
            {"id": member.customer_id, "name": member.name, "code_before": member.code_before}
            for member in m.members.order_by("position")
        ],
        "actor_id": m.actor_id,
        "via": m.via,
        "created_at": m.created_at,
        "choices": m.choices,
        "changes": changes,
        "moved": m.counts,
        "remarks": [translated(note) for note in m.notes],
        "undone_at": m.undone_at,
        "undo_blocked_by": merge_undo_problems(m) if with_problems and not m.is_undone else [],
        "undo_notes": merge_undo_notes(m) if with_problems else [],
    }


def _invalid(exc: ValidationError) -> Unprocessable:
    return Unprocessable(_("Some values are not valid: see errors."), rule_errors(exc))


# --- the queue ----------------------------------------------------------------------------------


@router.get(
    "/duplicates",
    response={200: PairPage, **READ_ERRORS},
    summary="List duplicate candidates",
)
def list_duplicates(request: HttpRequest, query: Query[PairQuery]):
    """Pairs whose two kartes the user may see, strongest first (ties by id); page with
    `cursor`."""
    filters = selectors.QueueFilters(
        kind=query.kind or "",
        band=query.band or "",
        owner=query.owner_id,
        status=query.status,
    )
    qs = selectors.duplicate_queue(request.user, filters)  # ordered by -score, id
    if query.cursor:
        score, after = _score_cursor(query.cursor)
        qs = qs.filter(Q(score__lt=score) | Q(score=score, pk__gt=after))
    found = list(qs[: query.limit + 1])
    items = found[: query.limit]
    next_cursor = (
        cursor_encode({"score": items[-1].score, "id": items[-1].pk})
        if len(found) > query.limit
        else None
    )
    results = [_pair(p) for p in items]
    services.pairs_keep_current(items)
    return {"results": results, "next_cursor": next_cursor}


def _score_cursor(cursor: str) -> tuple[float, int]:
    data = cursor_decode(cursor)
    score, pk = data.get("score"), data.get("id")
    valid = (
        isinstance(score, int | float)
        and not isinstance(score, bool)
        and 0 <= score <= 1
        and isinstance(pk, int)
        and not isinstance(pk, bool)
        and 0 <= pk <= MAX_ID
    )
    if not valid:
        raise Unprocessable.field(
            "cursor",
            "invalid",
            _("This cursor is not valid: use next_cursor from a previous page."),
        )
    return float(score), pk


@router.get(
    "/duplicates/{id}",
    response={200: PairDetail, **ONE_ERRORS},
    summary="Get a duplicate candidate, side by side",
)
def get_duplicate(request: HttpRequest, id: Id):
    pair = selectors.pair_get(request.user, id)
    compared = selectors.comparison(request.user, [pair.a, pair.b])
    presented = _pair(pair)
    services.pairs_keep_current([pair])
    return {
        **presented,
        "fields": [
            {"key": r.key, "label": r.label, "values": r.cells, "differs": r.differs}
            for r in compared.rows
        ],
        "related": [
            {"kind": label, "counts": numbers} for label, numbers, _total in compared.count_rows()
        ],
    }


@router.post(
    "/duplicates/{id}/dismiss",
    response={200: PairOut, **WRITE_ERRORS},
    summary="Mark a candidate as not a duplicate",
    auth=write_auth(),
)
def dismiss_duplicate(request: HttpRequest, id: Id):
    """Remembered: no later scan proposes this pair again (reopen takes it back)."""
    require_write(request)
    pair = selectors.pair_get(request.user, id)
    try:
        services.pair_dismiss(actor=request.user, pair=pair)
    except ValidationError as exc:
        raise _invalid(exc) from None
    return _pair(selectors.pair_get(request.user, id))


@router.post(
    "/duplicates/{id}/reopen",
    response={200: PairOut, **WRITE_ERRORS},
    summary="Put a dismissed candidate back in the queue",
    auth=write_auth(),
)
def reopen_duplicate(request: HttpRequest, id: Id):
    require_write(request)
    pair = selectors.pair_get(request.user, id)
    services.pair_reopen(actor=request.user, pair=pair)
    return _pair(selectors.pair_get(request.user, id))


# --- scans ----------------------------------------------------------------------------------------


def _require_manager_or_admin(request: HttpRequest) -> None:
    if not is_manager_or_admin(request.user):
        raise Forbidden(_("Only administrators and managers may start a duplicate scan."))


@router.post(
    "/duplicate-scans",
    response={202: ScanOut, 200: ScanOut, **error_responses(401, 403, 429)},
    summary="Start a duplicate scan (administrators and managers)",
    auth=write_auth(_require_manager_or_admin),
)
def start_scan(request: HttpRequest):
    """Queues a scan of the whole database (202). While one is waiting or running, that one is
    returned instead (200). Poll GET /duplicate-scans/{id} for its progress."""
    require_write(request)
    _require_manager_or_admin(request)
    scan, created = services.scan_start(actor=request.user, via=VIA)
    return Status(202 if created else 200, _scan(scan))


@router.get(
    "/duplicate-scans/{id}",
    response={200: ScanOut, **ONE_ERRORS},
    summary="Get a duplicate scan's progress",
)
def get_scan(request: HttpRequest, id: Id):
    """Administrators and managers (who may start scans); for others there are none (404)."""
    if not is_manager_or_admin(request.user):
        raise Http404
    return _scan(selectors.scan_get(id))


# --- merges ------------------------------------------------------------------------------------------


def _versions(raw: dict[str, int]) -> dict[int, int]:
    versions = {}
    for key, version in raw.items():
        try:
            pk = int(key)
        except ValueError:
            pk = 0
        if not 1 <= pk <= MAX_ID:
            raise Unprocessable.field(
                "versions", "invalid", _('Name each karte by its id: {"123": 4}.')
            )
        versions[pk] = version
    return versions


@router.post(
    "/merges",
    response={201: MergeOut, 409: KarteConflict, **WRITE_ERRORS},
    summary="Merge kartes",
    auth=write_auth(),  # 403 before the body is read
)
def create_merge(request: HttpRequest, payload: MergeIn):
    """Merge `other_ids` into `survivor_id`: every activity, task, deal, inquiry, order,
    contract, contact person, subsidiary and link moves to the survivor, tags are united, the
    others are kept in the merged state (their old ids answer 404; GET /merges?customer_id=
    finds where they went). All kartes must be ones the user may change. Undo with
    POST /merges/{id}/undo."""
    require_write(request)
    ids = [payload.survivor_id, *payload.other_ids]
    if len(set(ids)) != len(ids):
        raise Unprocessable.field(
            "other_ids", "invalid", _("Each karte may be named once, and not as the survivor.")
        )
    versions = _versions(payload.versions)
    try:
        kartes = selectors.kartes_for_merge(request.user, ids)
    except KarteGoneError as exc:
        raise Conflict(exc.messages[0]) from None
    missing = [pk for pk in ids if pk not in versions]
    if missing:
        raise Unprocessable.field(
            "versions", "required", _("Send the version you read of every karte being merged.")
        )
    choices: dict[str, Any] = {KEEP_PHONES: payload.keep_phones, KEEP_EMAILS: payload.keep_emails}
    for key, value in payload.choices.items():
        choices[key] = BOTH if value == "both" else value
    try:
        done = customer_merge(
            actor=request.user,
            survivor=kartes[0],
            others=kartes[1:],
            choices=choices,
            versions=versions,
            via=VIA,
        )
    except StaleVersionError as exc:
        raise Conflict(
            _("Someone saved %(name)s after you read it: nothing was merged.")
            % {"name": exc.current.name},
            current=_karte(exc.current),
        ) from None
    except PermissionDenied:
        raise Forbidden(_("You may not change all of these kartes.")) from None
    except KarteGoneError as exc:
        raise Conflict(exc.messages[0]) from None
    except ValidationError as exc:
        raise _invalid(exc) from None
    return Status(201, _merge(selectors.merge_get(request.user, done.pk)))


@router.get("/merges", response={200: MergePage, **READ_ERRORS}, summary="List merges")
def list_merges(request: HttpRequest, query: Query[MergeQuery]):
    """Merges whose surviving karte the user may see, in id order."""
    qs = selectors.merges_visible(request.user).order_by("pk")
    if query.customer_id is not None:
        qs = qs.filter(
            Q(survivor_id=query.customer_id) | Q(members__customer_id=query.customer_id)
        ).distinct()
    after = cursor_after_id(query.cursor)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    items, next_cursor = id_page(list(qs[: query.limit + 1]), query.limit)
    return {
        "results": [_merge(m, with_problems=False) for m in items],
        "next_cursor": next_cursor,
    }


@router.get("/merges/{id}", response={200: MergeOut, **ONE_ERRORS}, summary="Get a merge")
def get_merge(request: HttpRequest, id: Id):
    return _merge(selectors.merge_get(request.user, id))


@router.post(
    "/merges/{id}/undo",
    response={200: MergeOut, 409: UndoConflict, **WRITE_ERRORS},
    summary="Undo a merge",
    auth=write_auth(),
)
def undo_merge(request: HttpRequest, id: Id):
    """Everything goes back as it was before the merge. 409, with the reasons in `errors`, when
    something the merge touched has changed since in a way that cannot be undone safely."""
    require_write(request)
    done = selectors.merge_get(request.user, id)
    try:
        customer_merge_undo(actor=request.user, merge=done, via=VIA)
    except PermissionDenied:
        raise Forbidden(_("You may not change all of these kartes.")) from None
    except ValidationError as exc:
        raise Conflict(
            _("This merge cannot be undone now: see errors."),
            [{"field": None, "code": "undo_refused", "message": m} for m in exc.messages],
        ) from None
    return _merge(selectors.merge_get(request.user, id))
