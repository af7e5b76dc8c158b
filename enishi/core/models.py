"""Workspace-wide settings kept in the database (an admin changes them on a settings page)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class HouseStyle(models.Model):
    """How this business writes company names, street addresses and dates (one row, pk=1).

    Applied when a karte is saved; `enishi.quality.house_style` holds the rules themselves."""

    class CompanyName(models.TextChoices):
        KEEP = "keep", _("Keep the legal form as typed")
        SPELL_OUT = "spell_out", _("Spell out the legal form where it stands ((株) → 株式会社)")
        FRONT = "front", _("Legal form at the front (株式会社山田商事)")
        BACK = "back", _("Legal form at the back (山田商事株式会社)")

    class Street(models.TextChoices):
        KEEP = "keep", _("Keep as typed")
        HYPHEN = "hyphen", _("Block numbers with hyphens, half-width (1-2-3)")
        HYPHEN_FULL = "hyphen_full", _("Block numbers with hyphens, full-width (１－２－３)")

    class Dates(models.TextChoices):
        ISO = "iso", _("2026-04-01")
        SLASH = "slash", _("2026/04/01")
        KANJI = "kanji", _("2026年4月1日")
        ERA = "era", _("Japanese era (令和8年4月1日)")

    company_name = models.CharField(
        _("company names"), max_length=20, choices=CompanyName.choices, default=CompanyName.KEEP
    )
    street = models.CharField(
        _("street addresses"), max_length=20, choices=Street.choices, default=Street.KEEP
    )
    dates = models.CharField(
        _("date display"), max_length=20, choices=Dates.choices, default=Dates.ISO
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("house style")
        verbose_name_plural = _("house style")

    def __str__(self) -> str:
        return str(_("house style"))


class StyleCleanup(models.Model):
    """One run of the one-time clean-up that applies the house style to existing kartes."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The rules applied, as they were when the run was started.
    company_name = models.CharField(max_length=20)
    street = models.CharField(max_length=20)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(_("kartes to check"), default=0)
    done = models.PositiveIntegerField(_("kartes checked"), default=0)
    changed = models.PositiveIntegerField(_("kartes changed"), default=0)
    skipped = models.PositiveIntegerField(_("kartes skipped"), default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Set as the run goes: a running clean-up that has not moved for a while was interrupted
    # (the worker stopped), and must not hold the one-at-a-time rule for ever.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # Undoing the clean-up: every karte it changed gets its values back, unless changed since.
    undo_started_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    restored = models.PositiveIntegerField(_("kartes restored"), default=0)
    kept = models.PositiveIntegerField(_("kartes kept as they are"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("house style clean-up")
        verbose_name_plural = _("house style clean-ups")
        constraints = [
            # One clean-up at a time, held by the database even when two are started at once:
            # at most one row may be queued or running (a unique index on a constant).
            models.UniqueConstraint(
                models.Value(1),
                condition=models.Q(status__in=["queued", "running"]),
                name="style_cleanup_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"cleanup:{self.pk}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def undoing(self) -> bool:
        return self.undo_started_at is not None and self.undone_at is None

    @property
    def can_undo(self) -> bool:
        return self.status == self.Status.DONE and self.changed > 0 and not self.undo_started_at
