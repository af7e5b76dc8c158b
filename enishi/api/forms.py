import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enishi.api.models import ApiToken
from enishi.core.permissions import can_write

EXPIRY_CHOICES = [
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("365", _("1 year")),
    ("date", _("Until a date")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What will use the token, e.g. “Accounting sync”."),
    )
    scopes = forms.ChoiceField(
        label=_("Access"),
        choices=ApiToken.Scopes.choices,
        initial=ApiToken.Scopes.READ,
        widget=forms.RadioSelect,
    )
    expiry = forms.ChoiceField(
        label=_("Expires"), choices=EXPIRY_CHOICES, initial="90", widget=forms.RadioSelect
    )
    expires_on = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("With “Until a date”: the token works until the end of that day."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_write(user):
            self.fields["scopes"].choices = [(ApiToken.Scopes.READ, ApiToken.Scopes.READ.label)]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("expiry") == "date" and not cleaned.get("expires_on"):
            self.add_error("expires_on", _("Choose the date."))
        return cleaned

    def expires_at(self) -> datetime.datetime:
        if self.cleaned_data["expiry"] == "date":
            day = self.cleaned_data["expires_on"] + datetime.timedelta(days=1)
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        return timezone.now() + datetime.timedelta(days=int(self.cleaned_data["expiry"]))
