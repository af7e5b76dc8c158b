"""Reads about users and teams. The user screens are for admins (views check that)."""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from enishi.accounts.models import Team, User
from enishi.history.models import HistoryEntry
from enishi.history.selectors import field_label, value_label

# History entries about users name two things that are not columns of the user table.
_HISTORY_LABELS = {
    "two_factor": (_("Two-factor log-in"), {True: _("On"), False: _("Off")}),
    "set_password_link": (_("Set-password link"), {True: _("Issued")}),
}


def user_has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_device(user: User) -> TOTPDevice | None:
    """The user's confirmed device, if two-factor log-in is on."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def two_factor_pending_device(user: User) -> TOTPDevice | None:
    """The device being set up: shown as a QR code until a code confirms it."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def active_admins() -> QuerySet[User]:
    return User.objects.filter(is_active=True).filter(
        Q(role=User.Role.ADMIN) | Q(is_superuser=True)
    )


def user_list(*, active: bool | None = True) -> QuerySet[User]:
    users = User.objects.select_related("team").annotate(
        has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )
    if active is not None:
        users = users.filter(is_active=active)
    return users.order_by("username")


def user_get(*, pk: int) -> User:
    """Raises User.DoesNotExist (the view answers 404)."""
    return user_list(active=None).get(pk=pk)


def team_list() -> QuerySet[Team]:
    return Team.objects.annotate(
        active_members=Count("members", filter=Q(members__is_active=True))
    ).order_by("name")


def team_get(*, pk: int) -> Team:
    return Team.objects.get(pk=pk)


@dataclass(frozen=True)
class HistoryRow:
    entry: HistoryEntry
    changes: list[tuple[str, str, str]]  # (label, before, after)


def user_history(*, user: User, limit: int = 50) -> list[HistoryRow]:
    """What admins did to this account, newest first, ready to show."""
    entries = HistoryEntry.objects.filter(
        model=User._meta.label_lower, object_id=user.pk
    ).select_related("actor")[:limit]
    rows = []
    for entry in entries:
        changes = []
        for name, (before, after) in entry.changes.items():
            if name in _HISTORY_LABELS:
                label, values = _HISTORY_LABELS[name]
                shown = (str(values.get(before, "")), str(values.get(after, "")))
            else:
                label = field_label(entry.model, name)
                shown = (
                    value_label(entry.model, name, before) if before is not None else "",
                    value_label(entry.model, name, after),
                )
            changes.append((str(label), *shown))
        rows.append(HistoryRow(entry=entry, changes=changes))
    return rows
