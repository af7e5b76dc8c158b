"""Forms turn what people type into typed values; the deal rules live in services."""

import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from enishi.customers.forms import JapaneseDateField
from enishi.deals import selectors
from enishi.deals.models import Deal, Stage
from enishi.deals.services import CURRENCIES


class AmountField(forms.CharField):
    """Accepts 1200000, 1,200,000, ¥1,200,000, 1200000円 and full-width digits; gives Decimal.
    Whether the amount is allowed (sign, size, decimals per currency) is the service's rule."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value: Any):
        text = unicodedata.normalize("NFKC", super().to_python(value) or "")
        text = text.replace(",", "").replace("¥", "").replace("円", "").replace(" ", "")
        if not text:
            return None
        if len(text) > 40:
            raise forms.ValidationError(_("Enter an amount such as 1200000."), code="invalid")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(
                _("Enter an amount such as 1200000."), code="invalid"
            ) from None
        if not amount.is_finite():
            raise forms.ValidationError(_("Enter an amount such as 1200000."), code="invalid")
        return amount


def _max(name: str) -> int:
    return Deal._meta.get_field(name).max_length


class DealForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=_max("title"))
    stage = forms.TypedChoiceField(label=_("Stage"), coerce=int, empty_value=None)
    amount = AmountField(label=_("Amount"), required=False)
    currency = forms.ChoiceField(
        label=_("Currency"), choices=[(c, c) for c in CURRENCIES], initial="JPY"
    )
    probability = forms.IntegerField(
        label=_("Probability (%)"),
        required=False,
        help_text=_("Leave empty to use the stage's default."),
        widget=forms.NumberInput(attrs={"min": 0, "max": 100, "step": 1}),
    )
    expected_close_on = JapaneseDateField(label=_("Expected close"), required=False)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=selectors.owner_choices())
    contacts = forms.ModelMultipleChoiceField(
        label=_("Contact persons"),
        queryset=selectors.owner_choices().none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    competitors = forms.CharField(
        label=_("Competitors"), max_length=_max("competitors"), required=False
    )
    decision_process = forms.CharField(
        label=_("Decision process and key persons"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_action = forms.CharField(
        label=_("Next action"),
        max_length=_max("next_action"),
        required=False,
        help_text=_("Becomes a task on the karte."),
    )
    next_action_due = JapaneseDateField(label=_("Next action due"), required=False)
    lost_reason = forms.CharField(
        label=_("Lost reason"), max_length=_max("lost_reason"), required=False
    )

    def __init__(self, *args, user, customer, deal: Deal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.deal = deal
        contacts = selectors.contact_choices(user, customer)
        self.fields["contacts"].queryset = contacts
        if not customer.is_company:
            del self.fields["contacts"]
        if deal is None:
            self.fields["stage"].choices = [("", "—")] + [
                (pipeline.name, [(s.pk, s.name) for s in stages])
                for pipeline, stages in selectors.stage_choices()
            ]
            del self.fields["lost_reason"]
        else:
            # The stage changes by moving the deal (kept in its stage history), not here.
            del self.fields["stage"]
            if deal.stage.outcome != Stage.Outcome.LOST:
                del self.fields["lost_reason"]

    def stage_object(self) -> Stage | None:
        return selectors.stage_get(self.cleaned_data.get("stage"))

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "stage"}
        if data.get("amount") is None:
            data["amount"] = Decimal(0)
        if data.get("probability") is None and self.deal is not None:
            data["probability"] = self.deal.stage.probability
        if "contacts" in data:
            data["contacts"] = list(data["contacts"])
        for name in ("competitors", "decision_process", "next_action", "lost_reason", "title"):
            if name in data and data[name] is None:
                data[name] = ""
        return data


class MoveForm(forms.Form):
    """Moving a deal without JavaScript: the stage and, for a lost stage, the reason."""

    stage = forms.TypedChoiceField(label=_("Move to"), coerce=int, widget=forms.RadioSelect)
    lost_reason = forms.CharField(
        label=_("Lost reason"),
        max_length=_max("lost_reason"),
        required=False,
        help_text=_("Needed when the deal is lost."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, deal: Deal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [
            (s.pk, s.name)
            for s in deal.pipeline.stages.order_by("position", "id")
            if s.is_active or s.pk == deal.stage_id
        ]


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)


class StageRowForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    probability = forms.IntegerField(
        label=_("Probability (%)"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": 100, "step": 1}),
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Stage.Outcome.choices)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    position = forms.IntegerField(
        label=_("Order"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "step": 1, "class": "narrow-number"}),
    )
    delete = forms.BooleanField(label=_("Delete"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The rows sit in a table under column headings: each input still says what it is.
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", field.label)

    def clean(self):
        cleaned = super().clean()
        filled = cleaned.get("id") or cleaned.get("name")
        if filled and not cleaned.get("delete"):
            if not cleaned.get("name"):
                self.add_error("name", _("Enter a name."))
            probability = cleaned.get("probability")
            if probability is None:
                self.add_error("probability", _("Enter a probability from 0 to 100."))
            elif not 0 <= probability <= 100:
                self.add_error("probability", _("The probability is a percentage from 0 to 100."))
        cleaned["filled"] = bool(filled)
        return cleaned


StageRowFormSet = forms.formset_factory(StageRowForm, extra=2, max_num=50, absolute_max=60)
