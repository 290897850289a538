"""Configured channels and the raw deliveries they receive."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    EMAIL = "email", _("Email")


class Channel(models.Model):
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(_("name"), max_length=100)
    # The address customers write to: a phone number, an email address.
    address = models.CharField(_("address"), max_length=320, blank=True)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="channels"
    )
    config = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Health, shown on the channels page: the provider is reaching us (webhook, minute
    # precision) and our credentials still work (the last token check and what it said).
    last_webhook_at = models.DateTimeField(null=True, blank=True)
    token_ok = models.BooleanField(null=True, blank=True)  # None: never checked
    token_checked_at = models.DateTimeField(null=True, blank=True)
    token_error = models.CharField(max_length=500, blank=True)
    quality_rating = models.CharField(max_length=16, blank=True)  # GREEN, YELLOW, RED, UNKNOWN
    verified_name = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every way in (services, the Django admin, fixtures) stores secrets encrypted.
        from loket.channels import secrets

        self.config = secrets.seal(self.kind, self.config or {})
        super().save(*args, **kwargs)


class DeliveryState(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """A raw inbound delivery (webhook body, RFC 822 mail), stored before it is parsed."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    received_at = models.DateTimeField(db_index=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.RECEIVED
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["state", "received_at"])]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.state})"


class Template(models.Model):
    """A WhatsApp message template of a channel's business account, as last synced.

    Outside the 24-hour window only an APPROVED template reaches the customer.
    ``components`` is Meta's list as returned by ``GET /{WABA_ID}/message_templates``;
    ``body`` is the body text with its ``{{1}}``/``{{name}}`` placeholders, and
    ``parameters`` the placeholder names in order, so the composer can ask for them.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="templates")
    external_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=32, blank=True)
    components = models.JSONField(default=list, blank=True)
    body = models.TextField(blank=True)
    parameters = models.JSONField(default=list, blank=True)
    # Why Meta rejected, paused or disabled it, when it said.
    reason = models.CharField(max_length=255, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "name", "language"], name="template_unique_name_language"
            )
        ]
        ordering = ["name", "language"]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def approved(self) -> bool:
        return self.status.upper() == "APPROVED"
