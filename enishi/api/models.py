"""Personal access tokens for the API.

A token is shown once when it is made; only its SHA-256 hash is stored, beside a short prefix
that lets people tell their tokens apart and lets the API find the row without a scan.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    class Scopes(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "read write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=8, unique=True, editable=False)
    # SHA-256 of the whole token: tokens are long random strings, so a fast hash is enough.
    token_hash = models.CharField(max_length=64, editable=False)
    scopes = models.CharField(_("scopes"), max_length=20, choices=Scopes.choices)
    expires_at = models.DateTimeField(_("expires"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def can_write(self) -> bool:
        return "write" in self.scopes.split()

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"
