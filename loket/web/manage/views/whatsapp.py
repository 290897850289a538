"""A WhatsApp channel's extras on its settings page: the token check and the templates."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loket.channels.models import Channel, ChannelKind
from loket.channels.whatsapp import errors, graph, health, templates
from loket.core import crypto
from loket.web.manage.access import admin_required


def _whatsapp(pk: int) -> Channel:
    channel = get_object_or_404(Channel, pk=pk)
    if channel.kind != ChannelKind.WHATSAPP:
        raise Http404
    return channel


def callback_url(channel: Channel) -> str:
    """What to paste into Meta's webhook settings (the site's public address)."""
    path = reverse("whatsapp_webhook", args=[channel.pk])
    return f"{settings.SITE_URL}{path}"


@admin_required
@require_POST
def check(request: HttpRequest, pk: int) -> HttpResponse:
    channel = health.check(_whatsapp(pk))
    if channel.token_ok:
        messages.success(request, _("WhatsApp accepted the access token."))
    else:
        messages.error(
            request,
            _("The check failed: %(error)s") % {"error": channel.token_error or _("unknown")},
        )
    return redirect("web:manage:channel", pk=channel.pk)


@admin_required
def template_list(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _whatsapp(pk)
    return render(
        request,
        "web/manage/whatsapp_templates.html",
        {"channel": channel, "templates": channel.templates.order_by("name", "language")},
    )


@admin_required
@require_POST
def refresh_templates(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _whatsapp(pk)
    try:
        result = templates.sync(channel)
    except graph.GraphError as err:
        messages.error(
            request,
            _("WhatsApp could not be asked for the templates: %(error)s")
            % {"error": errors.describe(err)},
        )
    except crypto.DecryptionError:
        messages.error(request, _("The stored access token cannot be read; enter it again."))
    else:
        messages.success(
            request,
            _("Templates refreshed: %(created)d new, %(updated)d changed, %(removed)d removed.")
            % {"created": result.created, "updated": result.updated, "removed": result.removed},
        )
    return redirect("web:manage:whatsapp_templates", pk=channel.pk)
