"""The "someone else saved this while you were editing" panel, shared by every edit form of a
versioned record (karte, deal, order, contract): the form sends back when it was shown
(`opened_at`, a hidden field), and a conflict lists the record's changes saved since.
"""

import datetime

from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from enishi.history.models import HistoryEntry
from enishi.history.selectors import changes_since, karte_links


def posted_opened_at(request: HttpRequest) -> datetime.datetime | None:
    """The time the edit form was shown, as it sent it back (None if missing or garbled)."""
    try:
        value = parse_datetime(request.POST.get("opened_at", ""))
    except ValueError:
        return None
    if value is None or timezone.is_naive(value):
        return None
    return value


def _posted_version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version") or "")
    except ValueError:
        return None


class EditConflict:
    """One edit page's view of the conflict panel.

    `EditConflict(request)` when the view starts; `found(current)` with the record a
    `StaleVersionError` carries; `context` into the template, which puts
    `<input type="hidden" name="opened_at" value="{{ opened_at }}">` in its form and lists
    `conflict_history`. The time stays the same while the form comes back with errors (or a
    preview), and moves on once a conflict has shown the changes.
    """

    def __init__(self, request: HttpRequest):
        self.request = request
        self.opened_at = posted_opened_at(request) if request.method == "POST" else None
        self.changes: list[HistoryEntry] = []

    def found(self, current) -> list[HistoryEntry]:
        """The changes to `current` since the form was shown (else since the posted version)."""
        self.changes = changes_since(
            current, since=self.opened_at, version=_posted_version(self.request)
        )
        karte_links(self.request).add(self.changes)  # the companies they name, at once
        self.opened_at = None
        return self.changes

    @property
    def context(self) -> dict:
        return {
            "conflict_history": self.changes,
            "opened_at": (self.opened_at or timezone.now()).isoformat(),
        }
