"""Imports: one run per uploaded file, one row per data row of it, saved column mappings.

A run goes mapping → analysing → preview → running → done (→ undoing → undone). The analysis
checks every row with the same rules as the karte form and decides what would happen to it;
the person decides per rule and per row; the run writes in chunks, each chunk one transaction
that also records which rows it wrote, so an interrupted run can be continued or undone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from enishi.core.later import translated, translated_text


class ImportTemplate(models.Model):
    """A saved column mapping, offered again when a file with the same headers is uploaded."""

    name = models.CharField(_("name"), max_length=100)
    target = models.CharField(_("what is imported"), max_length=20)
    # The headers as uploaded, and a signature of them (normalised, order-insensitive).
    headers = models.JSONField(_("headers"), default=list)
    signature = models.CharField(max_length=64, db_index=True)
    # {normalised header: target key}
    mapping = models.JSONField(_("mapping"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("who")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("import template")
        verbose_name_plural = _("import templates")
        constraints = [
            models.UniqueConstraint(fields=["target", "name"], name="import_template_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ImportRun(models.Model):
    class Target(models.TextChoices):
        CUSTOMERS = "customers", _("Customers (companies and persons)")
        ACTIVITIES = "activities", _("Activities (timeline)")
        CONTRACTS = "contracts", _("Contracts")
        ORDERS = "orders", _("Orders")

    class Status(models.TextChoices):
        MAPPING = "mapping", _("Choosing columns")
        ANALYSING = "analysing", _("Checking rows")
        PREVIEW = "preview", _("Ready to import")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        UNDOING = "undoing", _("Undoing")
        UNDONE = "undone", _("Undone")

    class Format(models.TextChoices):
        CSV = "csv", _("CSV / TSV text")
        XLSX = "xlsx", _("Excel workbook (.xlsx)")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="import_runs",
        verbose_name=_("who"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    via = models.CharField(_("through"), max_length=10, default="ui")
    target = models.CharField(
        _("what is imported"), max_length=20, choices=Target.choices, default=Target.CUSTOMERS
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.MAPPING
    )

    # --- the file ---
    file_name = models.CharField(_("file name"), max_length=255)
    file_size = models.BigIntegerField(_("size"), default=0)
    stored_name = models.CharField(max_length=255, editable=False)
    file_format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True, default="")
    detected_encoding = models.CharField(max_length=20, blank=True, default="")
    # False when the encoding was a guess among several that could read the file.
    encoding_certain = models.BooleanField(default=True)
    delimiter = models.CharField(_("delimiter"), max_length=2, blank=True, default="")
    sheet = models.CharField(_("sheet"), max_length=100, blank=True, default="")
    # [{"name", "rows", "hidden"}] for workbooks.
    sheets = models.JSONField(default=list, blank=True)
    # 1-based row of the headers in the file or sheet; 0: the file has no header row.
    header_row = models.PositiveIntegerField(_("header row"), default=1)
    headers = models.JSONField(default=list, blank=True)
    sample = models.JSONField(default=list, blank=True)
    # Worth knowing about the file, each stored for later (`core.later`): shown through
    # `notes_text`; plain strings (runs read before) are shown as they are.
    notes = models.JSONField(default=list, blank=True)

    # --- what to do ---
    # One target key per column ("" = not imported).
    mapping = models.JSONField(default=list, blank=True)
    template = models.ForeignKey(
        ImportTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    options = models.JSONField(default=dict, blank=True)
    rules = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8, default="ja")

    # --- progress (polled by the page) ---
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    phase = models.CharField(max_length=20, blank=True, default="")
    # Why the file could not be checked or the run did not finish, stored for later
    # (`core.later.as_text`): shown through `error_text` in the reader's language.
    error = models.TextField(blank=True, default="")
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    # Analysis: rows per category; run: rows per result, records created or changed.
    summary = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    undo_report = models.JSONField(default=dict, blank=True)

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_run_user_idx")]

    def __str__(self) -> str:
        return self.file_name

    @property
    def batch(self) -> str:
        """The history batch of everything this import wrote."""
        return f"import:{self.pk}"

    @property
    def error_text(self) -> str:
        """Why it stopped, in the active language (older plain text as it is)."""
        return translated_text(self.error)

    @property
    def notes_text(self) -> list[str]:
        """The notes about the file, in the active language."""
        return [translated(note) for note in self.notes or []]

    @property
    def sample_unreadable(self) -> bool:
        """Some characters of a text file's headers or first rows could not be read in the chosen
        encoding (they show as U+FFFD): the wrong encoding, said before every row is checked."""
        if self.file_format != "csv":
            return False
        return any("\ufffd" in str(value) for row in [self.headers, *self.sample] for value in row)

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class ImportRow(models.Model):
    """One data row of the file: what it says, what is wrong with it, what will happen to it,
    and (after the run) what did."""

    class Category(models.TextChoices):
        NEW = "new", _("New")
        MATCHED = "matched", _("Matches a karte")
        DUPLICATE = "duplicate", _("Probable duplicate")
        FILE_DUPLICATE = "file_duplicate", _("Repeated in the file")
        INVALID = "invalid", _("Has problems")

    class Action(models.TextChoices):
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        SKIP = "skip", _("Skip")
        REJECT = "reject", _("Rejected")

    class Result(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        UNCHANGED = "unchanged", _("Already up to date")
        SKIPPED = "skipped", _("Skipped")
        REJECTED = "rejected", _("Rejected")
        UNDONE = "undone", _("Undone")
        KEPT = "kept", _("Kept when undoing")

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()  # 1-based among the data rows
    line = models.PositiveIntegerField()  # the row (line) number in the file or sheet
    kind = models.CharField(max_length=10, blank=True, default="")
    values = models.JSONField(default=list)  # the cells as text, as in the file
    data = models.JSONField(default=dict)  # checked values, ready to write
    # [[field, message]], each message stored for later (`core.later`): read in the reader's
    # language; a plain string (rows checked before) is shown as it is.
    problems = models.JSONField(default=list)  # the row is rejected
    notes = models.JSONField(default=list)  # worth knowing, not blocking
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.NEW)
    match_id = models.BigIntegerField(null=True, blank=True)
    match_score = models.FloatField(null=True, blank=True)
    match_reasons = models.JSONField(default=list)
    duplicate_of = models.PositiveIntegerField(null=True, blank=True)
    company = models.JSONField(default=dict)  # {"id": 12} or {"new": key, "name": "…"}
    decision = models.CharField(max_length=10, blank=True, default="", choices=Action.choices)
    result = models.CharField(max_length=10, blank=True, default="", choices=Result.choices)
    result_id = models.BigIntegerField(null=True, blank=True)
    # Stored for later (`core.later.as_text`): shown through `result_text`.
    result_message = models.TextField(blank=True, default="")
    # Raw values the update replaced (ids for relations), for undo; and the version it left.
    before = models.JSONField(default=dict)
    version_after = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="import_row_number_unique")
        ]
        indexes = [
            models.Index(fields=["run", "category", "number"], name="import_row_category_idx"),
            models.Index(fields=["run", "result", "number"], name="import_row_result_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.number}"

    @property
    def result_text(self) -> str:
        """The result's message in the active language."""
        return translated_text(self.result_message)


class ImportCompany(models.Model):
    """A company karte the run created because persons named a company that did not exist."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="companies")
    key = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    customer_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="import_company_key_unique")
        ]

    def __str__(self) -> str:
        return self.name
