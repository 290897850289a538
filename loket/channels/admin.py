"""Channels (their settings are edited on the dashboard's channel forms) and raw deliveries."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from loket.accounts.models import User
from loket.audit import services as audit
from loket.channels import services
from loket.channels.forms import masked_config
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.core.admin import ReadOnlyAdmin

BODY_PREVIEW = 20_000


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin[Channel]):
    list_display = (
        "name",
        "kind",
        "address",
        "team",
        "enabled",
        "last_inbound_at",
        "last_error_at",
    )
    list_filter = ("kind", "enabled", "team")
    list_select_related = ("team",)
    fields = (
        "kind",
        "name",
        "address",
        "team",
        "enabled",
        "settings",
        "last_inbound_at",
        "last_error",
        "last_error_at",
        "created_at",
    )
    # The settings (with credentials) are edited on the dashboard's channel form, which never
    # shows a secret back; here they are listed masked.
    readonly_fields = ("settings", "last_inbound_at", "last_error", "last_error_at", "created_at")

    @admin.display(description=_("Settings"))
    def settings(self, obj: Channel) -> SafeString:
        if obj.pk is None:
            return SafeString("")
        items = format_html_join(
            "", "<li><code>{}</code>: {}</li>", sorted(masked_config(obj).items())
        )
        return format_html(
            '<ul>{}</ul><a href="{}">{}</a>',
            items,
            reverse("web:manage:channel", args=[obj.pk]),
            _("Change them on the dashboard"),
        )

    def get_fields(self, request: HttpRequest, obj: Channel | None = None) -> list[Any]:
        fields = list(super().get_fields(request, obj))
        if obj is None:  # a new channel may be given its settings as JSON once
            fields[fields.index("settings")] = "config"
        return fields

    def has_delete_permission(self, request: HttpRequest, obj: Channel | None = None) -> bool:
        return False  # tickets and deliveries keep pointing at it: disable it instead

    def save_model(
        self, request: HttpRequest, obj: Channel, form: ModelForm[Channel], change: bool
    ) -> None:
        # Field names only: the configuration may hold credentials.
        actor = request.user if isinstance(request.user, User) else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.append(
                "channel.changed" if change else "channel.created",
                actor=audit.actor_for(actor),
                subject_type="channel",
                subject_id=obj.pk,
                data={"kind": obj.kind, "fields": sorted(form.changed_data)},
            )


@admin.action(
    description=_("Replay: parse the selected deliveries again"),
    permissions=["replay"],
    location=[admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM],
)
def replay(modeladmin: DeliveryAdmin, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
    ok = failed = 0
    for pk in queryset.order_by("pk").values_list("pk", flat=True):
        delivery = services.replay(pk)
        if delivery.state == DeliveryState.FAILED:
            failed += 1
        else:
            ok += 1
    if ok:
        modeladmin.message_user(
            request,
            ngettext("%d delivery processed.", "%d deliveries processed.", ok) % ok,
            messages.SUCCESS,
        )
    if failed:
        modeladmin.message_user(
            request,
            ngettext(
                "%d delivery failed again; see its error.",
                "%d deliveries failed again; see their errors.",
                failed,
            )
            % failed,
            messages.ERROR,
        )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Every raw delivery; filter on "Failed" for the ones an admin must look at."""

    list_display = (
        "id",
        "received_at",
        "channel",
        "state",
        "attempts",
        "item_count",
        "short_error",
    )
    list_filter = ("state", "channel")
    list_select_related = ("channel",)
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    actions = [replay]
    fields = (
        "channel",
        "received_at",
        "state",
        "attempts",
        "item_count",
        "processed_at",
        "error",
        "headers",
        "raw_body",
    )
    readonly_fields = fields

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    @admin.display(description=_("error"))
    def short_error(self, obj: Delivery) -> str:
        return obj.error if len(obj.error) <= 100 else obj.error[:99] + "…"

    @admin.display(description=_("raw body"))
    def raw_body(self, obj: Delivery) -> SafeString:
        body = bytes(obj.body)
        text = body[:BODY_PREVIEW].decode("utf-8", errors="replace")
        more = f"\n… ({len(body) - BODY_PREVIEW} more bytes)" if len(body) > BODY_PREVIEW else ""
        return format_html('<pre style="white-space: pre-wrap">{}{}</pre>', text, more)
