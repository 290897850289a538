"""Saved replies (canned answers an agent inserts with ``/``) and macros (one click: a reply,
a status, tags and an assignee together).

Both are personal (``owner`` set: only that agent sees and manages them) or shared (``owner``
null: every agent sees them; supervisors and admins manage them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loket.tickets.models import Status


class SavedReply(models.Model):
    title = models.CharField(_("title"), max_length=100)
    # Typed after "/" in the composer; lower-case letters, digits, "-" and "_". Optional.
    shortcut = models.CharField(_("shortcut"), max_length=40, blank=True)
    body = models.TextField(_("text"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_replies",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "shortcut"],
                condition=Q(owner__isnull=False) & ~Q(shortcut=""),
                name="saved_reply_personal_shortcut",
            ),
            models.UniqueConstraint(
                fields=["shortcut"],
                condition=Q(owner__isnull=True) & ~Q(shortcut=""),
                name="saved_reply_shared_shortcut",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class Assignment(models.TextChoices):
    NONE = "none", _("Leave as it is")
    ME = "me", _("Assign to me")
    UNASSIGN = "unassign", _("Unassign")
    AGENT = "agent", _("Assign to an agent")


class Macro(models.Model):
    name = models.CharField(_("name"), max_length=100)
    # Sent to the customer when set (placeholders filled in for the ticket).
    body = models.TextField(_("reply"), blank=True)
    # A ticket status value, or "" to leave the status alone.
    status = models.CharField(_("status"), max_length=16, blank=True)
    # Tag names added to the ticket's tags.
    tags = models.JSONField(_("tags"), default=list, blank=True)
    assignment = models.CharField(
        _("assignment"), max_length=16, choices=Assignment.choices, default=Assignment.NONE
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="macros",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    @property
    def status_label(self) -> str:
        return str(Status(self.status).label) if self.status in Status.values else self.status
