"""Bearer-token authentication, the write check and the per-token rate limit.

Language: an API call is answered in the language of its Accept-Language header; without one,
in the token owner's language (as the screens are).
"""

import re
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from enishi.api.errors import Forbidden, TokenRejected
from enishi.api.models import ApiToken
from enishi.api.selectors import token_find
from enishi.api.services import token_record_use
from enishi.core.permissions import can_write


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = token_find(token)
        if found is None or not found.user.is_active:
            return None
        if found.revoked_at is not None:
            raise TokenRejected(_("This token has been revoked."))
        if found.is_expired:
            raise TokenRejected(_("This token has expired: create a new one."))
        if "HTTP_ACCEPT_LANGUAGE" not in request.META and found.user.language:
            translation.activate(found.user.language)
            request.LANGUAGE_CODE = found.user.language
        request.user = found.user
        token_record_use(token=found)
        return found


class TokenAuthThen(TokenAuth):
    """The token, then `checks` (each raising Forbidden): for routes with a body, as ninja reads
    and validates the body only after authentication. So a caller who may not make the call gets
    403 whatever the body, never a 422 about a body they were not allowed to send."""

    def __init__(self, *checks: Callable[[HttpRequest], None]) -> None:
        super().__init__()
        self.checks = checks

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = super().authenticate(request, token)
        if found is not None:
            request.auth = found  # what the checks read (ninja sets it only afterwards)
            for check in self.checks:
                check(request)
        return found


def require_write_scope(request: HttpRequest) -> None:
    """The token has the write scope (whatever the role)."""
    if not request.auth.can_write:
        raise Forbidden(
            _("This token is read-only: create one with the write scope to change data.")
        )


def require_write(request: HttpRequest) -> None:
    """Writes need a token with the write scope and a role that may change data."""
    require_write_scope(request)
    if not can_write(request.user):
        raise Forbidden(_("Your role may read but not change data."))


def write_auth(*checks: Callable[[HttpRequest], None]) -> TokenAuthThen:
    """The `auth` of a write operation: the token, `require_write`, then `checks` (role-level
    ones, such as "administrators only"), all before the body is read. Checks that need the
    record in the URL stay in the operation (a 404 or 403 after loading it)."""
    return TokenAuthThen(require_write, *checks)


_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
RATE_PATTERN = re.compile(r"(\d+)/(" + "|".join(_PERIODS) + ")")


def parse_rate(rate: str) -> tuple[int, int]:
    match = RATE_PATTERN.fullmatch(rate)
    if match is None:
        raise ValueError(rate)
    return int(match.group(1)), _PERIODS[match.group(2)]


class TokenThrottle(BaseThrottle):
    """ENISHI_API_RATE requests per period and token, counted in fixed windows in the cache.

    A fixed window may let up to twice the rate through around a window's edge; that is the
    price of one atomic counter instead of a list of timestamps per token.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        count, period = parse_rate(settings.ENISHI_API_RATE)
        now = time.time()
        window = int(now // period)
        key = f"enishi:api-rate:{token.prefix}:{period}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period + 1)
            used = 1
        self._local.wait = (window + 1) * period - now
        return used <= count

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)
