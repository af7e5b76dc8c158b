"""Imports as use cases: upload, choose how the file is read and mapped, check, decide, run, undo.

Each function checks its own preconditions (who may, which step the import is at) and raises
ValidationError with a message for people; views and the API only translate that to a page or
a 4xx. The heavy steps (checking every row, writing, undoing) run as background tasks
(`imports.tasks`) that call `analysis.analyse`, `writing.execute` and `undo.undo`.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from enishi.accounts.models import User
from enishi.core.later import translated
from enishi.core.permissions import can_view_sensitive, can_write, is_admin
from enishi.history.models import HistoryEntry
from enishi.imports import conf, decisions, files, targets, undo
from enishi.imports.models import ImportRow, ImportRun, ImportTemplate

Status = ImportRun.Status
KINDS = ("auto", "person", "company")
# Columns without which a row cannot say who it is about.
IDENTITY = {
    "customers": ("name", "family_name", "given_name", "company_name", "code", "corporate_number"),
    "activities": ("customer_code", "customer_name", "customer_phone", "customer_email"),
    "contracts": ("customer_code", "customer_name", "customer_phone", "customer_email"),
    "orders": ("customer_code", "customer_name", "customer_phone", "customer_email"),
}


def _refuse_unless_writer(actor: User) -> None:
    if not can_write(actor):
        raise PermissionDenied


def run_path(run: ImportRun) -> Path:
    return conf.storage_dir() / (run.stored_name or "removed/source")


def layout_of(run: ImportRun) -> files.Layout:
    return files.Layout(
        format=run.file_format,
        encoding=run.encoding,
        encoding_certain=run.encoding_certain,
        delimiter=run.delimiter,
        sheets=[files.SheetInfo(**s) for s in run.sheets],
        sheet=run.sheet,
        header_row=run.header_row,
        headers=list(run.headers),
        sample=list(run.sample),
    )


def available_targets(run_or_target, actor: User) -> list[targets.Target]:
    target = run_or_target if isinstance(run_or_target, str) else run_or_target.target
    return targets.targets_for(target, sensitive_allowed=can_view_sensitive(actor))


def header_signature(headers: list[str]) -> str:
    keys = sorted(k for k in (targets.header_key(h) for h in headers) if k)
    return hashlib.sha256("\x1f".join(keys).encode()).hexdigest()


def _mapping_from_template(template: ImportTemplate, headers: list[str], allowed: set[str]):
    mapping = []
    used: set[str] = set()
    for header in headers:
        key = template.mapping.get(targets.header_key(header), "")
        if key in allowed and key not in used:
            mapping.append(key)
            used.add(key)
        else:
            mapping.append("")
    return mapping


def template_for(target: str, headers: list[str]) -> ImportTemplate | None:
    """The saved mapping for files with these headers (the one used last)."""
    return (
        ImportTemplate.objects.filter(target=target, signature=header_signature(headers))
        .order_by("-last_used_at", "-updated_at", "-id")
        .first()
    )


def _guess(run: ImportRun, actor: User) -> None:
    available = available_targets(run, actor)
    template = template_for(run.target, run.headers)
    if template is not None:
        run.mapping = _mapping_from_template(template, run.headers, {t.key for t in available})
        run.template = template
    else:
        run.mapping = targets.guess_mapping(run.headers, run.sample, available)
        run.template = None


def _apply_layout(run: ImportRun, layout: files.Layout) -> None:
    run.file_format = layout.format
    run.encoding = layout.encoding
    run.encoding_certain = layout.encoding_certain
    run.delimiter = layout.delimiter
    run.sheets = [s.__dict__ for s in layout.sheets]
    run.sheet = layout.sheet
    run.header_row = layout.header_row
    run.headers = layout.headers
    run.sample = layout.sample
    run.notes = layout.notes


def _inspect(run: ImportRun, actor: User, **overrides: Any) -> files.Layout:
    known = targets.known_header_keys(available_targets(run, actor))
    return files.inspect(run_path(run), file_name=run.file_name, known_headers=known, **overrides)


def _safe_name(name: str) -> str:
    name = Path(name or "").name.replace("\x00", "").strip()
    return name[-255:] or _("file")


def imports_forget_old_files() -> int:
    """Uploaded files are kept `conf.keep_days()` days (to read them again, check again, or
    continue an interrupted import); the rows, their results and the undo stay."""
    import datetime

    cutoff = timezone.now() - datetime.timedelta(days=conf.keep_days())
    removed = 0
    for run in ImportRun.objects.filter(created_at__lt=cutoff).exclude(stored_name=""):
        shutil.rmtree(run_path(run).parent, ignore_errors=True)
        ImportRun.objects.filter(pk=run.pk).update(stored_name="")
        removed += 1
    return removed


def import_upload(
    *,
    actor: User,
    file: IO[bytes],
    file_name: str,
    target: str = ImportRun.Target.CUSTOMERS,
    via: str = HistoryEntry.Via.UI,
) -> ImportRun:
    """Store an uploaded file, find out how to read it and guess the columns' targets."""
    _refuse_unless_writer(actor)
    if target not in ImportRun.Target.values:
        raise ValidationError({"target": [_("Choose what the file contains.")]})
    imports_forget_old_files()
    limit = conf.max_bytes()
    folder = uuid.uuid4().hex
    directory = conf.storage_dir() / folder
    directory.mkdir(parents=True)
    suffix = Path(file_name or "").suffix.lower()[:6]
    stored = f"{folder}/source{suffix if suffix.isascii() else ''}"
    size = 0
    try:
        with open(conf.storage_dir() / stored, "wb") as out:
            while chunk := file.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ValidationError(file_too_big_message(None, limit))
                out.write(chunk)
        if size == 0:
            raise ValidationError(_("The file is empty."))
        run = ImportRun(
            created_by=actor,
            via=via,
            target=target,
            file_name=_safe_name(file_name),
            file_size=size,
            stored_name=stored,
            language=translation.get_language() or actor.language,
            rules=dict(decisions.rules_of(ImportRun(target=target))),
        )
        try:
            layout = _inspect(run, actor)
        except files.ImportFileError as exc:
            raise ValidationError(exc.message) from None
        _apply_layout(run, layout)
        run.detected_encoding = layout.encoding
        _guess(run, actor)
        run.save()
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return run


def file_too_big_message(size: int | None, limit: int) -> str:
    if size:
        return _(
            "The file is %(size)s; imports accept at most %(limit)s (setting "
            "ENISHI_IMPORT_MAX_MB). Split the file, or save it as CSV, which is smaller."
        ) % {"size": conf.max_mb_text(size), "limit": conf.max_mb_text(limit)}
    return _(
        "The file is larger than %(limit)s, the most imports accept (setting "
        "ENISHI_IMPORT_MAX_MB). Split the file, or save it as CSV, which is smaller."
    ) % {"limit": conf.max_mb_text(limit)}


def _refuse_unless_step(run: ImportRun, *statuses: str) -> None:
    if run.status not in statuses:
        raise ValidationError(
            _("This import is at the step “%(step)s”: that cannot be changed now.")
            % {"step": run.get_status_display()}
        )


@transaction.atomic
def import_set_layout(
    *,
    actor: User,
    run: ImportRun,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> ImportRun:
    """Read the file again another way (encoding, delimiter, sheet, header row)."""
    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.MAPPING, Status.PREVIEW)
    if encoding and encoding not in files.ENCODING_NAMES:
        raise ValidationError({"encoding": [_("Choose one of the encodings offered.")]})
    if delimiter and delimiter not in files.DELIMITER_CHARS:
        raise ValidationError({"delimiter": [_("Choose one of the delimiters offered.")]})
    if header_row is not None and not 0 <= header_row <= files.HEADER_SCAN_ROWS:
        raise ValidationError(
            {
                "header_row": [
                    _("The header row must be one of the first %(n)s rows (0: none).")
                    % {"n": files.HEADER_SCAN_ROWS}
                ]
            }
        )
    sheet_changed = sheet is not None and sheet != run.sheet
    overrides = {
        "encoding": encoding or (run.encoding if run.file_format == "csv" else None),
        "delimiter": delimiter or run.delimiter or None,
        "sheet": sheet or run.sheet or None,
        # A new sheet has its own header row.
        "header_row": header_row
        if header_row is not None
        else (None if sheet_changed else run.header_row),
    }
    if sheet and run.file_format == "xlsx" and sheet not in [s["name"] for s in run.sheets]:
        raise ValidationError(
            {"sheet": [_("The workbook has no sheet called “%(name)s”.") % {"name": sheet}]}
        )
    try:
        layout = _inspect(run, actor, **overrides)
    except files.ImportFileError as exc:
        raise ValidationError(exc.message) from None
    old_headers = list(run.headers)
    _apply_layout(run, layout)
    if layout.headers != old_headers or len(run.mapping) != len(layout.headers):
        _guess(run, actor)
    _back_to_mapping(run)
    run.save()
    return run


def _back_to_mapping(run: ImportRun) -> None:
    if run.status == Status.PREVIEW:
        run.rows.all().delete()
        run.companies.all().delete()
        run.summary = {}
    run.status = Status.MAPPING
    run.error = ""


def mapping_errors(run: ImportRun, mapping: list[str], actor: User) -> list[str]:
    return [
        message
        for messages in mapping_problems(run, mapping, actor).values()
        for message in messages
    ]


def mapping_problems(run: ImportRun, mapping: list[str], actor: User) -> dict[str, list[str]]:
    """What is wrong with the columns' targets, by the field the API names: "mapping.<i>" for
    one column's target (unknown, or one the user may not use; chosen twice), "mapping" for
    the whole (a column short, a required target missing)."""
    allowed = {t.key for t in available_targets(run, actor)}
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if len(mapping) != len(run.headers):
        add(
            "mapping",
            _("Give a target (or “do not import”) for each of the %(n)s columns.")
            % {"n": len(run.headers)},
        )
        return problems
    unknown = [(index, key) for index, key in enumerate(mapping) if key and key not in allowed]
    for index, key in unknown[:10]:
        add(f"mapping.{index}", _("Unknown targets: %(keys)s.") % {"keys": key})
    seen: dict[str, int] = {}
    labels = {t.key: str(t.label) for t in available_targets(run, actor)}
    for index, key in enumerate(mapping):
        if not key:
            continue
        if key in seen:
            add(
                f"mapping.{index}",
                _("“%(target)s” is chosen for two columns (%(a)s and %(b)s): choose it once.")
                % {
                    "target": labels.get(key, key),
                    "a": run.headers[seen[key]],
                    "b": run.headers[index],
                },
            )
        seen[key] = index
    if not any(key in seen for key in IDENTITY[run.target]):
        names = "、".join(labels[k] for k in IDENTITY[run.target] if k in labels)
        add(
            "mapping",
            _("Choose at least one column that says who a row is about: %(names)s.")
            % {"names": names},
        )
    if run.target == "activities" and "occurred_at" not in seen:
        add("mapping", _("Choose the column that says when each activity happened."))
    if run.target == "contracts":
        if "starts_on" not in seen:
            add("mapping", _("Choose the column that says when each contract starts."))
        if "plan" not in seen and "product_code" not in seen:
            add("mapping", _("Choose the column with the plan or the product code."))
    if run.target == "orders":
        if "ordered_on" not in seen:
            add("mapping", _("Choose the column that says when each order was placed."))
        if not any(k in seen for k in ("product_code", "product_name", "description")):
            add(
                "mapping",
                _("Choose the column that says what was sold: product code, name or description."),
            )
    return problems


@transaction.atomic
def import_set_mapping(
    *,
    actor: User,
    run: ImportRun,
    mapping: list[str],
    default_kind: str = "auto",
    template_name: str = "",
) -> ImportRun:
    """Save the columns' targets (and, given a name, as a template for files like this)."""
    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.MAPPING, Status.PREVIEW)
    mapping = [key or "" for key in mapping]
    errors = mapping_problems(run, mapping, actor)
    if default_kind not in KINDS:
        errors["default_kind"] = [_("Choose whether the rows are persons, companies or either.")]
    template_name = (template_name or "").strip()
    if len(template_name) > 100:
        errors["template_name"] = [_("A template name can be at most 100 characters long.")]
    if errors:
        raise ValidationError(errors)
    run.mapping = mapping
    run.options = {**run.options, "default_kind": default_kind}
    if template_name:
        run.template = template_save(actor=actor, run=run, name=template_name)
    elif run.template is not None:
        ImportTemplate.objects.filter(pk=run.template_id).update(last_used_at=timezone.now())
    _back_to_mapping(run)
    run.save()
    return run


def template_save(*, actor: User, run: ImportRun, name: str) -> ImportTemplate:
    mapping = {
        targets.header_key(header): key
        for header, key in zip(run.headers, run.mapping, strict=True)
        if key and targets.header_key(header)
    }
    template, _created = ImportTemplate.objects.update_or_create(
        target=run.target,
        name=name,
        defaults={
            "headers": run.headers,
            "signature": header_signature(run.headers),
            "mapping": mapping,
            "created_by": actor,
            "last_used_at": timezone.now(),
        },
    )
    return template


def template_delete(*, actor: User, template: ImportTemplate) -> None:
    if not (is_admin(actor) or template.created_by_id == actor.pk):
        raise PermissionDenied
    template.delete()


def import_apply_template(*, actor: User, run: ImportRun, template: ImportTemplate) -> ImportRun:
    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.MAPPING, Status.PREVIEW)
    if template.target != run.target:
        raise ValidationError(_("This template is for another kind of import."))
    allowed = {t.key for t in available_targets(run, actor)}
    run.mapping = _mapping_from_template(template, run.headers, allowed)
    run.template = template
    _back_to_mapping(run)
    run.save()
    return run


def _enqueue(task, run: ImportRun) -> None:
    """Queue the task once the step it starts is saved (the worker must see it)."""
    task.enqueue(run.pk)
    run.refresh_from_db()


def import_check(*, actor: User, run: ImportRun) -> ImportRun:
    """Check every row in the background (the preview follows)."""
    from enishi.imports import tasks

    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.MAPPING, Status.PREVIEW)
    errors = mapping_problems(run, run.mapping, actor)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _back_to_mapping(run)
        run.status = Status.ANALYSING
        run.phase = "queued"
        run.progress_done = run.progress_total = 0
        run.heartbeat_at = timezone.now()
        run.save()
    _enqueue(tasks.import_analyse_task, run)
    return run


@transaction.atomic
def import_set_rules(*, actor: User, run: ImportRun, rules: dict[str, str]) -> ImportRun:
    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.PREVIEW)
    allowed = decisions.RULE_CHOICES[run.target]
    errors = {}
    new = decisions.rules_of(run)
    for name, value in rules.items():
        if name not in allowed or value not in allowed[name]:
            errors[name] = [_("Choose one of the options offered.")]
        else:
            new[name] = value
    if errors:
        raise ValidationError(errors)
    run.rules = new
    run.save(update_fields=["rules", "updated_at"])
    return run


@transaction.atomic
def import_decide_row(*, actor: User, run: ImportRun, number: int, decision: str) -> ImportRow:
    """What to do with one row ("" = as the rules say)."""
    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.PREVIEW)
    try:
        row = run.rows.select_for_update().get(number=number)
    except ImportRow.DoesNotExist:
        raise ValidationError(_("This file has no row %(n)s.") % {"n": number}) from None
    if decision and decision not in decisions.row_choices(run.target, row.category):
        raise ValidationError({"decision": [_("This row cannot be handled that way.")]})
    if decision == ImportRow.Action.CREATE and row.data.get("_create_problems"):
        problems = row.data["_create_problems"]
        raise ValidationError({"decision": [" ".join(translated(m) for _f, m in problems)]})
    row.decision = decision
    row.save(update_fields=["decision"])
    if run.target == ImportRun.Target.ORDERS:
        _decide_order_rows(run, row, decision)
    return row


@transaction.atomic
def import_choose_company(
    *, actor: User, run: ImportRun, number: int, company: str | int | None
) -> tuple[ImportRow, list[int]]:
    """Which of the companies of the same name a person row is linked to: a karte id among
    the row's choices, "none" (no company) or "" / None (undecided again). Every row of the
    file naming that company with the same choices gets the same answer: (the row, the
    numbers of the other rows changed)."""
    from enishi.imports import companies

    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.PREVIEW)
    try:
        row = run.rows.select_for_update().get(number=number)
    except ImportRow.DoesNotExist:
        raise ValidationError(_("This file has no row %(n)s.") % {"n": number}) from None
    choices = [c["id"] for c in (row.company or {}).get("choices") or []]
    if not choices:
        raise ValidationError(
            {"company": [_("This row's company is not one of several of the same name.")]}
        )
    if company in (None, ""):
        chosen = None
    elif company == "none":
        chosen = companies.NO_COMPANY
    else:
        try:
            chosen = int(company)
        except (TypeError, ValueError):
            chosen = -1
        if chosen not in choices:
            raise ValidationError({"company": [_("Choose one of the companies offered.")]})
    same = list(
        run.rows.select_for_update()
        .filter(company__key=row.company.get("key"), company__has_key="choices")
        .only("pk", "number", "company")
    )
    changed = []
    for other in same:
        if sorted(c["id"] for c in other.company["choices"]) != sorted(choices):
            continue
        other.company = companies.with_choice(other.company, chosen)
        changed.append(other)
        if other.pk == row.pk:
            row.company = other.company
    if not any(other.pk == row.pk for other in changed):
        row.company = companies.with_choice(row.company, chosen)
        changed.append(row)
    ImportRow.objects.bulk_update(changed, ["company"], batch_size=500)
    return row, sorted(other.number for other in changed if other.pk != row.pk)


def _decide_order_rows(run: ImportRun, row: ImportRow, decision: str) -> None:
    """The rows of one order are decided together: an order is imported with all its lines."""
    head = row.data.get("order_group")
    if head is None:
        return
    numbers = run.rows.filter(number=head).values_list("data", flat=True).first() or {}
    run.rows.filter(number__in=numbers.get("order_rows", [])).update(decision=decision)


def import_start(*, actor: User, run: ImportRun) -> ImportRun:
    """Write the rows as decided, in the background."""
    from enishi.imports import tasks

    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.PREVIEW)
    counts = decisions.action_counts(run)
    if not counts[ImportRow.Action.CREATE] and not counts[ImportRow.Action.UPDATE]:
        raise ValidationError(_("No row would be imported: every row is skipped or rejected."))
    undecided = decisions.companies_to_choose(run)
    if undecided:
        raise ValidationError(
            ngettext(
                "%(count)s row names a company whose name several company kartes have: choose "
                "which one it is linked to (or none) before the import starts.",
                "%(count)s rows name a company whose name several company kartes have: choose "
                "which one each is linked to (or none) before the import starts.",
                undecided,
            )
            % {"count": undecided},
            code="company_to_choose",
        )
    now = timezone.now()
    fields = {
        "status": Status.RUNNING,
        "phase": "queued",
        "started_at": now,
        "heartbeat_at": now,
        "progress_done": 0,
        "progress_total": run.row_count,
        "error": "",
    }
    # Only one of several "run" requests sent at once moves the import on (and queues it).
    if not ImportRun.objects.filter(pk=run.pk, status=Status.PREVIEW).update(**fields):
        run.refresh_from_db()
        raise ValidationError(_("This import has already been started."), code="started")
    for name, value in fields.items():
        setattr(run, name, value)
    _enqueue(tasks.import_run_task, run)
    return run


def is_interrupted(run: ImportRun) -> bool:
    """Running (or undoing) without a sign of life for a while: the process was stopped."""
    if run.status not in (Status.RUNNING, Status.UNDOING, Status.ANALYSING):
        return False
    if run.heartbeat_at is None:
        return True
    # Waiting in the queue behind other work is not being stopped: allow it much longer.
    limit = conf.stale_seconds() * (12 if run.phase == "queued" else 1)
    return (timezone.now() - run.heartbeat_at).total_seconds() > limit


def import_resume(*, actor: User, run: ImportRun) -> ImportRun:
    """Continue an interrupted import from the last chunk it wrote (or an undo, or a check)."""
    from enishi.imports import tasks

    _refuse_unless_writer(actor)
    if not is_interrupted(run):
        raise ValidationError(_("This import is not interrupted."))
    task = {
        Status.RUNNING: tasks.import_run_task,
        Status.UNDOING: tasks.import_undo_task,
        Status.ANALYSING: tasks.import_analyse_task,
    }[run.status]
    with transaction.atomic():
        run.heartbeat_at = timezone.now()
        run.phase = "queued"
        run.save(update_fields=["heartbeat_at", "phase", "updated_at"])
    _enqueue(task, run)
    return run


def can_undo(run: ImportRun) -> bool:
    if run.status == Status.DONE:
        return True
    if run.status == Status.FAILED and run.counts.get("written"):
        return True
    return is_interrupted(run) and run.status in (Status.RUNNING, Status.UNDOING)


def import_undo_plan(*, actor: User, run: ImportRun) -> undo.UndoPlan:
    """What undoing the import now would do, nothing written: the screens and the API show it
    and start the undo only once the person confirms it."""
    _refuse_unless_writer(actor)
    if not can_undo(run):
        raise ValidationError(_("Only a finished or interrupted import can be undone."))
    return undo.plan(run, actor=actor)


def import_undo_start(*, actor: User, run: ImportRun) -> ImportRun:
    """Take the import back as a whole, in the background (after `import_undo_plan` was shown
    and confirmed: the interfaces ask first)."""
    from enishi.imports import tasks

    _refuse_unless_writer(actor)
    if not can_undo(run):
        raise ValidationError(_("Only a finished or interrupted import can be undone."))
    with transaction.atomic():
        run.status = Status.UNDOING
        run.phase = "queued"
        run.undone_by = actor
        run.heartbeat_at = timezone.now()
        run.progress_done = 0
        run.save()
    _enqueue(tasks.import_undo_task, run)
    return run


def import_discard(*, actor: User, run: ImportRun) -> None:
    """Throw away an import that has not written anything (its file and rows go)."""
    _refuse_unless_writer(actor)
    _refuse_unless_step(run, Status.MAPPING, Status.PREVIEW, Status.FAILED)
    if run.counts.get("written"):
        raise ValidationError(_("Undo this import first: some of its rows were written."))
    directory = run_path(run).parent
    run.delete()
    shutil.rmtree(directory, ignore_errors=True)
