"""My API tokens: list, create (the token is shown once, on the answer to the POST) and revoke."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from enishi.api import selectors, services
from enishi.api.forms import TokenForm


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, user=request.user)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token = services.token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error("expires_on" if field == "expires_at" else field, errors)
        else:
            # Rendered, not redirected: the secret exists only in this one answer.
            form = TokenForm(user=request.user)
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "new_token": new_token,
            "tokens": selectors.token_list_for_user(request.user),
        },
        status=400 if form.errors else 200,
    )


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.token_get_for_user(request.user, pk)
    services.token_revoke(token=token)
    messages.success(request, _("Revoked the token “%(name)s”.") % {"name": token.name})
    return redirect("tokens:list")
