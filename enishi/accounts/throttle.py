"""Log-in throttling with django-axes: the pieces Enishi configures (see settings.AXES_*)."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a locked-out (user name, address) pair before any password is checked.

    Throttling is per client, and a call without a request has no client: that happens only in
    server-side code (Django's test client `login()`, scripts), never for a visitor, so it is let
    through to the password check instead of failing as django-axes' own backend does.
    """

    def authenticate(self, request: HttpRequest | None, *args, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def client_ip(request: HttpRequest) -> str:
    """The visitor's address. Behind our reverse proxy (BEHIND_PROXY) that is the last address
    in X-Forwarded-For, the one the proxy itself added; earlier entries are whatever the client
    sent and could be forged to dodge the lockout."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")
