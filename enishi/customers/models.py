"""The karte: one Customer row per company or person, plus tags and extra field definitions.

What the user typed is stored for display; the normalised keys beside it (`*_key`, `*_e164`,
`search_text`) are derived on every save by `customers.services` through `quality`.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from enishi.core.later import reads_japanese


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=20, default="gray")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PERSON = "person", _("Person")

    class Status(models.TextChoices):
        LEAD = "lead", _("Lead")
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", pgettext_lazy("status", "Customer")
        DORMANT = "dormant", _("Dormant")
        LOST = "lost", _("Lost")

    class Rank(models.TextChoices):
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"
        D = "D", "D"

    class Channel(models.TextChoices):
        WEB = "web", _("Website")
        REFERRAL = "referral", _("Referral")
        EVENT = "event", _("Event / exhibition")
        AD = "ad", _("Advertising")
        PHONE = "phone", _("Phone inquiry")
        WALK_IN = "walk_in", _("Walk-in")
        DM = "dm", _("Direct mail")
        SNS = "sns", _("SNS")
        SALES = "sales", _("Outbound sales")
        OTHER = "other", _("Other")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class LegalFormPosition(models.TextChoices):
        BEFORE = "before", _("Before the name (前株)")
        AFTER = "after", _("After the name (後株)")

    CONTACT_CHANNELS = ("email", "phone", "post", "sns")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    code = models.CharField(_("customer code"), max_length=40, blank=True, default="")

    # --- names ---
    name = models.CharField(_("name"), max_length=200)
    family_name = models.CharField(_("family name"), max_length=100, blank=True, default="")
    given_name = models.CharField(_("given name"), max_length=100, blank=True, default="")
    name_kana = models.CharField(_("kana reading"), max_length=200, blank=True, default="")
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True, default="")
    legal_form = models.CharField(_("legal form"), max_length=30, blank=True, default="")
    legal_form_position = models.CharField(
        _("legal form position"),
        max_length=10,
        blank=True,
        default="",
        choices=LegalFormPosition.choices,
    )
    name_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    # kana_key orders kartes by reading (五十音); reading_key finds them by reading, long vowels
    # folded (サトウ = サトー). NULL without a reading, so its index holds only kartes with one.
    kana_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    reading_key = models.CharField(max_length=200, null=True, blank=True, editable=False)  # noqa: DJ001

    # --- company facts ---
    corporate_number = models.CharField(
        _("corporate number"), max_length=13, blank=True, default=""
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True, default="")
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    founded_on = models.DateField(_("founded"), null=True, blank=True)
    fiscal_month = models.PositiveSmallIntegerField(
        _("fiscal year-end month"),
        null=True,
        blank=True,
        choices=[(m, m) for m in range(1, 13)],
    )
    website = models.URLField(_("website"), max_length=300, blank=True, default="")
    sns = models.CharField(_("SNS"), max_length=300, blank=True, default="")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subsidiaries",
        limit_choices_to={"kind": "company"},
    )

    # --- a person at a company ---
    company = models.ForeignKey(
        "self",
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        limit_choices_to={"kind": "company"},
    )
    department = models.CharField(_("department"), max_length=100, blank=True, default="")
    title = models.CharField(_("title"), max_length=100, blank=True, default="")
    is_key_person = models.BooleanField(_("key person"), default=False)
    is_decision_maker = models.BooleanField(_("decision maker"), default=False)

    # --- contact ---
    postal_code = models.CharField(_("postal code"), max_length=8, blank=True, default="")
    prefecture = models.CharField(_("prefecture"), max_length=10, blank=True, default="")
    city = models.CharField(_("city"), max_length=100, blank=True, default="")
    town = models.CharField(_("town"), max_length=100, blank=True, default="")
    street = models.CharField(_("street address"), max_length=200, blank=True, default="")
    building = models.CharField(_("building"), max_length=200, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=40, blank=True, default="")
    phone_e164 = models.CharField(max_length=20, blank=True, default="", editable=False)
    mobile = models.CharField(_("mobile phone"), max_length=40, blank=True, default="")
    mobile_e164 = models.CharField(max_length=20, blank=True, default="", editable=False)
    fax = models.CharField(_("fax"), max_length=40, blank=True, default="")
    fax_e164 = models.CharField(max_length=20, blank=True, default="", editable=False)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True, default="")
    email_alt = models.EmailField(_("second e-mail"), max_length=254, blank=True, default="")
    email_key = models.CharField(max_length=254, blank=True, default="", editable=False)
    # NULL, not "", when there is no second e-mail: its index then holds only the few kartes
    # that have one (a partial index any `=` or `IN` on the column can use).
    email_alt_key = models.CharField(max_length=254, null=True, blank=True, editable=False)  # noqa: DJ001

    # --- person facts ---
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    gender = models.CharField(
        _("gender"), max_length=10, blank=True, default="", choices=Gender.choices
    )

    # --- relationship ---
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_customers",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.LEAD
    )
    rank = models.CharField(_("rank"), max_length=2, blank=True, default="", choices=Rank.choices)
    acquisition_channel = models.CharField(
        _("acquisition channel"),
        max_length=20,
        blank=True,
        default="",
        choices=Channel.choices,
    )
    contact_permissions = models.JSONField(_("contact permission"), default=dict, blank=True)
    payment_terms = models.CharField(_("payment terms"), max_length=100, blank=True, default="")
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    needs = models.TextField(_("needs & issues"), blank=True, default="")
    preferences = models.TextField(_("preferences"), blank=True, default="")
    notes = models.TextField(_("notes"), blank=True, default="")
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)

    # --- bookkeeping ---
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("updated by"),
    )
    last_confirmed_at = models.DateTimeField(_("last confirmed"), null=True, blank=True)
    # Optimistic locking: a write names the version it read; a stale one is refused.
    version = models.PositiveIntegerField(default=1, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Search documents, kept in sync with the FTS index by database triggers (see migrations).
    search_text = models.TextField(blank=True, default="", editable=False)
    search_bigrams = models.TextField(blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="customer_code_unique"
            ),
        ]
        indexes = [
            # The list's default order and its filters on large tables.
            models.Index(fields=["-updated_at", "-id"], name="customer_updated_idx"),
            models.Index(fields=["kana_key", "id"], name="customer_kana_idx"),
            models.Index(fields=["kind", "-updated_at"], name="customer_kind_idx"),
            models.Index(fields=["status", "-updated_at"], name="customer_status_idx"),
            models.Index(fields=["rank", "-updated_at"], name="customer_rank_idx"),
            models.Index(fields=["owner", "-updated_at"], name="customer_owner_idx"),
            models.Index(fields=["owner", "kana_key", "id"], name="customer_owner_kana_idx"),
            # Few companies have a parent: with statistics SQLite would otherwise scan the kana
            # index for a company's subsidiaries (3 s at 1M rows).
            models.Index(
                fields=["parent", "kana_key"],
                name="customer_subsidiary_idx",
                condition=models.Q(parent__isnull=False),
            ),
            models.Index(fields=["prefecture", "-updated_at"], name="customer_pref_idx"),
            models.Index(fields=["acquisition_channel", "-updated_at"], name="customer_chan_idx"),
            models.Index(fields=["phone_e164"], name="customer_phone_idx"),
            models.Index(fields=["mobile_e164"], name="customer_mobile_idx"),
            models.Index(fields=["email_key"], name="customer_email_idx"),
            models.Index(
                fields=["email_alt_key"],
                name="customer_email_alt_idx",
                condition=models.Q(email_alt_key__isnull=False),
            ),
            models.Index(fields=["name_key"], name="customer_namekey_idx"),
            models.Index(
                fields=["reading_key"],
                name="customer_reading_idx",
                condition=models.Q(reading_key__isnull=False),
            ),
            models.Index(fields=["corporate_number"], name="customer_corpno_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    @property
    def is_company(self) -> bool:
        return self.kind == self.Kind.COMPANY

    @property
    def formal_honorific(self) -> str:
        """様 for a person, 御中 for an organisation: how the customer is addressed on paper,
        whatever language the printout's labels are in."""
        return "御中" if self.is_company else "様"

    @property
    def honorific(self) -> str:
        """The honorific on screen: nothing for someone reading in another language, to whom
        it is untranslatable noise."""
        if not reads_japanese():
            return ""
        return self.formal_honorific

    @property
    def address(self) -> str:
        return "".join(p for p in (self.prefecture, self.city, self.town, self.street) if p) + (
            f" {self.building}" if self.building else ""
        )

    def allows(self, channel: str) -> bool | None:
        value = (self.contact_permissions or {}).get(channel)
        return value if isinstance(value, bool) else None


class FieldDefinition(models.Model):
    """One row of the 項目定義シート: an extra field every karte of a kind can carry."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        LONG_TEXT = "long_text", _("Long text")
        NUMBER = "number", _("Number")
        MONEY = "money", _("Money (yen)")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")
        MULTI_CHOICE = "multi_choice", _("Multiple choice")
        BOOLEAN = "boolean", _("Yes / no")
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        URL = "url", _("URL")

    class AppliesTo(models.TextChoices):
        ALL = "all", _("Companies and persons")
        COMPANY = "company", _("Companies only")
        PERSON = "person", _("Persons only")

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label_ja = models.CharField(_("label (Japanese)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100, blank=True, default="")
    definition = models.TextField(_("definition (shown as help)"), blank=True, default="")
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.TEXT)
    required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    applies_to = models.CharField(
        _("applies to"), max_length=10, choices=AppliesTo.choices, default=AppliesTo.ALL
    )
    sensitive = models.BooleanField(_("sensitive (要配慮個人情報)"), default=False)
    position = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    preset = models.CharField(max_length=30, blank=True, default="", editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("field definition")
        verbose_name_plural = _("field definitions")

    def __str__(self) -> str:
        return self.label_ja

    @property
    def label(self) -> str:
        """The label in the active language (Japanese when no English one is given)."""
        if get_language() == "en" and self.label_en:
            return self.label_en
        return self.label_ja

    def applies(self, kind: str) -> bool:
        return self.applies_to in (self.AppliesTo.ALL, kind)
