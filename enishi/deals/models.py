"""Deals (商談) in pipelines whose stages an admin configures; every stage move is kept."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

PERCENT = [MaxValueValidator(100)]


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("default probability (%)"), default=0, validators=PERCENT
    )
    outcome = models.CharField(
        _("outcome"), max_length=4, choices=Outcome.choices, default=Outcome.OPEN
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.outcome != self.Outcome.OPEN


class Deal(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="deals",
    )
    # Contact persons at the customer (key persons, decision makers) taking part in the deal.
    contacts = models.ManyToManyField(
        "customers.Customer", verbose_name=_("contact persons"), blank=True, related_name="+"
    )
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT)
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals"
    )
    title = models.CharField(pgettext_lazy("deal", "title"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=0, validators=PERCENT
    )
    expected_close_on = models.DateField(_("expected close"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deals",
    )
    competitors = models.CharField(_("competitors"), max_length=300, blank=True, default="")
    decision_process = models.TextField(
        _("decision process and key persons"), blank=True, default=""
    )
    next_action = models.CharField(_("next action"), max_length=200, blank=True, default="")
    next_action_due = models.DateField(_("next action due"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=300, blank=True, default="")
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
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
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="deal_customer_idx"),
            # The board: open deals of a pipeline, column by column.
            models.Index(fields=["pipeline", "stage", "deleted_at"], name="deal_board_idx"),
            models.Index(fields=["owner", "expected_close_on"], name="deal_owner_idx"),
            models.Index(fields=["expected_close_on"], name="deal_close_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("deals:detail", args=[self.pk])

    @property
    def weighted_amount(self):
        return self.amount * self.probability / 100


class DealStageChange(models.Model):
    """One move of a deal between stages: conversion and time-in-stage are measured from these."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # How long the deal stayed in `to_stage`: set by the next move, so that the average time in
    # a stage is a plain AVG (no pairing of consecutive rows at report time).
    duration = models.DurationField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["deal", "changed_at"], name="deal_stage_change_idx"),
            # Conversion (the furthest stage each deal reached) and time in stage, read from
            # the index alone.
            models.Index(fields=["deal", "to_stage", "duration"], name="deal_stage_reached_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"
