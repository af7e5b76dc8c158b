from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from enishi.accounts.selectors import user_has_two_factor
from enishi.core.permissions import is_admin


class UserLanguageMiddleware:
    """Each signed-in user sees Enishi in the language they chose, on every device."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


def code_pending_allowed(view):
    """Pages a session that still owes its two-factor code may open: the code form, log out."""
    view.two_factor_pending_allowed = True
    return view


def setup_pending_allowed(view):
    """Pages an admin who must still set up two-factor log-in may open: the set-up page."""
    view.two_factor_setup_allowed = True
    return view


class TwoFactorMiddleware:
    """A password alone does not finish the log-in of someone with a confirmed TOTP device:
    until the session has passed a code (django-otp's `is_verified()`), every page but the
    code form sends them there. With ENISHI_REQUIRE_2FA_FOR_ADMINS, an admin without a
    device is sent to set one up first.

    Public pages (login_not_required) stay as they are: they show nothing a visitor could not.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if not getattr(view_func, "login_required", True):
            return None
        if getattr(view_func, "two_factor_pending_allowed", False):
            return None
        if user_has_two_factor(user):
            return redirect(_with_next(reverse("accounts:login_verify"), request))
        if (
            settings.ENISHI_REQUIRE_2FA_FOR_ADMINS
            and is_admin(user)
            and not getattr(view_func, "two_factor_setup_allowed", False)
        ):
            messages.warning(
                request,
                _("Administrators must use two-factor log-in. Set it up to continue."),
            )
            return redirect("accounts:two_factor")
        return None


def _with_next(url: str, request: HttpRequest) -> str:
    if request.method == "GET" and not getattr(request, "htmx", False):
        return f"{url}?{urlencode({'next': request.get_full_path()})}"
    return url
