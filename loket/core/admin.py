"""Django's admin site, for admins only and mostly read-only until the dashboard has screens.

``ReadOnlyAdmin`` is shared by every app's ``admin.py``: changes belong to the services, which
record them in the event log, so the admin shows data but does not edit it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from loket.core.models import Counter, Lease

admin.site.site_header = _("Loket administration")
admin.site.site_title = "Loket"
admin.site.index_title = _("Data and raw deliveries")


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline[Any, Any]):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Counter)
class CounterAdmin(ReadOnlyAdmin):
    list_display = ("name", "value")


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ("name", "holder", "expires_at")
