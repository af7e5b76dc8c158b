"""Every change to users and teams. What an admin (or the user) does to an account is recorded
in the history; users are never deleted, only deactivated, so their history stays theirs."""

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from enishi.accounts.models import Team, User
from enishi.accounts.selectors import active_admins, two_factor_device
from enishi.accounts.tokens import set_password_path
from enishi.core.permissions import is_admin
from enishi.history.models import HistoryEntry
from enishi.history.services import history_record, snapshot

EDITABLE_FIELDS = ["display_name", "email", "role", "team", "language"]


def _record(
    *,
    actor: User | None,
    action: str,
    instance: User | Team,
    changes: dict[str, Any],
    via: str = HistoryEntry.Via.UI,
) -> None:
    history_record(
        actor=actor, via=via, action=action, instance=instance, customer_id=None, changes=changes
    )


def _lock_admins() -> None:
    """Hold the admins' rows while deciding whether one may stop being an admin, so that two
    admins demoting each other at once cannot leave nobody in charge."""
    list(active_admins().select_for_update().values_list("pk", flat=True))


def _is_last_admin(user: User) -> bool:
    return user.is_admin and not active_admins().exclude(pk=user.pk).exists()


def _set_role(user: User, role: str) -> None:
    user.role = role
    # Django's own flags follow the role, so an admin demoted here really stops being one.
    user.is_superuser = user.is_staff = role == User.Role.ADMIN


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    display_name: str = "",
    email: str = "",
    is_admin: bool = False,
    team: Team | None = None,
    language: str = "ja",
    check_password: bool = True,
    role: str = User.Role.MEMBER,
    actor: User | None = None,
    via: str = HistoryEntry.Via.UI,
) -> User:
    """Without a password the account cannot log in until a set-password link is used."""
    user = User(
        username=username.strip(),
        display_name=display_name.strip(),
        email=email.strip(),
        team=team,
        language=language,
    )
    _set_role(user, User.Role.ADMIN if is_admin else role)
    if password is None:
        user.set_unusable_password()
    else:
        if check_password:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    if actor is not None:
        _record(
            actor=actor,
            via=via,
            action=HistoryEntry.Action.CREATE,
            instance=user,
            changes=snapshot(user, ["username", *EDITABLE_FIELDS], only_filled=True),
        )
    return user


@transaction.atomic
def user_update(
    *,
    actor: User,
    user: User,
    display_name: str,
    email: str,
    role: str,
    team: Team | None,
    language: str,
    via: str = HistoryEntry.Via.UI,
) -> User:
    before = snapshot(user, EDITABLE_FIELDS)
    if role != User.Role.ADMIN and user.is_admin:
        _lock_admins()
        if _is_last_admin(user):
            raise ValidationError(
                {"role": _("This is the last active administrator: make someone else one first.")}
            )
    user.display_name = display_name.strip()
    user.email = email.strip()
    user.team = team
    user.language = language
    _set_role(user, role)
    user.full_clean(exclude=["password"])
    user.save()
    after = snapshot(user, EDITABLE_FIELDS)
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if changes:
        _record(
            actor=actor, via=via, action=HistoryEntry.Action.UPDATE, instance=user, changes=changes
        )
    return user


@transaction.atomic
def user_deactivate(*, actor: User | None, user: User, via: str = HistoryEntry.Via.UI) -> User:
    """The account can no longer log in and its sessions end; everything it did stays
    attributed to it. Its kartes and tasks are handed over separately (customers_hand_over)."""
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if not user.is_active:
        return user
    _lock_admins()
    if _is_last_admin(user):
        raise ValidationError(_("This is the last active administrator and cannot be deactivated."))
    user.is_active = False
    user.session_generation = F("session_generation") + 1
    user.save(update_fields=["is_active", "session_generation"])
    user.refresh_from_db(fields=["session_generation"])
    _record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=user,
        changes={"is_active": [True, False]},
    )
    return user


@transaction.atomic
def user_reactivate(*, actor: User | None, user: User, via: str = HistoryEntry.Via.UI) -> User:
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active"])
    _record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=user,
        changes={"is_active": [False, True]},
    )
    return user


@transaction.atomic
def user_set_password_link(*, actor: User, user: User, via: str = HistoryEntry.Via.UI) -> str:
    """A one-time link (path) to set a password: for a new user, or one who forgot theirs.
    There is no mail server, so the admin passes it on."""
    if not user.is_active:
        raise ValidationError(_("Reactivate the account first."))
    _record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=user,
        changes={"set_password_link": [None, True]},
    )
    return set_password_path(user)


def user_set_language(*, user: User, language: str) -> User:
    if language not in User.Language.values:
        raise ValueError(language)
    user.language = language
    user.save(update_fields=["language"])
    return user


@transaction.atomic
def user_logout_everywhere(*, user: User) -> User:
    """Ends every session of the user, on every device. The caller keeps its own session with
    `update_session_auth_hash`."""
    before = user.session_generation
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    _record(
        actor=user,
        action=HistoryEntry.Action.UPDATE,
        instance=user,
        changes={"session_generation": [before, user.session_generation]},
    )
    return user


# --- Two-factor log-in (TOTP) ----------------------------------------------------------------


def _wrong_code() -> ValidationError:
    return ValidationError(
        _("That code is not right. Enter the 6-digit code your app shows now."), code="wrong"
    )


def _code_error(device: TOTPDevice | None, token: str) -> ValidationError | None:
    """django-otp refuses a code used before and slows repeated wrong codes (1, 2, 4… s).
    Callers raise the error after their transaction, so the failure it counted is kept."""
    if device is None:
        return _wrong_code()
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        return ValidationError(
            _("Too many wrong codes. Wait a little and try again."), code="throttled"
        )
    if not device.verify_token(token):
        return _wrong_code()
    return None


def _confirmed_device_for_update(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()


@transaction.atomic
def two_factor_start(*, user: User) -> TOTPDevice:
    """A new secret, shown as a QR code; log-ins need codes only once one confirms it."""
    if two_factor_device(user) is not None:
        raise ValidationError(_("Two-factor log-in is already on."))
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Enishi", confirmed=False)


def two_factor_confirm(*, user: User, device: TOTPDevice, token: str) -> TOTPDevice:
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        error = _code_error(device, token)
        if error is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            _record(
                actor=user,
                action=HistoryEntry.Action.UPDATE,
                instance=user,
                changes={"two_factor": [False, True]},
            )
    if error is not None:
        raise error
    return device


def two_factor_verify(*, user: User, token: str) -> TOTPDevice:
    """The second step of logging in. Returns the device that accepted the code."""
    with transaction.atomic():
        device = _confirmed_device_for_update(user)
        error = _code_error(device, token)
    if error is not None:
        raise error
    assert device is not None
    return device


def two_factor_disable(*, user: User, token: str) -> None:
    """Turning it off takes a current code, so a borrowed session alone cannot do it."""
    if settings.ENISHI_REQUIRE_2FA_FOR_ADMINS and is_admin(user):
        raise ValidationError(_("Administrators must keep two-factor log-in on."))
    with transaction.atomic():
        device = _confirmed_device_for_update(user)
        if device is None:
            return
        error = _code_error(device, token)
        if error is None:
            TOTPDevice.objects.filter(user=user).delete()
            _record(
                actor=user,
                action=HistoryEntry.Action.UPDATE,
                instance=user,
                changes={"two_factor": [True, False]},
            )
    if error is not None:
        raise error


@transaction.atomic
def user_reset_2fa(*, actor: User, user: User, via: str = HistoryEntry.Via.UI) -> None:
    """Recovery for someone who lost their phone: an admin turns their two-factor log-in off,
    and they can set it up again after logging in with their password."""
    had_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    TOTPDevice.objects.filter(user=user).delete()
    if had_device:
        _record(
            actor=actor,
            via=via,
            action=HistoryEntry.Action.UPDATE,
            instance=user,
            changes={"two_factor": [True, False]},
        )


# --- Teams ----------------------------------------------------------------------------------


def _team_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    return name


@transaction.atomic
def team_create(*, actor: User, name: str, via: str = HistoryEntry.Via.UI) -> Team:
    team = Team(name=_team_name(name))
    team.full_clean()
    team.save()
    _record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.CREATE,
        instance=team,
        changes={"name": [None, team.name]},
    )
    return team


@transaction.atomic
def team_rename(*, actor: User, team: Team, name: str, via: str = HistoryEntry.Via.UI) -> Team:
    before = team.name
    team.name = _team_name(name)
    if team.name == before:
        return team
    try:
        team.full_clean()
    except ValidationError:
        team.name = before
        raise
    team.save(update_fields=["name"])
    _record(
        actor=actor,
        via=via,
        action=HistoryEntry.Action.UPDATE,
        instance=team,
        changes={"name": [before, team.name]},
    )
    return team
