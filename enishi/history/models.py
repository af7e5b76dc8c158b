"""The change history: who changed which record, when, through what, and before → after."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Ref(str):
    """A related record in a snapshot: its name as people read it, remembering its id.

    History keeps the name (what the record was called at that time); the id goes to
    `HistoryEntry.refs`, so a reader's right to see the record, and a link to it, can be
    decided by id even after the record is renamed. Two refs are equal only when their names
    and ids are: re-linking to another record of the same name is a change. Against a plain
    string (a value read back from the history) only the name counts.
    """

    pk: int | None

    def __new__(cls, name: str, pk: int | None) -> "Ref":
        ref = super().__new__(cls, name)
        ref.pk = pk
        return ref

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ref) and self.pk != other.pk:
            return False
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__

    def __reduce__(self):
        return (Ref, (str(self), self.pk))


class HistoryEntryManager(models.Manager):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for entry in objs:
            entry.keep_refs()
        return super().bulk_create(objs, *args, **kwargs)


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
    # {field: [before id, after id]} of the related records `changes` names (a `Ref` in a
    # snapshot), so a reader's right to see one is decided by id, not by a name that may have
    # changed since. Entries written before 2026-11-25 have none (`KarteLinks` falls back).
    refs = models.JSONField(default=dict, blank=True)
    # The batch a change belonged to, as "<kind>:<id>" ("import:12", "merge:5"), so an import
    # or a merge can be found, shown and undone as a whole.
    batch = models.CharField(_("batch"), max_length=40, blank=True, default="")

    objects = HistoryEntryManager()

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

    def save(self, *args, **kwargs) -> None:
        self.keep_refs()
        super().save(*args, **kwargs)

    def keep_refs(self) -> None:
        """Move the ids of the `Ref`s in `changes` to `refs`, leaving their names."""
        if not isinstance(self.changes, dict):
            return
        named = {
            name: pair
            for name, pair in self.changes.items()
            if isinstance(pair, list | tuple) and any(isinstance(v, Ref) for v in pair)
        }
        if not named:
            return
        self.refs = {
            **(self.refs or {}),
            **{
                name: [v.pk if isinstance(v, Ref) else None for v in pair]
                for name, pair in named.items()
            },
        }
        self.changes = {
            **self.changes,
            **{
                name: [str(v) if isinstance(v, Ref) else v for v in pair]
                for name, pair in named.items()
            },
        }

    def ref(self, name: str, side: int) -> int | None:
        """The id of the record named on this side (0 before, 1 after) of a change, if kept."""
        pair = (self.refs or {}).get(name)
        if isinstance(pair, list) and len(pair) > side and isinstance(pair[side], int):
            return pair[side]
        return None
