"""A record of each export: who took which data out, in which file, with which columns. The
customer list as a table, the full data, and the list's kartes as one PDF or one .vcf file.

The history entry of an export points here (model "transfer.export"), so the audit log names
its fields in the user's language. A small export is streamed at once and only this row
remains; a big one (and every full-data export) is written by a background task, which keeps
its progress on this row, and the file is kept for a limited time under DATA_DIR/exports.
"""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from enishi.core.later import translated_text

# A running export whose progress has not moved for this long was interrupted.
STALE_AFTER = datetime.timedelta(minutes=30)
# A waiting export not picked up after this long suggests that no worker is running.
WAITING_LONG = datetime.timedelta(minutes=1)


class Export(models.Model):
    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customer list")
        FULL = "full", _("Full data")
        PRINT = "print", _("Printable kartes")
        VCARD = "vcard", _("vCards")

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel (.xlsx)")
        CSV_UTF8 = "csv_utf8", _("CSV (UTF-8 with BOM)")
        CSV_CP932 = "csv_cp932", _("CSV (Shift_JIS / cp932, for Japanese Excel)")
        ZIP = "zip", _("JSON Lines + CSV in a zip")
        PDF = "pdf", _("PDF (A4, one karte per page)")
        VCARD3 = "vcard3", _("vCard 3.0 (.vcf)")
        VCARD4 = "vcard4", _("vCard 4.0 (.vcf)")

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("export status", "Waiting")
        RUNNING = "running", pgettext_lazy("export status", "Preparing")
        DONE = "done", pgettext_lazy("export status", "Ready")
        FAILED = "failed", pgettext_lazy("export status", "Failed")
        CANCELLED = "cancelled", pgettext_lazy("export status", "Cancelled")
        EXPIRED = "expired", pgettext_lazy("export status", "Expired")

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED, Status.EXPIRED)

    created_at = models.DateTimeField(_("when"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    via = models.CharField(_("through"), max_length=10)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CUSTOMERS)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DONE
    )
    # Headers and values are written in the language of the person who asked for the file.
    language = models.CharField(_("language"), max_length=10, blank=True, default="")
    # Streamed at once (False), or written by a background task and kept for a while (True).
    background = models.BooleanField(_("in the background"), default=False)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    # Progress of a background export: `done` of `total` rows (total 0: not counted yet).
    done = models.PositiveBigIntegerField(_("rows written"), default=0)
    total = models.PositiveBigIntegerField(_("rows to write"), default=0)
    # Column keys as export_columns names them ("phone", "cf:allergies").
    columns = models.JSONField(_("columns"), default=list, blank=True)
    # The list's filters as given (kind, status, q, …); kartes printed in the background also
    # keep the chosen karte ids ("ids") and the server's address for the PDF's links ("base_url").
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    # The user chose to replace characters cp932 cannot hold with 〓 (else they refuse the file).
    replace_unencodable = models.BooleanField(_("replace characters with 〓"), default=False)
    # Characters that cp932 cannot hold, replaced with 〓 because the user chose so.
    replaced = models.PositiveIntegerField(_("characters replaced with 〓"), default=0)
    # Why a background export did not finish, for people, kept for later (`core.later`: shown
    # through `error_text` in the reader's language); `problems` lists what cp932 could not hold
    # (row, column, characters) when that was the reason.
    error = models.TextField(_("error"), blank=True, default="")
    problems = models.JSONField(_("problems"), default=list, blank=True)
    file_name = models.CharField(_("file name"), max_length=200)
    # The kept file, relative to DATA_DIR/exports ("" when streamed, not yet written, or gone).
    path = models.CharField(_("stored file"), max_length=200, blank=True, default="")
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Touched with every progress step: a running export whose heartbeat stopped was
    # interrupted (the worker stopped), and says so.
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("kept until"), null=True, blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    task_id = models.CharField(_("task"), max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="export_creator_idx"),
            models.Index(
                fields=["expires_at"],
                name="export_expiry_idx",
                condition=~models.Q(path=""),
            ),
        ]
        constraints = [
            # One full-data export at a time, held by the database: two requests at the same
            # moment both pass the service's check, the second insert fails here (→ 409).
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind="full", status__in=["queued", "running"]),
                name="export_one_full_active",
            ),
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def of_kartes(self) -> bool:
        """Counted in kartes (printed or as vCards), not in rows of a table."""
        return self.kind in (self.Kind.PRINT, self.Kind.VCARD)

    @property
    def error_text(self) -> str:
        """Why it did not finish, in the active language."""
        return translated_text(self.error)

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(self.done * 100 / self.total))

    @property
    def stalled(self) -> bool:
        """Running, but without progress for a long time: the worker stopped."""
        return (
            self.status == self.Status.RUNNING
            and self.heartbeat_at is not None
            and self.heartbeat_at < timezone.now() - STALE_AFTER
        )

    @property
    def waiting_long(self) -> bool:
        return (
            self.status == self.Status.QUEUED
            and self.created_at is not None
            and self.created_at < timezone.now() - WAITING_LONG
        )

    @property
    def downloadable(self) -> bool:
        """A kept file that is still there and has not passed its time."""
        return (
            self.status == self.Status.DONE
            and bool(self.path)
            and (self.expires_at is None or self.expires_at > timezone.now())
        )

    @property
    def has_expired(self) -> bool:
        return self.status == self.Status.EXPIRED or (
            self.status == self.Status.DONE
            and self.background
            and self.expires_at is not None
            and self.expires_at <= timezone.now()
        )


class CardImportBatch(models.Model):
    """A vCard import carried out: its preview's batch, written first in the import's
    transaction. The same preview sent twice at once (a double click) finds the batch taken
    (a unique key, on every database) and creates nothing more."""

    batch = models.CharField(_("batch"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("vCard import")
        verbose_name_plural = _("vCard imports")

    def __str__(self) -> str:
        return self.batch
