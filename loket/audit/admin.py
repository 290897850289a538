"""The event log, read-only by nature. `loket audit verify` checks its hash chain."""

from __future__ import annotations

from django.contrib import admin

from loket.audit.models import Event
from loket.core.admin import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "created_at",
        "kind",
        "actor_label",
        "subject_type",
        "subject_id",
        "ticket_id",
    )
    list_filter = ("kind", "subject_type")
    search_fields = ("=kind", "actor_label", "=ticket_id")
    ordering = ("-id",)
    show_full_result_count = False
