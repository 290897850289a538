"""Channels: the list with their health, adding one through its kind's form, editing, on/off."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loket.channels import services
from loket.channels.forms import FORMS, ChannelForm, UnknownChannelKind, form_for, mask
from loket.channels.models import Channel, ChannelKind
from loket.web.manage.access import admin, admin_required, is_htmx
from loket.web.manage.views import whatsapp

UNPROCESSABLE = 422


def _channels() -> list[Channel]:
    return list(
        Channel.objects.select_related("team")
        .annotate(template_count=Count("templates"))
        .order_by("kind", "name", "pk")
    )


def _kinds() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in ChannelKind.choices if value in FORMS]


@admin_required
def channel_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/manage/channels.html", {"channels": _channels(), "kinds": _kinds()})


@admin_required
def add(request: HttpRequest, kind: str) -> HttpResponse:
    try:
        form_class = form_for(kind)
    except UnknownChannelKind:
        raise Http404(kind) from None
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        channel = services.create_channel(
            kind=kind,
            name=form.channel_name(),
            address=form.address(),
            team=form.cleaned_data["team"],
            config=form.config(),
            actor=admin(request),
        )
        messages.success(request, _("Channel %s is added.") % channel.name)
        return redirect("web:manage:channels")
    status = UNPROCESSABLE if form.errors else 200
    return render(
        request,
        "web/manage/channel_form.html",
        {"form": form, "kind": kind, "kind_label": dict(ChannelKind.choices)[kind]},
        status=status,
    )


@admin_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    try:
        form_class = form_for(channel.kind)
    except UnknownChannelKind:
        raise Http404(channel.kind) from None
    form = form_class(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        services.update_channel(
            channel,
            name=form.channel_name(),
            address=form.address(),
            team=form.cleaned_data["team"],
            config=form.config(),
            actor=admin(request),
        )
        messages.success(request, _("Channel %s is saved.") % form.channel_name())
        return redirect("web:manage:channels")
    status = UNPROCESSABLE if form.errors else 200
    return render(
        request,
        "web/manage/channel_form.html",
        {
            "form": form,
            "channel": channel,
            "kind": channel.kind,
            "kind_label": channel.get_kind_display(),
            "whatsapp": _whatsapp_setup(channel, form) if channel.kind == "whatsapp" else None,
        },
        status=status,
    )


def _whatsapp_setup(channel: Channel, form: ChannelForm) -> dict[str, Any]:
    """What the WhatsApp settings page shows above the form: Meta's side and the health."""
    return {
        "callback_url": whatsapp.callback_url(channel),
        "public": whatsapp.callback_url(channel).startswith("https://"),
        "verify_token": mask(form.stored_secret("verify_token")),
        "template_count": channel.templates.count(),
        "approved_count": channel.templates.filter(status__iexact="APPROVED").count(),
    }


@admin_required
@require_POST
def toggle(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    enabled = request.POST.get("enabled") == "1"
    channel = services.update_channel(channel, enabled=enabled, actor=admin(request))
    if is_htmx(request):
        channel = (
            Channel.objects.select_related("team")
            .annotate(template_count=Count("templates"))
            .get(pk=channel.pk)
        )
        return render(request, "web/manage/channels.html#channel_row", {"channel": channel})
    return redirect("web:manage:channels")
