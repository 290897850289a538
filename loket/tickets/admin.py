"""Tickets and messages, read-only (the agent dashboard is where tickets are worked)."""

from __future__ import annotations

from django.contrib import admin

from loket.core.admin import ReadOnlyAdmin, ReadOnlyInline
from loket.tickets.models import Attachment, Message, Tag, Ticket


class MessageInline(ReadOnlyInline):
    model = Message
    fields = (
        "created_at",
        "direction",
        "author",
        "identity",
        "text",
        "delivery_status",
        "failure_reason",
    )
    ordering = ("created_at",)


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "subject",
        "status",
        "priority",
        "channel",
        "contact",
        "assignee",
        "team",
        "last_activity_at",
    )
    list_filter = ("status", "priority", "channel", "team")
    list_select_related = ("channel", "contact", "assignee", "team")
    search_fields = ("=number", "subject")
    ordering = ("-last_activity_at",)
    inlines = [MessageInline]


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "content_type", "size", "message", "note", "created_at")
    list_select_related = ("message",)
    search_fields = ("name", "=sha256")
