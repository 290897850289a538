"""Customers and their identities, read-only (merging is a service with its own screen)."""

from __future__ import annotations

from django.contrib import admin

from loket.contacts.models import Contact, Identity
from loket.core.admin import ReadOnlyAdmin, ReadOnlyInline


class IdentityInline(ReadOnlyInline):
    model = Identity
    fields = ("kind", "value", "display_name", "created_at")


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("name", "created_at", "updated_at", "merged_into")
    list_select_related = ("merged_into",)
    search_fields = ("name", "identities__value")
    ordering = ("-updated_at",)
    inlines = [IdentityInline]


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ("value", "kind", "contact", "display_name", "created_at")
    list_filter = ("kind",)
    list_select_related = ("contact",)
    search_fields = ("value", "display_name")
