"""The merge form: one radio group per field whose values differ, "keep both" for phones and
e-mails, and the version of every karte as read (a stale one is refused, never overwritten)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from enishi.customers.models import Customer
from enishi.quality.merge import BOTH, KEEP_EMAILS, KEEP_PHONES
from enishi.quality.selectors import CompareRow

PICK = "pick_"


def choosable(row: CompareRow) -> bool:
    """Rows where a choice makes a difference (tags are always united)."""
    return row.differs and row.key != "tags"


class MergeForm(forms.Form):
    keep_phones = forms.BooleanField(
        label=_("Keep every phone number (a second one goes to the free field, or to the notes)"),
        required=False,
    )
    keep_emails = forms.BooleanField(
        label=_("Keep every e-mail address (a second one goes to the free field, or to the notes)"),
        required=False,
    )

    def __init__(self, data=None, *, kartes: list[Customer], rows: list[CompareRow], **kwargs):
        super().__init__(data, **kwargs)
        self.kartes = kartes
        self.rows = [row for row in rows if choosable(row)]
        for customer in kartes:
            self.fields[f"version_{customer.pk}"] = forms.IntegerField(
                widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1
            )
        for row in self.rows:
            choices = [
                (str(pk), cell or _("(empty)")) for pk, cell in zip(row.ids, row.cells, strict=True)
            ]
            if row.combinable:
                choices.append((BOTH, _("Keep both")))
            self.fields[PICK + row.key] = forms.ChoiceField(
                label=row.label, choices=choices, required=False, widget=forms.RadioSelect
            )

    def choices(self) -> dict[str, Any]:
        """The choices in the shape `customer_merge` takes."""
        picked: dict[str, Any] = {
            KEEP_PHONES: bool(self.cleaned_data.get("keep_phones")),
            KEEP_EMAILS: bool(self.cleaned_data.get("keep_emails")),
        }
        for row in self.rows:
            value = self.cleaned_data.get(PICK + row.key)
            if value:
                picked[row.key] = value if value == BOTH else int(value)
        return picked

    def versions(self) -> dict[int, int]:
        return {c.pk: self.cleaned_data[f"version_{c.pk}"] for c in self.kartes}

    def radios(self, row: CompareRow) -> list:
        """The radio buttons of a row, one per karte column (and "keep both")."""
        name = PICK + row.key
        if name not in self.fields:
            return []
        return list(self[name])
