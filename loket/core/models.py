"""Small shared tables: named counters, leases and the site settings."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Counter(models.Model):
    """A named sequence advanced with a conditional UPDATE (gap-free under concurrency)."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Lease(models.Model):
    """A time-limited claim on a role (the scheduler's leadership), taken by conditional UPDATE."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or '-'}"


class SiteSettings(models.Model):
    """The install's general settings, edited by admins (one row; read through core.site)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    business_name = models.CharField(_("business name"), max_length=150, blank=True)
    # None: the LOKET_REOPEN_DAYS setting decides.
    reopen_days = models.PositiveIntegerField(_("reopen period (days)"), null=True, blank=True)
    # "": the LANGUAGE_CODE setting decides.
    default_language = models.CharField(_("default language"), max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("site settings")
        verbose_name_plural = _("site settings")

    def __str__(self) -> str:
        return self.business_name or "Loket"
