"""Customers and the identities (phone, email, platform ids) they reach us from."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Contact(models.Model):
    name = models.CharField(_("name"), max_length=200, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Set when this contact was merged into another; it then holds nothing.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class IdentityKind(models.TextChoices):
    PHONE = "phone", _("Phone / WhatsApp")
    EMAIL = "email", _("Email")
    WHATSAPP_USER = "whatsapp_user", _("WhatsApp username")
    INSTAGRAM = "instagram", _("Instagram")
    TELEGRAM = "telegram", _("Telegram")


class Identity(models.Model):
    """One address of a contact. ``value`` is normalised: E.164 phone, lower-case email."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=320)
    display_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_address")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
