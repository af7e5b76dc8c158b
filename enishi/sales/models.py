"""Products, orders (with lines and Japanese consumption tax) and contracts with renewals.

Money is Decimal, never float: unit prices may carry sen (2 places); line amounts, tax and
order totals are whole yen, rounded by the rule in settings (ENISHI_TAX_ROUNDING).
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

MONEY = {"max_digits": 14, "decimal_places": 2}
YEN = {"max_digits": 14, "decimal_places": 0}


class TaxRate(models.IntegerChoices):
    STANDARD = 10, _("10% (standard)")
    REDUCED = 8, _("8% (reduced)")
    EXEMPT = 0, _("0% (not taxable)")


class Product(models.Model):
    code = models.CharField(_("product code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    unit_price = models.DecimalField(_("unit price (before tax)"), **MONEY, default=0)
    tax_rate = models.PositiveSmallIntegerField(
        _("tax rate"), choices=TaxRate.choices, default=TaxRate.STANDARD
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Order(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        DELIVERED = "delivered", _("Delivered")
        INVOICED = "invoiced", _("Invoiced")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="orders",
    )
    number = models.CharField(_("order number"), max_length=30, blank=True, default="")
    ordered_on = models.DateField(_("order date"))
    delivered_on = models.DateField(_("delivery date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    note = models.TextField(_("note"), blank=True, default="")
    # Computed from the lines by the service on every save (kept for lists and figures).
    # The lines as one readable text: what the change history shows before → after, and what
    # the order list's search looks in.
    lines_summary = models.TextField(_("lines"), blank=True, default="", editable=False)
    subtotal = models.DecimalField(_("subtotal"), **YEN, default=0)
    tax = models.DecimalField(_("consumption tax"), **YEN, default=0)
    total = models.DecimalField(_("total"), **YEN, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("purchase", "order")
        verbose_name_plural = pgettext_lazy("purchase", "orders")
        indexes = [
            models.Index(fields=["customer", "-ordered_on", "-id"], name="order_customer_idx"),
            models.Index(fields=["ordered_on"], name="order_date_idx"),
        ]
        constraints = [
            # Typed or given by the service (O-2026-000123); an empty number is being assigned.
            models.UniqueConstraint(
                fields=["number"], condition=~models.Q(number=""), name="order_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("sales:order_detail", args=[self.pk])


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=1)
    discount = models.DecimalField(_("discount (yen)"), **YEN, default=0)
    tax_rate = models.PositiveSmallIntegerField(
        _("tax rate"), choices=TaxRate.choices, default=TaxRate.STANDARD
    )
    amount = models.DecimalField(_("amount"), **YEN, default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description or str(self.product or "")


class Contract(models.Model):
    class Period(models.TextChoices):
        MONTH = "month", _("per month")
        QUARTER = "quarter", _("per quarter")
        YEAR = "year", _("per year")
        ONCE = "once", _("once")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="contracts",
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    plan = models.CharField(_("plan"), max_length=200)
    starts_on = models.DateField(_("start"))
    ends_on = models.DateField(_("end"), null=True, blank=True)
    renews_on = models.DateField(_("renewal date"), null=True, blank=True)
    auto_renew = models.BooleanField(_("renews automatically"), default=False)
    amount = models.DecimalField(_("amount per period"), **YEN, default=0)
    period = models.CharField(
        _("period"), max_length=8, choices=Period.choices, default=Period.YEAR
    )
    cancelled_on = models.DateField(_("cancellation date"), null=True, blank=True)
    cancellation_reason = models.CharField(
        _("cancellation reason"), max_length=300, blank=True, default=""
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    note = models.TextField(_("note"), blank=True, default="")
    # The renewal date a reminder task was made for: one task per renewal, never two.
    renewal_task_for = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        indexes = [
            models.Index(fields=["customer", "-starts_on"], name="contract_customer_idx"),
            models.Index(fields=["renews_on"], name="contract_renewal_idx"),
        ]

    def __str__(self) -> str:
        return self.plan

    def get_absolute_url(self) -> str:
        return reverse("sales:contract_detail", args=[self.pk])

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_on is not None
