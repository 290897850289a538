"""Who is looking at which ticket right now. Ephemeral: rows are overwritten, never logged."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    VIEWING = "viewing", _("Viewing")
    TYPING = "typing", _("Typing")


class Presence(models.Model):
    """The latest heartbeat of one agent on one ticket (a fresh ``updated_at`` means "here")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presences"
    )
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="presences")
    state = models.CharField(max_length=16, choices=State.choices, default=State.VIEWING)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "ticket"], name="presence_one_per_ticket")
        ]
        indexes = [models.Index(fields=["ticket", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.state} ticket {self.ticket_id}"
