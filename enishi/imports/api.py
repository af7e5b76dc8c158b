"""API for imports: the same wizard as the screens, step by step.

1. `POST /imports` (multipart: `file`, `target`): stores the file, finds its encoding,
   delimiter, sheet and header row, and guesses each column's target (or applies the saved
   template for files with these headers).
2. `GET /imports/{id}/columns`: the headers, sample values, current targets and the targets
   available; `PUT /imports/{id}/layout` reads the file another way; `PUT /imports/{id}/mapping`
   sets the targets (and saves them as a template, given a name).
3. `POST /imports/{id}/check`: checks every row in the background; poll `GET /imports/{id}`
   until `status` is "preview".
4. `GET /imports/{id}/rows`: each row with its problems, what would happen to it and why;
   `PUT /imports/{id}/rules`, `PUT /imports/{id}/decision` decide (also which company karte
   a person is linked to when several have the name the file gives: `company_link`).
5. `POST /imports/{id}/run`: writes in the background; poll `GET /imports/{id}` until "done".
6. `GET /imports/{id}/rejected`: the rejected rows in the file's own format and encoding, with
   the reason; `POST /imports/{id}/undo` takes the import back — first without a body, which
   undoes nothing and answers 409 with what the undo would do (`undo_plan`), then with
   `{"confirm": true}`; `POST /imports/{id}/resume`
   continues an interrupted step; `DELETE /imports/{id}` discards an import that wrote nothing.

Only the user who uploaded the file (and administrators) can see an import; writes need a
token with the write scope and a role that may change data.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile
from ninja.responses import Status
from pydantic import StrictBool

from enishi.api.auth import require_write, write_auth
from enishi.api.errors import (
    ApiError,
    Conflict,
    ErrorOut,
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
    cursor_after_id,
    cursor_decode,
    cursor_encode,
    text,
)
from enishi.core.later import translated
from enishi.history.models import HistoryEntry
from enishi.imports import analysis, conf, decisions, files, selectors, services, undo
from enishi.imports.companies import link_of as company_link
from enishi.imports.models import ImportRow, ImportRun
from enishi.imports.rejected import (
    rejected_content_type,
    rejected_file_name,
    rejected_rows,
    write_rejected,
)
from enishi.imports.writing import column_labels

router = Router(tags=["imports"])
VIA = HistoryEntry.Via.API

READ_ERRORS = error_responses(401, 404, 422, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 422, 429)


class TooLarge(ApiError):
    status = 413


# --- schemas ----------------------------------------------------------------------------------


class ProgressOut(Schema):
    done: int
    total: int
    percent: int
    phase: str = Field(description="queued, checking, comparing, writing, undoing or empty.")


class SheetOut(Schema):
    name: str
    rows: int
    hidden: bool


class ImportOut(Schema):
    id: int
    status: str = Field(
        description="mapping → analysing → preview → running → done (→ undoing → undone); "
        "failed when a run stopped (what it wrote was taken back)."
    )
    target: str
    file_name: str
    file_size: int
    file_format: str
    encoding: str = Field(
        description="How a text file is read (utf-8, utf-8-sig, cp932, euc_jp, utf-16)."
    )
    detected_encoding: str
    encoding_certain: bool = Field(description="False: more than one encoding could read the file.")
    delimiter: str
    sheet: str
    sheets: list[SheetOut]
    header_row: int = Field(description="1-based; 0: no header row.")
    headers: list[str]
    mapping: list[str] = Field(description="A target key per column; empty: not imported.")
    default_kind: str
    template_id: int | None
    rules: dict[str, str]
    row_count: int
    summary: dict[str, int] = Field(description="Rows per category after the check.")
    actions: dict[str, int] = Field(description="Rows per action (create, update, skip, reject).")
    companies_to_choose: int = Field(
        0,
        description="Rows to be written whose company is one of several company kartes of the "
        'same name, not chosen yet (their `company_link.to` is "choose"): the run does not '
        "start until each is chosen with PUT /imports/{id}/decision (`company`). Rows: "
        "GET /imports/{id}/rows?show=companies.",
    )
    orders: dict[str, int] = Field(
        description="Orders import: orders (not lines) per action; empty for other targets."
    )
    counts: dict[str, int] = Field(
        description="After the run: rows per result (created, updated, unchanged, skipped, "
        "rejected), companies_created, and written: what the import wrote (rows created or "
        "updated, and the companies it created). After an undo the rows it took back are "
        "`undone` and the rows whose records it kept as they are `kept` (as GET "
        "/imports/{id}/rows?show=kept lists them; created and updated still say what the run "
        "did), and written says what of the import is still there: the kept rows and the "
        "companies it created that stay (undo_report.kept_companies)."
    )
    progress: ProgressOut
    interrupted: bool = Field(description="The step stopped without finishing: resume or undo.")
    can_undo: bool
    error: str = Field(
        description="Why the file could not be checked or the import did not finish, in the "
        "reader's language (Accept-Language or the user's setting); empty when nothing stopped."
    )
    undo_report: UndoReportOut = Field(description="After an undo: what it did (zeros before).")
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    undone_at: datetime.datetime | None


class ImportPage(PageOut):
    results: list[ImportOut]


class ImportQuery(Schema):
    cursor: text(200) | None = None
    limit: Limit = 50


class ColumnOut(Schema):
    index: int
    letter: str
    header: str
    samples: list[str]
    target: str


class TargetOut(Schema):
    key: str
    label: str
    group: str
    required: bool


class TemplateOut(Schema):
    id: int
    name: str
    headers: list[str]
    matches: bool = Field(description="Made for files with exactly these headers.")


class ColumnsOut(Schema):
    columns: list[ColumnOut]
    unreadable: bool = Field(
        description="Some characters of the headers or sample values could not be read in the "
        "chosen encoding (they show as U+FFFD): the file is probably in another encoding; set it "
        "with PUT /imports/{id}/layout."
    )
    targets: list[TargetOut]
    templates: list[TemplateOut]


class LayoutIn(InSchema):
    encoding: Literal[tuple(code for code, _label in files.ENCODINGS)] | None = None
    delimiter: Literal[",", "\t", ";", "|"] | None = None
    sheet: text(100) | None = None
    header_row: int | None = Field(None, ge=0, le=files.HEADER_SCAN_ROWS)


class MappingIn(InSchema):
    mapping: list[text(60)] = Field(
        max_length=500, description='A target key per column, in column order; "" skips it.'
    )
    default_kind: Literal["auto", "person", "company"] = "auto"
    template_name: text(100) | None = Field(None, description="Save the mapping under this name.")
    template_id: Id | None = Field(None, description="Apply a saved template instead of `mapping`.")


class RulesIn(InSchema):
    matched: Literal["update", "skip"] | None = None
    duplicates: Literal["skip", "update", "create"] | None = None
    file_duplicates: Literal["skip", "create"] | None = None
    empty: Literal["keep", "clear"] | None = None


class DecisionIn(InSchema):
    number: Id = Field(description="The row's `number` (from GET /imports/{id}/rows).")
    decision: Literal["", "create", "update", "skip"] | None = Field(
        None, description='"": as the rules say; absent: unchanged.'
    )
    company: Id | Literal["", "none"] | None = Field(
        None,
        description="For a row whose `company_link.to` is choose (or was chosen): the id of one "
        'of its `company_link.choices`, "none" (no company) or "" (to choose again); it applies '
        "to every row of the file naming that company. Absent: unchanged.",
    )


class UndoIn(InSchema):
    # Strict: only the JSON value true confirms ("yes", 1 or "on" are refused, not taken as it).
    confirm: StrictBool = Field(
        False,
        description="true: undo now. Without it nothing is undone and the answer (409) says "
        "what the undo would do.",
    )


class KeptOut(Schema):
    number: int | None = Field(
        description="The row's `number`, as GET /imports/{id}/rows gives it (none: a company "
        "the import made for the persons of the file, or a report stored before rows had it)."
    )
    line: int | None = Field(
        description="The row's line in the file or sheet (none: a company the import made)."
    )
    id: int | None = Field(description="The karte (of an activity, contract or order: its karte).")
    name: str
    reason: str = Field(
        description="Why it stays, in the reader's language: changed since (by whom, when), "
        "or what was added to the karte since (how many activities, tasks, deals, inquiries, "
        "orders, contracts, contact persons or subsidiaries)."
    )


class UndoReportOut(Schema):
    removed: int = Field(0, description="Records the undo deleted.")
    restored: int = Field(0, description="Kartes that got their previous values back.")
    kept_count: int = Field(
        0,
        description="Records kept as they are, changed or worked on since the import: kartes "
        "(with the companies the import made), activities, contracts or orders.",
    )
    kept_rows: int = Field(
        0,
        description="Rows of the file whose records were kept (counts.kept; GET "
        "/imports/{id}/rows?show=kept): an order of several lines is one record and several "
        "rows.",
    )
    kept_companies: int = Field(
        0, description="Of the records kept, companies the import made (no row of the file)."
    )
    kept: list[KeptOut] = Field(
        [], description="The first 500 records kept, by their line in the file, with the reason."
    )


class UndoPlanOut(Schema):
    remove: int = Field(
        description="Records the undo deletes: kartes (customers, with the companies the import "
        "made), activities, contracts or orders the import created, untouched since."
    )
    restore: int = Field(
        description="Kartes the import updated that get their previous values back."
    )
    keep: int = Field(
        description="Records changed or worked on since the import: kept as they are."
    )
    kept: list[KeptOut] = Field(description="The first 500 of them, with the reason.")
    sentences: list[str] = Field(description="The same, in sentences for people.")


class UndoUnconfirmed(ErrorOut):
    undo_plan: UndoPlanOut


class ProblemOut(Schema):
    field: str
    column: str
    message: str


class CompanyChoiceOut(Schema):
    id: int
    name: str
    code: str
    place: str = Field(description="Prefecture and city.")
    label: str = Field(description="Name, code, place and id, as the preview offers it.")


class CompanyLinkOut(Schema):
    to: Literal["existing", "file_row", "new", "choose", "none"] = Field(
        description="existing: linked to the company karte `id`; file_row: to the company of "
        "row `line` of the file (its `number`); new: the run creates the company `name`; "
        "choose: several company kartes are called `name`, one of `choices` (or none) must be "
        "chosen; none: chosen to import without a company."
    )
    id: int | None = Field(description="The company karte (existing).")
    name: str = Field(description="The karte's name (existing), else the name in the file.")
    how: Literal["code", "exact", "similar", "chosen"] | None = Field(
        description="How the existing karte was found: by the company code, by the very name, "
        "by a name that differs only in the legal form or spelling (`written`: as the file "
        "says it), or chosen; for choose, how the names of the choices agree (exact, similar)."
    )
    written: str
    number: int | None = Field(
        description="file_row: the company row's `number` (as in GET /imports/{id}/rows)."
    )
    line: int | None = Field(
        description="file_row: the company row's line in the file: the row as `text` and the "
        "preview name it."
    )
    choices: list[CompanyChoiceOut]
    text: str = Field(description="The same in a sentence, in the reader's language.")


class RowOut(Schema):
    number: int
    line: int = Field(description="The row's number in the file or sheet.")
    kind: str
    values: list[str]
    category: str = Field(description="new, matched, duplicate, file_duplicate or invalid.")
    action: str = Field(description="What the run does: create, update, skip or reject.")
    decision: str
    choices: list[str]
    problems: list[ProblemOut]
    notes: list[ProblemOut]
    match_id: int | None = Field(description="The karte it matches or resembles.")
    match_score: float | None
    match_reasons: list[str]
    match_reason_labels: list[str]
    duplicate_of: int | None = Field(description="The earlier row of the file it repeats.")
    company: dict[str, Any]
    company_link: CompanyLinkOut | None = Field(
        description="Before the run, a person row naming a company: the company it will be "
        "linked to."
    )
    result: str
    result_id: int | None
    result_message: str


class RowPage(PageOut):
    results: list[RowOut]


class RowQuery(Schema):
    show: Literal[
        "all", "problems", "create", "update", "skip", "reject", "duplicates", "notes",
        "companies", "created", "updated", "unchanged", "skipped", "rejected", "undone", "kept",
    ] = "all"  # fmt: skip
    cursor: text(200) | None = None
    limit: Limit = 50


# --- presenting -------------------------------------------------------------------------------


def _import(run: ImportRun) -> dict[str, Any]:
    return {
        **{
            name: getattr(run, name)
            for name in (
                "id",
                "status",
                "target",
                "file_name",
                "file_size",
                "file_format",
                "encoding",
                "detected_encoding",
                "encoding_certain",
                "delimiter",
                "sheet",
                "header_row",
                "headers",
                "mapping",
                "template_id",
                "row_count",
                "created_at",
                "started_at",
                "finished_at",
                "undone_at",
            )
        },  # fmt: skip
        "sheets": run.sheets,
        "error": run.error_text,
        "default_kind": (run.options or {}).get("default_kind", "auto"),
        "rules": decisions.rules_of(run),
        "summary": {k: v for k, v in (run.summary or {}).items() if isinstance(v, int)},
        "actions": decisions.action_counts(run) if run.status == ImportRun.Status.PREVIEW else {},
        "companies_to_choose": decisions.companies_to_choose(run)
        if run.status == ImportRun.Status.PREVIEW and (run.summary or {}).get("company_choices")
        else 0,
        "orders": decisions.order_counts(run)
        if run.status == ImportRun.Status.PREVIEW and run.target == "orders"
        else {},
        "counts": run.counts or {},
        "progress": {
            "done": run.progress_done,
            "total": run.progress_total,
            "percent": run.percent,
            "phase": run.phase,
        },
        "interrupted": services.is_interrupted(run),
        "can_undo": services.can_undo(run),
        "undo_report": undo.report_of(run),
    }


def _row(run: ImportRun, row: ImportRow, labels: dict[str, str], rules) -> dict[str, Any]:
    def problems(items):
        return [
            {"field": k, "column": labels.get(k, ""), "message": translated(m)} for k, m in items
        ]

    return {
        "number": row.number,
        "line": row.line,
        "kind": row.kind,
        # One value per header, in order (a file's trailing empty cells are not stored).
        "values": [*row.values, *[""] * (len(run.headers) - len(row.values))],
        "category": row.category,
        "action": decisions.effective_action(row.category, row.decision, rules),
        "decision": row.decision,
        "choices": list(decisions.row_choices(run.target, row.category)),
        "problems": problems(row.problems),
        "notes": problems(row.notes),
        "match_id": row.match_id,
        "match_score": row.match_score,
        "match_reasons": row.match_reasons,
        "match_reason_labels": [analysis.reason_label(r) for r in row.match_reasons],
        "duplicate_of": row.duplicate_of,
        "company": row.company,
        # Before the run: what each person row's company will be (after it, the karte says).
        "company_link": (company_link(row.company) or None)
        if run.target == "customers" and run.status == ImportRun.Status.PREVIEW
        else None,
        "result": row.result,
        "result_id": row.result_id,
        "result_message": row.result_text,
    }


def _invalid(exc: ValidationError, names: dict[str, str] | None = None) -> Unprocessable:
    return Unprocessable(
        " ".join(exc.messages[:1]) or _("Some values are not valid: see errors."),
        rule_errors(exc, names),
    )


def _call(fn, *, _names: dict[str, str] | None = None, **kwargs):
    """`fn(**kwargs)`, its ValidationError a 422 naming each field as the request does
    (`_names`: where the request names a service's field otherwise than API_FIELD_NAMES)."""
    try:
        return fn(**kwargs)
    except ValidationError as exc:
        raise _invalid(exc, _names) from None


def _for_edit(request: HttpRequest, id: int) -> ImportRun:
    require_write(request)
    return selectors.import_run_get_for_edit(request.user, id)


# --- operations -------------------------------------------------------------------------------


@router.post(
    "/imports",
    response={201: ImportOut, **WRITE_ERRORS, **error_responses(413)},
    summary="Upload a file to import",
    auth=write_auth(),
)
def create_import(
    request: HttpRequest,
    file: File[UploadedFile],
    target: Form[Literal["customers", "activities", "contracts", "orders"]] = "customers",
):
    """Multipart: `file` (.xlsx, CSV or TSV) and `target` (customers, activities, contracts or
    orders: one row per order line, rows with the same order number for the same karte making
    one order)."""
    require_write(request)
    if file.size is not None and file.size > conf.max_bytes():
        raise TooLarge(services.file_too_big_message(file.size, conf.max_bytes()))
    run = _call(
        services.import_upload,
        actor=request.user,
        file=file,
        file_name=file.name or "",
        target=target,
        via=VIA,
    )
    return Status(201, _import(run))


@router.get("/imports", response={200: ImportPage, **READ_ERRORS}, summary="List imports")
def list_imports(request: HttpRequest, query: Query[ImportQuery]):
    """Your imports (administrators: everyone's), newest first; page with `cursor`."""
    runs = selectors.import_runs(request.user).order_by("-id")
    after = cursor_after_id(query.cursor)  # validated as on every other list
    if after is not None:
        runs = runs.filter(pk__lt=after)
    items = list(runs[: query.limit + 1])
    more = len(items) > query.limit
    items = items[: query.limit]
    return {
        "results": [_import(r) for r in items],
        "next_cursor": cursor_encode({"id": items[-1].pk}) if more else None,
    }


@router.get("/imports/{id}", response={200: ImportOut, **READ_ERRORS}, summary="Get an import")
def get_import(request: HttpRequest, id: Id):
    """The import's step, progress and figures: poll this while it checks or writes."""
    return _import(selectors.import_run_get(request.user, id))


@router.get(
    "/imports/{id}/columns",
    response={200: ColumnsOut, **READ_ERRORS},
    summary="Columns, sample values and targets",
)
def get_import_columns(request: HttpRequest, id: Id):
    run = selectors.import_run_get(request.user, id)
    signature = services.header_signature(run.headers)
    return {
        "columns": [
            {
                "index": i,
                "letter": files.column_letter(i),
                "header": header,
                "samples": [row[i] for row in run.sample if i < len(row)],
                "target": run.mapping[i] if i < len(run.mapping) else "",
            }
            for i, header in enumerate(run.headers)
        ],
        "unreadable": run.sample_unreadable,
        "targets": [
            {"key": t.key, "label": str(t.label), "group": str(t.group), "required": t.required}
            for t in services.available_targets(run, request.user)
        ],
        "templates": [
            {"id": t.pk, "name": t.name, "headers": t.headers, "matches": t.signature == signature}
            for t in selectors.import_templates(request.user, run.target)
        ],
    }


@router.put(
    "/imports/{id}/layout",
    response={200: ImportOut, **WRITE_ERRORS},
    summary="Read the file another way",
    auth=write_auth(),
)
def set_import_layout(request: HttpRequest, id: Id, payload: LayoutIn):
    run = _for_edit(request, id)
    data = payload.model_dump(exclude_unset=True)
    run = _call(services.import_set_layout, actor=request.user, run=run, **data)
    return _import(run)


@router.put(
    "/imports/{id}/mapping",
    response={200: ImportOut, **WRITE_ERRORS},
    summary="Set the columns' targets",
    auth=write_auth(),
)
def set_import_mapping(request: HttpRequest, id: Id, payload: MappingIn):
    run = _for_edit(request, id)
    if payload.template_id is not None:
        template = (
            selectors.import_templates(request.user, run.target)
            .filter(pk=payload.template_id)
            .first()
        )
        if template is None:
            raise Unprocessable.field(
                "template_id", "invalid", _("Choose one of the saved templates.")
            )
        run = _call(services.import_apply_template, actor=request.user, run=run, template=template)
        return _import(run)
    run = _call(
        services.import_set_mapping,
        actor=request.user,
        run=run,
        mapping=payload.mapping,
        default_kind=payload.default_kind,
        template_name=payload.template_name or "",
    )
    return _import(run)


@router.post(
    "/imports/{id}/check",
    response={202: ImportOut, **WRITE_ERRORS},
    summary="Check every row",
    auth=write_auth(),
)
def check_import(request: HttpRequest, id: Id):
    run = _for_edit(request, id)
    run = _call(services.import_check, actor=request.user, run=run)
    return Status(202, _import(run))


@router.get(
    "/imports/{id}/rows",
    response={200: RowPage, **READ_ERRORS},
    summary="Rows and what happens to them",
)
def list_import_rows(request: HttpRequest, id: Id, query: Query[RowQuery]):
    run = selectors.import_run_get(request.user, id)
    if query.show in selectors.ROW_FILTERS:
        rows = selectors.import_rows(run, query.show)
    else:
        rows = run.rows.filter(result=query.show).order_by("number")
    if query.cursor:
        after = cursor_decode(query.cursor).get("number")
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_ID:
            raise Unprocessable.field(
                "cursor",
                "invalid",
                _("This cursor is not valid: use next_cursor from a previous page."),
            )
        rows = rows.filter(number__gt=after)
    items = list(rows[: query.limit + 1])
    more = len(items) > query.limit
    items = items[: query.limit]
    labels = column_labels(run)
    rules = decisions.rules_of(run)
    return {
        "results": [_row(run, r, labels, rules) for r in items],
        "next_cursor": cursor_encode({"number": items[-1].number}) if more else None,
    }


@router.put(
    "/imports/{id}/rules",
    response={200: ImportOut, **WRITE_ERRORS},
    summary="Set the rules",
    auth=write_auth(),
)
def set_import_rules(request: HttpRequest, id: Id, payload: RulesIn):
    run = _for_edit(request, id)
    rules = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    run = _call(services.import_set_rules, actor=request.user, run=run, rules=rules)
    return _import(run)


@router.put(
    "/imports/{id}/decision",
    response={200: RowOut, **WRITE_ERRORS},
    summary="Decide what happens to one row",
    auth=write_auth(),
)
def set_import_row_decision(request: HttpRequest, id: Id, payload: DecisionIn):
    run = _for_edit(request, id)
    row = selectors.import_row_get(run, payload.number)
    if payload.decision is None and payload.company is None:
        raise Unprocessable.field("decision", "required", _("Send a decision, a company, or both."))
    if payload.company is not None:
        row, _others = _call(
            services.import_choose_company,
            _names={"company": "company"},  # the request's `company`, not a `company_id`
            actor=request.user,
            run=run,
            number=payload.number,
            company=payload.company,
        )
    if payload.decision is not None:
        row = _call(
            services.import_decide_row,
            actor=request.user,
            run=run,
            number=payload.number,
            decision=payload.decision,
        )
    return _row(run, row, column_labels(run), decisions.rules_of(run))


@router.post(
    "/imports/{id}/run",
    response={202: ImportOut, **WRITE_ERRORS},
    summary="Start the import",
    auth=write_auth(),
)
def run_import(request: HttpRequest, id: Id):
    run = _for_edit(request, id)
    run = _call(services.import_start, actor=request.user, run=run)
    return Status(202, _import(run))


@router.post(
    "/imports/{id}/resume",
    response={202: ImportOut, **WRITE_ERRORS},
    summary="Continue an interrupted step",
    auth=write_auth(),
)
def resume_import(request: HttpRequest, id: Id):
    run = _for_edit(request, id)
    run = _call(services.import_resume, actor=request.user, run=run)
    return Status(202, _import(run))


@router.post(
    "/imports/{id}/undo",
    response={202: ImportOut, 409: UndoUnconfirmed, **WRITE_ERRORS},
    summary="Undo an import",
    auth=write_auth(),
)
def undo_import(request: HttpRequest, id: Id, payload: UndoIn | None = None):
    """Deletes what the import created and gives the kartes it updated their previous values,
    in the background (poll GET /imports/{id}); records changed since stay. It asks first:
    without `{"confirm": true}` nothing is undone and the answer is 409 `confirm_required`
    with `undo_plan`, what the undo would do now."""
    run = _for_edit(request, id)
    if payload is None or not payload.confirm:
        plan = _call(services.import_undo_plan, actor=request.user, run=run)
        sentences = plan.sentences()
        message = _('Nothing was undone: send {"confirm": true} to undo this import.')
        raise Conflict(
            " ".join([*sentences, message]),
            [{"field": "confirm", "code": "confirm_required", "message": message}],
            undo_plan={
                "remove": plan.remove,
                "restore": plan.restore,
                "keep": plan.keep,
                "kept": undo.kept_for_reader(plan.kept),
                "sentences": sentences,
            },
        )
    run = _call(services.import_undo_start, actor=request.user, run=run)
    return Status(202, _import(run))


@router.get(
    "/imports/{id}/rejected",
    response={200: None, **READ_ERRORS},
    summary="Download the rejected rows",
    openapi_extra={
        "responses": {
            200: {
                "description": "The rejected rows in the file's own format and encoding, "
                "with the reason in an extra column.",
                "content": {
                    "text/csv": {},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                },
            }
        }
    },
)
def get_import_rejected(request: HttpRequest, id: Id):
    run = selectors.import_run_get(request.user, id)
    if run.status == ImportRun.Status.MAPPING or not rejected_rows(run).exists():
        raise Unprocessable.field("id", "no_rejected_rows", _("This import has no rejected rows."))
    response = FileResponse(
        write_rejected(run),
        as_attachment=True,
        filename=rejected_file_name(run),
        content_type=rejected_content_type(run),
    )
    response["Cache-Control"] = "no-store"
    return response


@router.delete(
    "/imports/{id}",
    response={204: None, **WRITE_ERRORS},
    summary="Discard an import that wrote nothing",
    auth=write_auth(),
)
def delete_import(request: HttpRequest, id: Id):
    run = _for_edit(request, id)
    _call(services.import_discard, actor=request.user, run=run)
    return Status(204, None)
