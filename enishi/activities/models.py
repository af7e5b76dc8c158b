"""Touch points (the timeline) and the tasks that follow from them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Activity(models.Model):
    class Type(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        WEB_FORM = "web_form", _("Web form")
        SNS = "sns", _("SNS")
        NEWSLETTER = "newsletter", _("Newsletter")
        EVENT = "event", _("Event / webinar")
        SERVICE_VISIT = "service_visit", _("Service visit")
        NOTE = "note", _("Note")
        HANDOVER = "handover", _("Handover")

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="activities",
    )
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.CALL)
    direction = models.CharField(
        _("direction"), max_length=3, blank=True, default="", choices=Direction.choices
    )
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="activities",
    )
    attendees = models.CharField(_("attendees"), max_length=300, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")
    body = models.TextField(_("what was said"), blank=True, default="")
    outcome = models.CharField(_("outcome"), max_length=200, blank=True, default="")
    next_action = models.CharField(_("next action"), max_length=200, blank=True, default="")
    next_action_due = models.DateField(_("next action due"), null=True, blank=True)
    # What the touch point was about, when it belongs to one (shown on both sides).
    deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("inquiry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    order = models.ForeignKey(
        "sales.Order",
        verbose_name=pgettext_lazy("purchase", "order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            # The karte's timeline: newest first, paged by keyset.
            models.Index(fields=["customer", "-occurred_at", "-id"], name="activity_timeline_idx"),
            models.Index(fields=["staff", "-occurred_at"], name="activity_staff_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or self.get_type_display()


class Task(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    activity = models.ForeignKey(
        Activity,
        verbose_name=_("from activity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("inquiry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    # Renewal reminders: made by sales.services.renewal_tasks_create, one per renewal date.
    contract = models.ForeignKey(
        "sales.Contract",
        verbose_name=_("contract"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    title = models.CharField(pgettext_lazy("task", "title"), max_length=200)
    due_on = models.DateField(_("due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_on"], name="task_assignee_idx"),
            models.Index(fields=["customer", "done_at", "due_on"], name="task_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return not self.is_done and self.due_on is not None and self.due_on < timezone.localdate()


class CalendarFeed(models.Model):
    """A user's private iCalendar subscription. Only a hash of the URL's secret is stored; a
    revoked feed answers 404 and a new one gets a new secret."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"calendar feed {self.pk} of user {self.user_id}"
