"""Notifications for agents: someone @mentioned you in an internal note; a channel broke."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    MENTION = "mention", _("Mention")
    # A channel stopped working (WhatsApp token expired...): admins, once per incident.
    CHANNEL = "channel", _("Channel problem")


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MENTION)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"]),
            models.Index(fields=["user", "-created_at"]),
        ]
        constraints = [
            # One notification per agent and message: saving twice never notifies twice.
            models.UniqueConstraint(fields=["user", "message", "kind"], name="notification_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} on ticket {self.ticket_id}"
