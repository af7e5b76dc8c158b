"""Forms turn what people type into typed values; the rules themselves live in services."""

import unicodedata

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from enishi.accounts.models import Team, User


class UserForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=100,
        required=False,
        help_text=_("As colleagues see it, e.g. 山田 太郎."),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices, initial=User.Role.MEMBER)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.order_by("name"), required=False, empty_label="—"
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=User.Language.choices, initial=User.Language.JA
    )


class UserCreateForm(UserForm):
    LINK = "link"
    PASSWORD = "password"  # noqa: S105 - the name of a choice, not a password

    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        help_text=_("What they type to log in: letters, digits and @ . + - _"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    access = forms.ChoiceField(
        label=_("First log-in"),
        choices=[
            (LINK, _("Create a one-time link for them to set their own password")),
            (PASSWORD, _("Set a first password now")),
        ],
        initial=LINK,
        widget=forms.RadioSelect,
    )
    password1 = forms.CharField(
        label=_("First password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("First password (again)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    field_order = [
        "username",
        "display_name",
        "email",
        "role",
        "team",
        "language",
        "access",
        "password1",
        "password2",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = _(
            "Only when you set a first password now: at least %(length)d characters."
        ) % {"length": settings.ENISHI_PASSWORD_MIN_LENGTH}

    def clean(self):
        data = super().clean()
        if data.get("access") == self.PASSWORD:
            if not data.get("password1"):
                self.add_error("password1", _("Enter a first password, or choose the link."))
            elif data.get("password1") != data.get("password2"):
                self.add_error("password2", _("The two passwords differ."))
        return data

    @property
    def password(self) -> str | None:
        if self.cleaned_data["access"] == self.PASSWORD:
            return self.cleaned_data["password1"]
        return None


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=100)


class CodeForm(forms.Form):
    """A 6-digit code from an authenticator app; full-width digits and spaces are fine."""

    code = forms.CharField(
        label=_("6-digit code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9０-９ ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = unicodedata.normalize("NFKC", self.cleaned_data["code"]).replace(" ", "")
        if not code.isdigit() or len(code) != 6:
            raise ValidationError(_("Enter the 6 digits your app shows."))
        return code


def add_service_errors(
    form: forms.Form, exc: ValidationError, aliases: dict[str, str] | None = None
) -> None:
    """A service's refusal shown on the form: on the field it names, else above the form."""
    aliases = aliases or {}
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            name = aliases.get(name, name)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)
