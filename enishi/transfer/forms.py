from __future__ import annotations

from django import forms
from django.http import QueryDict
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from enishi.customers.models import Customer
from enishi.customers.selectors import SORTS, CustomerFilters
from enishi.quality.prefectures import PREFECTURES
from enishi.transfer.export import Column
from enishi.transfer.models import Export


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def filters_from_query(g: QueryDict) -> CustomerFilters:
    """The customer list's filters, read exactly as the list reads them (customers.views)."""
    return CustomerFilters(
        kind=g.get("kind", "") if g.get("kind") in Customer.Kind.values else "",
        status=g.get("status", "") if g.get("status") in Customer.Status.values else "",
        rank=g.get("rank", "") if g.get("rank") in Customer.Rank.values else "",
        owner=_int_or_none(g.get("owner")),
        tag=_int_or_none(g.get("tag")),
        prefecture=g.get("prefecture", "") if g.get("prefecture") in PREFECTURES else "",
        channel=g.get("channel", "") if g.get("channel") in Customer.Channel.values else "",
        q=g.get("q", "")[:100],
        sort=g.get("sort", "updated") if g.get("sort") in SORTS else "updated",
    )


def filters_to_query(filters: CustomerFilters) -> str:
    """The filters as a query string, to carry them from page to page."""
    params = dict(filters.active())
    if filters.sort != "updated":
        params["sort"] = filters.sort
    return urlencode(params)


# The formats of a customer list (the zip is the full-data export's).
CUSTOMER_FORMATS = (Export.Format.XLSX, Export.Format.CSV_UTF8, Export.Format.CSV_CP932)


class ExportForm(forms.Form):
    FORMATS = CUSTOMER_FORMATS

    format = forms.ChoiceField(
        label=_("File format"),
        choices=[(v, label) for v, label in Export.Format.choices if v in CUSTOMER_FORMATS],
        widget=forms.RadioSelect,
    )
    columns = forms.MultipleChoiceField(label=_("Columns"), widget=forms.CheckboxSelectMultiple)
    unencodable = forms.ChoiceField(
        choices=[("refuse", "refuse"), ("replace", "replace")],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, columns: list[Column], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = [(column.key, column.label) for column in columns]
        self.fields["columns"].error_messages["required"] = _("Choose at least one column.")
