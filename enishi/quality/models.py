"""Duplicates (名寄せ) and merges: the background scan's runs, the candidate pairs it proposes,
and the record of each merge, complete enough to undo it exactly.

A merged karte is not deleted: it is hidden like a karte in the trash (`deleted_at`) and an
active `MergedCustomer` row points it at the survivor, so its history stays and its old URL
leads to the survivor. The trash does not list merged kartes (they come back only by undoing
the merge).
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ScanRun(models.Model):
    """One background scan of the whole database: the job row the progress bar polls."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Running")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    via = models.CharField(_("through"), max_length=10, default="ui")
    threshold = models.FloatField(_("threshold"))
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Heartbeat: a running scan whose row has not moved for a long time has lost its worker.
    updated_at = models.DateTimeField(auto_now=True)
    phase = models.CharField(_("phase"), max_length=40, blank=True, default="")
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    customers = models.PositiveIntegerField(_("kartes compared"), default=0)
    pairs = models.PositiveIntegerField(_("candidate pairs"), default=0)
    groups = models.PositiveIntegerField(_("groups"), default=0)
    new_pairs = models.PositiveIntegerField(_("new candidates"), default=0)
    dismissed_kept = models.PositiveIntegerField(
        _("pairs already marked not a duplicate"), default=0
    )
    error = models.TextField(_("error"), blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")

    def __str__(self) -> str:
        return f"scan {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(self.done * 100 / self.total))


class DuplicatePair(models.Model):
    """Two kartes the scan takes for one customer (`a_id` < `b_id`), with the engine's score and
    reasons. Pairs of one scan that belong to one group share `group`.

    A pair marked "not a duplicate" stays, so the next scan does not propose it again; a scan
    replaces only the open pairs.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DISMISSED = "dismissed", _("Not a duplicate")
        MERGED = "merged", _("Merged")

    a = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    b = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    group = models.PositiveIntegerField(_("group"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    scan = models.ForeignKey(
        ScanRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="found"
    )
    found_at = models.DateTimeField(_("found at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    merge = models.ForeignKey(
        "Merge", null=True, blank=True, on_delete=models.SET_NULL, related_name="pairs"
    )

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        constraints = [
            models.UniqueConstraint(fields=["a", "b"], name="duplicate_pair_unique"),
            models.CheckConstraint(condition=models.Q(a__lt=models.F("b")), name="pair_a_lt_b"),
        ]
        indexes = [
            models.Index(fields=["status", "-score", "id"], name="duplicate_queue_idx"),
            models.Index(fields=["b", "status"], name="duplicate_b_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.a_id} ↔ {self.b_id} ({self.score:.2f})"

    def get_absolute_url(self) -> str:
        return reverse("quality:compare", args=[self.pk])


class Merge(models.Model):
    """One merge: who, when, which kartes into which, the value chosen per field, and what was
    moved (ids per kind) with the survivor's values before, so `customer_merge_undo` can put
    everything back exactly."""

    survivor = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("surviving karte"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    via = models.CharField(_("through"), max_length=10)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)
    # Snapshots for people (the history names them): kept even when the names change later.
    survivor_name = models.CharField(_("merged into"), max_length=200)
    merged_names = models.CharField(_("merged from"), max_length=1000)
    moved_summary = models.CharField(_("records moved"), max_length=1000, blank=True, default="")
    # The choices as given: {"name": 12, "notes": "both", "keep_phones": true, "cf:x": 13}.
    choices = models.JSONField(default=dict, blank=True)
    # The survivor's stored values of the fields the merge changed: {field: [before, after]}
    # (foreign keys by id, dates as ISO text, custom fields per key under "custom_fields").
    fields = models.JSONField(default=dict, blank=True)
    tags_added = models.JSONField(default=list, blank=True)
    # {"<app>.<model>.<field>": {"<merged id>": [ids]}} for foreign keys and, for
    # many-to-many links, {"moved": [[row id, merged id]], "dropped": [[source id, merged id]]}.
    moved = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(_("remarks"), default=list, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [models.Index(fields=["survivor", "-created_at"], name="merge_survivor_idx")]

    def __str__(self) -> str:
        return f"{self.merged_names} → {self.survivor_name}"[:200]

    def get_absolute_url(self) -> str:
        return reverse("quality:merge_detail", args=[self.pk])

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class MergedCustomer(models.Model):
    """A karte merged into a survivor. While `active`, the karte is in the "merged" state:
    hidden like the trash, out of the trash list, its URL leading to the survivor."""

    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    # The customer code the merge took off the merged karte (codes are unique), for the undo.
    code_before = models.CharField(max_length=40, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["merge", "position"]
        verbose_name = _("merged karte")
        verbose_name_plural = _("merged kartes")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(active=True), name="merged_once"
            )
        ]

    def __str__(self) -> str:
        return self.name
