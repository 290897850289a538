"""Tickets, their messages and attachments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    number = models.BigIntegerField(unique=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.ForeignKey(
        "channels.Channel", on_delete=models.PROTECT, related_name="tickets"
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.PROTECT, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    related = models.ManyToManyField("self", blank=True, symmetrical=True)

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Newest message of any kind: the inbox's default order.
    last_activity_at = models.DateTimeField()
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    # When the customer started waiting for an answer; null when we answered last.
    waiting_since = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # First line of the newest customer-visible message, for inbox rows.
    preview = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-last_activity_at"]),
            models.Index(fields=["assignee", "status", "-last_activity_at"]),
            models.Index(fields=["team", "status", "-last_activity_at"]),
            models.Index(fields=["channel", "status", "-last_activity_at"]),
            models.Index(fields=["contact", "channel", "status"]),
            models.Index(fields=["status", "waiting_since"]),
            models.Index(fields=["-last_activity_at"]),
            models.Index(fields=["updated_at"]),
            # The inbox's view counts (selectors.inbox_counts) read the status, team, channel
            # and assignee of every active ticket from this index instead of from the rows.
            # Its condition is one only that query states, so the planner never picks it for a
            # list, where it would lose the (..., last_activity_at) order the others give.
            models.Index(
                fields=["status", "team", "channel", "assignee"],
                condition=Q(number__gt=0),
                name="ticket_inbox_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")
    NOTE = "note", _("Internal note")


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The customer's side: who sent an inbound message, whom an outbound one goes to.
    identity = models.ForeignKey(
        "contacts.Identity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)  # sanitised
    # NULL (not "") for messages without a provider id, so the unique constraint skips them.
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    delivery_status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    failure_code = models.CharField(max_length=64, blank=True)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the current send attempt was claimed: a message 'sending' for long is stuck.
    sending_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # Channel-specific facts (email headers, WhatsApp message type, auto-reply flag, ...).
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_unique_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"]),
            models.Index(
                fields=["delivery_status", "created_at"],
                name="message_outbox",
                condition=Q(delivery_status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} message {self.pk} on ticket {self.ticket_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255, blank=True)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Inline email images are referenced by Content-ID from the HTML.
    content_id = models.CharField(max_length=255, blank=True)
    # Why the content is missing (too large, download failed); empty when stored.
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
