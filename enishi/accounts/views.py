from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from enishi.accounts.models import User
from enishi.accounts.services import user_set_language

login = login_not_required(
    auth_views.LoginView.as_view(
        template_name="accounts/login.html", redirect_authenticated_user=True
    )
)
logout = auth_views.LogoutView.as_view()


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
    return render(request, "accounts/profile.html", {"languages": User.Language.choices})
