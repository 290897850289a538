"""Agents, teams and API tokens, read-only: `loket createagent` / `loket token create` add them,
and the dashboard's settings screens will edit them (through services, with events)."""

from __future__ import annotations

from django.contrib import admin

from loket.accounts.models import ApiToken, Team, User
from loket.core.admin import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("email", "name", "role", "is_active", "availability", "last_login")
    list_filter = ("role", "is_active", "teams")
    search_fields = ("email", "name")
    ordering = ("name",)
    fields = (
        "email",
        "name",
        "role",
        "teams",
        "is_active",
        "language",
        "time_zone",
        "availability",
        "last_login",
        "date_joined",
    )


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("user",)
    list_filter = ("revoked_at",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
