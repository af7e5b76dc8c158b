"""Forms turn what people type into typed values; the rules themselves live in services."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from enishi.accounts.models import Team, User
from enishi.core.permissions import can_view_sensitive
from enishi.customers import fields as custom_fields
from enishi.customers.models import Customer, FieldDefinition
from enishi.customers.services import EDITABLE_FIELDS
from enishi.quality import normalize

PERMISSION_CHOICES = [("", _("Unknown")), ("yes", _("Allowed")), ("no", _("Not allowed"))]
PERMISSION_LABELS = {
    "email": _("E-mail"),
    "phone": _("Phone"),
    "post": _("Post (DM)"),
    "sns": _("SNS"),
}


class JapaneseDateField(forms.DateField):
    """Accepts 2024-04-01, 2024/4/1, 令和6年4月1日, R6.4.1 and full-width digits."""

    widget = forms.DateInput(
        attrs={"type": "text", "inputmode": "numeric", "placeholder": "2024-04-01 / 令和6年4月1日"}
    )

    def to_python(self, value: Any):
        if value in self.empty_values:
            return None
        if hasattr(value, "year"):
            return value
        return normalize.parse_date(str(value))


class CustomerForm(forms.ModelForm):
    website = forms.CharField(
        label=_("website"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"inputmode": "url", "placeholder": "https://"}),
    )
    tag_names = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=500,
        help_text=_("Separate tags with commas (、 or ,)."),
    )

    class Meta:
        model = Customer
        # website is a plain text field below: the service checks it with its own message.
        fields = [
            f
            for f in EDITABLE_FIELDS
            if f not in ("contact_permissions", "custom_fields", "website")
        ]
        widgets = {
            "needs": forms.Textarea(attrs={"rows": 3}),
            "preferences": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "mobile": forms.TextInput(attrs={"type": "tel"}),
            "fax": forms.TextInput(attrs={"type": "tel"}),
            "email": forms.TextInput(
                attrs={"type": "email", "inputmode": "email", "autocomplete": "email"}
            ),
            "email_alt": forms.TextInput(attrs={"type": "email", "inputmode": "email"}),
            "postal_code": forms.TextInput(
                attrs={"inputmode": "numeric", "placeholder": "123-4567", "data-postal": "1"}
            ),
            "corporate_number": forms.TextInput(attrs={"inputmode": "numeric"}),
            "kind": forms.RadioSelect,
        }
        field_classes = {"birthday": JapaneseDateField, "founded_on": JapaneseDateField}
        help_texts = {
            "name": _(
                "For a company, the name as written (株式会社… or …(株)); for a person, family name first."
            ),
            "name_kana": _("Hiragana, katakana or half-width katakana: stored as katakana."),
            "phone": _("Any format: 03-1234-5678, 0312345678, +81 3 1234 5678."),
            "postal_code": _("Fills in the prefecture, city and town."),
            "corporate_number": _("13 digits (法人番号); the check digit is verified."),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Plain text inputs: phones and e-mails are checked by our own rules with clear messages.
        for name in ("email", "email_alt"):
            self.fields[name] = forms.CharField(
                label=self.fields[name].label,
                required=False,
                max_length=self.fields[name].max_length,
                widget=self.fields[name].widget,
                help_text=self.fields[name].help_text,
            )
        from enishi.customers.selectors import companies_for_choice

        companies = companies_for_choice(user).only("id", "name")
        self.fields["company"].queryset = companies
        self.fields["parent"].queryset = companies
        self.fields["owner"].queryset = User.objects.filter(is_active=True)
        self.fields["team"].queryset = Team.objects.all()
        self.fields["kind"].choices = Customer.Kind.choices
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and field.max_length:
                field.widget.attrs.setdefault("maxlength", field.max_length)
        instance = self.instance
        perms = instance.contact_permissions if instance.pk else {}
        for channel, label in PERMISSION_LABELS.items():
            value = perms.get(channel)
            self.fields[f"perm_{channel}"] = forms.ChoiceField(
                label=label,
                choices=PERMISSION_CHOICES,
                required=False,
                initial="" if value is None else ("yes" if value else "no"),
            )
        if instance.pk:
            self.fields["website"].initial = instance.website
            self.fields["tag_names"].initial = "、".join(t.name for t in instance.tags.all())
        kind = self.data.get("kind") or instance.kind or Customer.Kind.PERSON
        self.custom_definitions = [
            d
            for d in custom_fields.active_definitions()
            if not d.sensitive or can_view_sensitive(user)
        ]
        values = instance.custom_fields if instance.pk else {}
        for definition in self.custom_definitions:
            self.fields[custom_fields.FORM_PREFIX + definition.key] = custom_form_field(
                definition,
                initial=values.get(definition.key),
                required_now=definition.applies(kind),
            )

    def _get_validation_exclusions(self):
        # Model-field validation is the service's job (one set of rules and messages for the
        # form, the API and imports); the form only turns text into typed values.
        return {f.name for f in self.instance._meta.fields}

    def validate_unique(self) -> None:
        """Uniqueness (customer code) is checked by the service."""

    def custom_field_names(self, kind: str | None = None) -> list[tuple[str, FieldDefinition]]:
        return [
            (custom_fields.FORM_PREFIX + d.key, d)
            for d in self.custom_definitions
            if kind is None or d.applies(kind)
        ]

    def service_data(self) -> dict[str, Any]:
        """The cleaned values in the shape the customer services take."""
        data = {name: self.cleaned_data.get(name) for name in [*self._meta.fields, "website"]}
        data["contact_permissions"] = {
            channel: {"yes": True, "no": False}.get(self.cleaned_data.get(f"perm_{channel}") or "")
            for channel in PERMISSION_LABELS
        }
        kind = data.get("kind") or Customer.Kind.PERSON
        data["custom_fields"] = {
            d.key: self.cleaned_data.get(custom_fields.FORM_PREFIX + d.key)
            for d in self.custom_definitions
            if d.applies(kind)
        }
        raw_tags = (self.cleaned_data.get("tag_names") or "").replace("、", ",")
        data["tags"] = [t for t in raw_tags.split(",") if t.strip()]
        return data


def custom_form_field(
    definition: FieldDefinition, *, initial: Any, required_now: bool
) -> forms.Field:
    """A form field for one definition. Its rules run in the service; this only collects text."""
    t = FieldDefinition.Type
    common = {
        "label": definition.label,
        "help_text": definition.definition,
        "required": False,  # checked by the service, which knows the customer's kind
        "initial": initial,
    }
    if definition.type == t.LONG_TEXT:
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 3}),
            max_length=custom_fields.MAX_LONG_TEXT,
            **common,
        )
    if definition.type == t.CHOICE:
        return forms.ChoiceField(
            choices=[("", "—")] + [(c, c) for c in definition.choices], **common
        )
    if definition.type == t.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in definition.choices],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if definition.type == t.BOOLEAN:
        return forms.ChoiceField(
            choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))],
            **{**common, "initial": "" if initial is None else ("yes" if initial else "no")},
        )
    attrs: dict[str, str] = {}
    if definition.type in (t.NUMBER, t.MONEY):
        attrs["inputmode"] = "decimal"
    elif definition.type == t.DATE:
        attrs["placeholder"] = "2024-04-01 / 令和6年4月1日"
    elif definition.type == t.PHONE:
        attrs["type"] = "tel"
    elif definition.type == t.EMAIL:
        attrs["inputmode"] = "email"
    if definition.required and required_now:
        attrs["aria-required"] = "true"
    return forms.CharField(
        widget=forms.TextInput(attrs=attrs), max_length=custom_fields.MAX_TEXT, **common
    )


class FieldDefinitionForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One choice per line (for choice and multiple choice)."),
    )

    class Meta:
        model = FieldDefinition
        fields = [
            "key",
            "label_ja",
            "label_en",
            "definition",
            "type",
            "required",
            "applies_to",
            "sensitive",
            "position",
            "is_active",
        ]
        widgets = {"definition": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "key": _(
                "Letters, digits, - and _; used in the API and in imports. Cannot be changed later."
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["key"].disabled = True
            self.fields["choices_text"].initial = "\n".join(self.instance.choices)

    def clean(self):
        cleaned = super().clean()
        lines = [
            normalize.collapse_spaces(x) for x in (cleaned.get("choices_text") or "").splitlines()
        ]
        choices = list(dict.fromkeys(x for x in lines if x))
        kind = cleaned.get("type")
        if kind in (FieldDefinition.Type.CHOICE, FieldDefinition.Type.MULTI_CHOICE) and not choices:
            self.add_error("choices_text", _("Give at least one choice."))
        cleaned["choices"] = (
            choices
            if kind in (FieldDefinition.Type.CHOICE, FieldDefinition.Type.MULTI_CHOICE)
            else []
        )
        return cleaned

    def save(self, commit: bool = True):
        self.instance.choices = self.cleaned_data["choices"]
        return super().save(commit)
