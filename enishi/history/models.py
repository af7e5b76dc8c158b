"""The change history: who changed which record, when, through what, and before → after."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class HistoryEntry(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        RESTORE = "restore", _("Restored")
        PURGE = "purge", _("Purged from the trash")
        HANDOVER = "handover", _("Handed over")
        VIEW_SENSITIVE = "view_sensitive", _("Viewed sensitive fields")
        EXPORT = "export", _("Exported")
        IMPORT = "import", _("Imported")
        IMPORT_UNDO = "import_undo", _("Import undone")
        MERGE = "merge", _("Merged")
        UNMERGE = "unmerge", _("Merge undone")

    class Via(models.TextChoices):
        UI = "ui", _("Screen")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        SYSTEM = "system", _("System")

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    via = models.CharField(_("through"), max_length=10, choices=Via.choices, default=Via.UI)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    # The record changed, by model label ("customers.customer") and id: entries outlive the row.
    model = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    # The karte the change belongs to, so a karte shows its own history and its activities'.
    customer_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(max_length=200, blank=True, default="")
    # {field: [before, after]} with values as shown to people (labels, not ids).
    changes = models.JSONField(default=dict, blank=True)
    # The batch a change belonged to, as "<kind>:<id>" ("import:12", "merge:5"), so an import
    # or a merge can be found, shown and undone as a whole.
    batch = models.CharField(_("batch"), max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("history entry")
        verbose_name_plural = _("history entries")
        indexes = [
            models.Index(fields=["customer_id", "-at"], name="history_customer_idx"),
            models.Index(fields=["model", "object_id"], name="history_object_idx"),
            models.Index(fields=["actor", "-at"], name="history_actor_idx"),
            models.Index(fields=["batch"], name="history_batch_idx", condition=~models.Q(batch="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"
