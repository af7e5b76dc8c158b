"""Log-in, the user's own settings, and the admin screens for users and teams.
Each view: parse input → one selector or service → render."""

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from enishi.accounts import selectors, services
from enishi.accounts.forms import (
    CodeForm,
    TeamForm,
    UserCreateForm,
    UserForm,
    add_service_errors,
)
from enishi.accounts.middleware import code_pending_allowed, setup_pending_allowed
from enishi.accounts.models import Team, User
from enishi.accounts.services import user_set_language
from enishi.accounts.tokens import set_password_tokens
from enishi.core.permissions import admin_required, is_admin

# --- Logging in and out -------------------------------------------------------------------------

login = login_not_required(
    auth_views.LoginView.as_view(
        template_name="accounts/login.html", redirect_authenticated_user=True
    )
)
logout = setup_pending_allowed(code_pending_allowed(auth_views.LogoutView.as_view()))


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes calls this when a (user name, address) pair is locked: our login page, with
    a message that says so and for how long, answered with 429 Too Many Requests."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    message = ngettext(
        "Too many failed log-ins. This user name is locked on this device for %(minutes)d "
        "minute; try again later, or ask an administrator.",
        "Too many failed log-ins. This user name is locked on this device for %(minutes)d "
        "minutes; try again later, or ask an administrator.",
        minutes,
    ) % {"minutes": minutes}
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "locked": message, "next": _safe_next(request, default="")}
    return render(request, "accounts/login.html", context, status=429)


def _safe_next(request: HttpRequest, default: str | None = None) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL) if default is None else default


@code_pending_allowed
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """Second step of logging in for users with two-factor log-in on."""
    next_url = _safe_next(request)
    if request.user.is_verified() or not selectors.user_has_two_factor(request.user):
        return redirect(next_url)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_verify(user=request.user, token=form.cleaned_data["code"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            otp_login(request, device)
            return redirect(next_url)
    return render(request, "accounts/login_verify.html", {"form": form, "next": next_url})


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The page a one-time link opens (invitation, or a new link from an admin)."""

    template_name = "accounts/set_password.html"
    token_generator = set_password_tokens
    success_url = reverse_lazy("accounts:login")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set. Log in with it now."))
        return response


set_password = SetPasswordView.as_view()


# --- My settings --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        language = request.POST.get("language", "")
        if language in User.Language.values:
            user_set_language(user=request.user, language=language)
            translation.activate(language)
            messages.success(request, _("Language changed."))
            return redirect("accounts:profile")
        messages.error(request, _("Choose a language from the list."))
    return render(
        request,
        "accounts/profile.html",
        {
            "languages": User.Language.choices,
            "has_two_factor": selectors.user_has_two_factor(request.user),
        },
    )


@require_POST
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    user = services.user_logout_everywhere(user=request.user)
    # This session stays signed in; every other one has ended.
    update_session_auth_hash(request, user)
    messages.success(request, _("You are logged out on every other device and browser."))
    return redirect("accounts:profile")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change: it also ends the user's other sessions."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request, _("Password changed. Your other sessions have been logged out.")
        )
        return response


password_change = PasswordChangeView.as_view()


# --- Two-factor log-in ----------------------------------------------------------------------------


def _qr_svg(text: str) -> str:
    # Inline SVG: no image request and no script, so the Content-Security-Policy stays strict.
    svg = segno.make(text, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the text is encoded, not shown


def _grouped_secret(device) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _two_factor_page(request: HttpRequest, form: CodeForm | None = None) -> HttpResponse:
    device = selectors.two_factor_device(request.user)
    pending = None if device else selectors.two_factor_pending_device(request.user)
    required = settings.ENISHI_REQUIRE_2FA_FOR_ADMINS and is_admin(request.user)
    context = {
        "device": device,
        "pending": pending,
        "form": form or CodeForm(),
        "required": required,
        "forced": required and device is None,
    }
    if pending is not None:
        context["qr_svg"] = _qr_svg(pending.config_url)
        context["secret"] = _grouped_secret(pending)
    return render(request, "accounts/two_factor.html", context)


@setup_pending_allowed
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """GET: the state of two-factor log-in; POST: start setting it up (a new secret)."""
    if request.method == "POST":
        try:
            services.two_factor_start(user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("accounts:two_factor")
    return _two_factor_page(request)


@setup_pending_allowed
@require_POST
def two_factor_confirm(request: HttpRequest) -> HttpResponse:
    pending = selectors.two_factor_pending_device(request.user)
    if pending is None:
        return redirect("accounts:two_factor")
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            device = services.two_factor_confirm(
                user=request.user, device=pending, token=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # This session has just shown a code: it counts as verified.
            otp_login(request, device)
            messages.success(
                request, _("Two-factor log-in is on. You will be asked for a code when you log in.")
            )
            return redirect("accounts:profile")
    return _two_factor_page(request, form)


@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            services.two_factor_disable(user=request.user, token=form.cleaned_data["code"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Two-factor log-in is off."))
            return redirect("accounts:profile")
    return _two_factor_page(request, form)


# --- Users (admins) -------------------------------------------------------------------------------

_LINK_SESSION_KEY = "enishi_set_password_link"


def _account_or_404(pk: int) -> User:
    try:
        return selectors.user_get(pk=pk)
    except User.DoesNotExist:
        raise Http404 from None


def _remember_link(request: HttpRequest, account: User, path: str) -> None:
    # Shown once on the next page (never stored elsewhere): the admin copies it and passes it on.
    request.session[_LINK_SESSION_KEY] = {
        "user": account.pk,
        "url": request.build_absolute_uri(path),
    }


def _pop_link(request: HttpRequest, account: User) -> str:
    link = request.session.pop(_LINK_SESSION_KEY, None)
    return link["url"] if link and link.get("user") == account.pk else ""


@admin_required
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "active")
    active = {"active": True, "inactive": False, "all": None}.get(show, True)
    page = Paginator(selectors.user_list(active=active), settings.ENISHI_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "accounts/user_list.html",
        {"page": page, "show": show, "querystring": f"show={show}"},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = services.user_create(
                actor=request.user,
                username=data["username"],
                password=form.password,
                display_name=data["display_name"],
                email=data["email"],
                role=data["role"],
                team=data["team"],
                language=data["language"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc, aliases={"password": "password1"})
        else:
            if form.password is None:
                path = services.user_set_password_link(actor=request.user, user=account)
                _remember_link(request, account, path)
            messages.success(request, _("User %(name)s created.") % {"name": account.label})
            return redirect("accounts:user_edit", pk=account.pk)
    return render(request, "accounts/user_create.html", {"form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(pk)
    form = UserForm(
        request.POST or None,
        initial={
            "display_name": account.display_name,
            "email": account.email,
            "role": account.role,
            "team": account.team,
            "language": account.language,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=account, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("accounts:user_edit", pk=account.pk)
    return render(
        request,
        "accounts/user_edit.html",
        {
            "account": account,
            "form": form,
            "link": _pop_link(request, account),
            "history": selectors.user_history(user=account),
            "is_self": account.pk == request.user.pk,
        },
    )


@admin_required
@require_POST
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(pk)
    try:
        services.user_deactivate(actor=request.user, user=account)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _(
                "%(name)s is deactivated and can no longer log in. Everything they did stays "
                "recorded under their name."
            )
            % {"name": account.label},
        )
    return redirect("accounts:user_edit", pk=account.pk)


@admin_required
@require_POST
def user_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    account = services.user_reactivate(actor=request.user, user=_account_or_404(pk))
    messages.success(request, _("%(name)s can log in again.") % {"name": account.label})
    return redirect("accounts:user_edit", pk=account.pk)


@admin_required
@require_POST
def user_link(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(pk)
    try:
        path = services.user_set_password_link(actor=request.user, user=account)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        _remember_link(request, account, path)
    return redirect("accounts:user_edit", pk=account.pk)


@admin_required
@require_POST
def user_reset_2fa(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_or_404(pk)
    services.user_reset_2fa(actor=request.user, user=account)
    messages.success(
        request,
        _("Two-factor log-in of %(name)s is off. They can set it up again after logging in.")
        % {"name": account.label},
    )
    return redirect("accounts:user_edit", pk=account.pk)


# --- Teams (admins) -------------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Team %(name)s created.") % {"name": team.name})
            return redirect("accounts:team_list")
    return render(
        request, "accounts/team_list.html", {"teams": selectors.team_list(), "form": form}
    )


@admin_required
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        team = selectors.team_get(pk=pk)
    except Team.DoesNotExist:
        raise Http404 from None
    form = TeamForm(request.POST or None, initial={"name": team.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.team_rename(actor=request.user, team=team, name=form.cleaned_data["name"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("accounts:team_list")
    return render(request, "accounts/team_edit.html", {"team": team, "form": form})
