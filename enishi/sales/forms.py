"""Forms turn what people type into typed values (full-width digits, 1,200 and ¥ included);
the rules themselves live in the services."""

import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from enishi.accounts.models import User
from enishi.customers.forms import JapaneseDateField
from enishi.sales.models import Contract, Order, Product, TaxRate

# Short labels: a line's row is narrow on a phone (※ marks the reduced rate, as on invoices).
RATE_CHOICES = [("", _("As product")), ("10", "10%"), ("8", "8% ※"), ("0", "0%")]


class AmountField(forms.Field):
    """A number as people type it: "１，２００", "¥1,200", "1200円" → Decimal("1200")."""

    widget = forms.TextInput
    MAX_LENGTH = 40

    def widget_attrs(self, widget):
        return {
            **super().widget_attrs(widget),
            "inputmode": "decimal",
            "autocomplete": "off",
            "maxlength": str(self.MAX_LENGTH),
        }

    def to_python(self, value: Any) -> Decimal | None:
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        text = unicodedata.normalize("NFKC", text)[: self.MAX_LENGTH + 1]
        for noise in (",", "¥", "￥", "円", " ", "\\"):
            text = text.replace(noise, "")
        text = text.replace("−", "-").replace("ー", "-")
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            raise forms.ValidationError(
                _("Enter a number, such as 1200."), code="invalid"
            ) from None
        if not number.is_finite() or len(text) > self.MAX_LENGTH:
            raise forms.ValidationError(_("Enter a number, such as 1200."), code="invalid")
        return number


def _users():
    return User.objects.filter(is_active=True).order_by("username")


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.label


class ProductField(forms.ChoiceField):
    """A product from a list read once (one query for all the rows of an order form)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, choices=[("", "—")], **kwargs)
        self.products: dict[str, Product] = {}

    def set_products(self, products: list[Product]) -> None:
        self.products = {str(p.pk): p for p in products}
        self.choices = [("", "—")] + [(str(p.pk), self.label_of(p)) for p in products]

    @staticmethod
    def label_of(product: Product) -> str:
        label = f"{product.code} {product.name}"
        discontinued = _("discontinued")
        return label if product.is_active else f"{label} ({discontinued})"

    def to_python(self, value: Any) -> Product | None:
        if value in self.empty_values:
            return None
        product = self.products.get(str(value))
        if product is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return product

    def validate(self, value: Product | None) -> None:
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class ProductForm(forms.Form):
    code = forms.CharField(label=_("Product code"), max_length=50)
    name = forms.CharField(label=_("Name"), max_length=200)
    category = forms.CharField(label=_("Category"), max_length=100, required=False)
    unit_price = AmountField(label=_("Unit price (before tax, yen)"))
    tax_rate = forms.TypedChoiceField(
        label=_("Tax rate"), choices=TaxRate.choices, coerce=int, initial=TaxRate.STANDARD
    )
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)


class OrderForm(forms.Form):
    number = forms.CharField(
        label=_("Order number"),
        max_length=30,
        required=False,
        help_text=_("Leave empty to number it automatically (O-2026-000123)."),
    )
    ordered_on = JapaneseDateField(label=_("Order date"))
    delivered_on = JapaneseDateField(label=_("Delivery date"), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=Order.Status.choices)
    owner = OwnerField(label=_("Owner"), queryset=User.objects.none(), required=False)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _users()

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


LINE_FIELDS = ("product", "description", "unit_price", "quantity", "discount", "tax_rate")


class OrderLineForm(forms.Form):
    product = ProductField(label=_("Product"), required=False)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    unit_price = AmountField(label=_("Unit price"), required=False)
    quantity = AmountField(label=_("Quantity"), required=False)
    discount = AmountField(label=_("Discount (yen)"), required=False)
    tax_rate = forms.ChoiceField(label=_("Tax rate"), choices=RATE_CHOICES, required=False)

    def __init__(self, *args, products: list[Product], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].set_products(products)

    def service_line(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "product": data.get("product"),
            "description": data.get("description", ""),
            "unit_price": data.get("unit_price"),
            "quantity": data.get("quantity"),
            "discount": data.get("discount"),
            "tax_rate": data.get("tax_rate") or None,
        }


def line_is_blank(values: dict[str, str]) -> bool:
    """A row nobody filled in (quantity 1 and discount 0 are what a blank row shows)."""
    return (
        not any(
            (values.get(name) or "").strip() for name in ("product", "description", "unit_price")
        )
        and (values.get("quantity") or "1").strip() in ("", "1")
        and (values.get("discount") or "0").strip() in ("", "0")
    )


class ContractForm(forms.Form):
    product = ProductField(label=_("Product"), required=False)
    plan = forms.CharField(
        label=_("Plan"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to use the product's name."),
    )
    starts_on = JapaneseDateField(label=_("Start"))
    ends_on = JapaneseDateField(label=_("End"), required=False)
    renews_on = JapaneseDateField(label=_("Renewal date"), required=False)
    auto_renew = forms.BooleanField(label=_("Renews automatically"), required=False)
    amount = AmountField(label=_("Amount per period (yen)"), required=False)
    period = forms.ChoiceField(
        label=_("Period"), choices=Contract.Period.choices, initial=Contract.Period.YEAR
    )
    owner = OwnerField(label=_("Owner"), queryset=User.objects.none(), required=False)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, products: list[Product], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _users()
        self.fields["product"].set_products(products)

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ContractCancelForm(forms.Form):
    cancelled_on = JapaneseDateField(label=_("Cancellation date"))
    cancellation_reason = forms.CharField(
        label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
