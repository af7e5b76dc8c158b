"""Forms of the inquiry screens. They parse what was typed; the rules live in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from enishi.inquiries import selectors
from enishi.inquiries.models import Inquiry
from enishi.inquiries.services import CATEGORY_NAME_MAX, SUBJECT_MAX, TEXT_MAX

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
SATISFACTION_CHOICES = [("", "—")] + [(str(n), str(n)) for n in range(1, 6)]


class UserChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", "—")
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        return obj.label


def _category_field(keep_id: int | None = None) -> forms.ModelChoiceField:
    # Retired categories are not offered, except the one the inquiry already has.
    return forms.ModelChoiceField(
        label=_("Category"),
        queryset=selectors.categories_active(keep_id=keep_id),
        required=False,
        empty_label="—",
    )


class InquiryForm(forms.Form):
    """New inquiry, and the full edit form (with status and satisfaction)."""

    received_at = forms.DateTimeField(
        label=_("Received at"),
        required=False,
        help_text=_("Leave empty to use the current time."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=DATETIME_FORMATS,
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Inquiry.Channel.choices, initial=Inquiry.Channel.PHONE
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    content = forms.CharField(
        label=_("Content"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    assignee = UserChoiceField(
        label=_("Assignee"), queryset=selectors.assignable_users(), required=False
    )

    def __init__(self, *args, inquiry: Inquiry | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.inquiry = inquiry
        self.fields["category"] = _category_field(inquiry.category_id if inquiry else None)
        self.order_fields(["received_at", "channel", "category", "subject", "content"])
        if inquiry is not None:
            self.fields["received_at"].required = True
            self.fields["received_at"].help_text = ""
            self.fields["status"] = forms.ChoiceField(
                label=_("Status"), choices=Inquiry.Status.choices
            )
            self.fields["satisfaction"] = forms.TypedChoiceField(
                label=_("Satisfaction (1–5)"),
                choices=SATISFACTION_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
                help_text=_("Once the inquiry is resolved or closed."),
            )
            self.fields["assignee"].queryset = selectors.assignable_users(
                keep_id=inquiry.assignee_id
            )

    def clean_received_at(self):
        # The form shows minutes; an unchanged minute keeps the stored seconds (no false change).
        value = self.cleaned_data["received_at"]
        stored = self.inquiry.received_at if self.inquiry else None
        if stored and value == stored.replace(second=0, microsecond=0):
            return stored
        return value

    @classmethod
    def initial_for(cls, inquiry: Inquiry) -> dict:
        return {
            "received_at": inquiry.received_at,
            "channel": inquiry.channel,
            "category": inquiry.category,
            "subject": inquiry.subject,
            "content": inquiry.content,
            "assignee": inquiry.assignee,
            "status": inquiry.status,
            "satisfaction": inquiry.satisfaction,
        }


class AnswerForm(forms.Form):
    body = forms.CharField(
        label=_("Answer"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    is_internal = forms.BooleanField(
        label=_("Internal note (not an answer to the customer)"), required=False
    )
    status = forms.ChoiceField(
        label=_("Then set the status to"),
        required=False,
        choices=[("", _("(automatic)"))]
        + [(v, label) for v, label in Inquiry.Status.choices if v != Inquiry.Status.NEW],
        help_text=_("Automatic: a new inquiry becomes “in progress” with its first answer."),
    )


class ChangeForm(forms.Form):
    """The quick status / assignee / satisfaction form beside the thread."""

    status = forms.ChoiceField(label=_("Status"), choices=Inquiry.Status.choices)
    assignee = UserChoiceField(
        label=_("Assignee"), queryset=selectors.assignable_users(), required=False
    )
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction (1–5)"),
        choices=SATISFACTION_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args, inquiry: Inquiry, **kwargs):
        # Its own ids: the answer form on the same page also has a status field.
        kwargs.setdefault("auto_id", "change_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = selectors.assignable_users(keep_id=inquiry.assignee_id)


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=CATEGORY_NAME_MAX)
    position = forms.IntegerField(label=_("Order"), min_value=0, max_value=32767, initial=0)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
