from django import forms
from django.utils.translation import gettext_lazy as _

from enishi.activities.models import Activity
from enishi.customers.forms import JapaneseDateField

# The types people log by hand (handover entries are written by the handover service).
LOGGABLE_TYPES = [(v, label) for v, label in Activity.Type.choices if v != Activity.Type.HANDOVER]


class ActivityForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Type"),
        choices=LOGGABLE_TYPES,
        initial=Activity.Type.CALL,
        widget=forms.RadioSelect,
    )
    direction = forms.ChoiceField(
        label=_("Direction"), choices=[("", "—")] + Activity.Direction.choices, required=False
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty to use the current time."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"],
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("What was said"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)
    about = forms.CharField(
        label=_("About"),
        required=False,
        max_length=40,
        widget=forms.Select(choices=[("", "—")]),
    )
    next_action = forms.CharField(label=_("Next action"), max_length=200, required=False)
    next_action_due = JapaneseDateField(
        label=_("Due"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, about_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        # What the activity may be about: the karte's open deals and inquiries, recent orders.
        self.fields["about"].widget.choices = [("", "—"), *(about_choices or [])]
        if not about_choices:
            self.fields["about"].widget = forms.HiddenInput()

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(k) for k in ("subject", "body", "outcome", "next_action")):
            raise forms.ValidationError(
                _("Write at least a subject, what was said, an outcome or a next action.")
            )
        if cleaned.get("next_action_due") and not cleaned.get("next_action"):
            self.add_error("next_action", _("Say what the next action is, or clear its date."))
        return cleaned
