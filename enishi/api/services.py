"""Writes for API tokens: create (the only moment the secret exists), revoke, note a use."""

import datetime
import hashlib
import secrets
import string
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enishi.accounts.models import User
from enishi.api.models import ApiToken
from enishi.core.permissions import can_write

TOKEN_PREFIX = "enishi"  # noqa: S105 - the fixed start of every token, not a secret
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# Tokens always expire: a leaked token that works forever is the worst kind of leak.
MAX_LIFETIME = datetime.timedelta(days=730)
# Writing last_used_at on every call would turn every read into a write.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class NewToken:
    token: ApiToken
    secret: str  # the full token, to be shown once and never stored


def token_create(*, user: User, name: str, scopes: str, expires_at: datetime.datetime) -> NewToken:
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the token a name, e.g. the tool that will use it.")]
    elif len(name) > 100 or "\x00" in name:
        errors["name"] = [_("Use at most 100 ordinary characters.")]
    if scopes not in ApiToken.Scopes.values:
        errors["scopes"] = [_("Choose read only, or read and write.")]
    elif "write" in scopes and not can_write(user):
        errors["scopes"] = [_("Your role cannot change data, so a token cannot either.")]
    now = timezone.now()
    if expires_at <= now:
        errors["expires_at"] = [_("Choose a date in the future.")]
    elif expires_at > now + MAX_LIFETIME:
        errors["expires_at"] = [_("A token can live for at most two years.")]
    if errors:
        raise ValidationError(errors)
    for _attempt in range(5):
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(8))
        secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    token_hash=token_hash(secret),
                    scopes=scopes,
                    expires_at=expires_at,
                )
        except IntegrityError:  # the same prefix twice: one in 2.8 trillion, try again
            continue
        return NewToken(token=token, secret=secret)
    raise RuntimeError("could not find a free token prefix")


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_record_use(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
