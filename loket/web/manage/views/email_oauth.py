"""Authorising an email channel's mailbox with Google or Microsoft (OAuth2 with PKCE).

The admin presses "Authorise with Google" on the channel's settings page (``start``, a POST):
Loket keeps a random ``state`` and a PKCE verifier in the admin's session, bound to the
channel and the admin for ten minutes, and sends the browser to the provider's consent page.
The provider sends it back to ``callback`` with a one-time code (or an error); the state must
be one this session started, and the code is exchanged for the mailbox's tokens
(``oauth.exchange_code``). Codes, verifiers and tokens are never logged nor shown.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loket.audit import services as audit
from loket.channels.email import oauth
from loket.channels.models import Channel
from loket.web.manage.access import admin, admin_required

SESSION_KEY = "email_oauth"
LIFETIME = 600  # seconds an authorisation may take
KEPT = 5  # pending authorisations per session (several tabs)
BAD_REQUEST = 400
PROVIDER_NAMES = {"google": "Google", "microsoft": "Microsoft"}


def redirect_uri() -> str:
    """What the admin registers with the OAuth2 client (Google Cloud, Microsoft Entra)."""
    return f"{settings.SITE_URL}{reverse('web:manage:email_oauth_callback')}"


def setup(channel: Channel) -> dict[str, Any]:
    """What the settings page shows about authorising the mailbox."""
    provider = str(channel.config.get("oauth_provider") or "").lower()
    uri = redirect_uri()
    return {
        "ready": oauth.can_authorise(channel),
        "provider": provider,
        "provider_name": PROVIDER_NAMES.get(provider, ""),
        "redirect_uri": uri,
        # Google and Microsoft take plain http only for localhost.
        "public": uri.startswith(("https://", "http://localhost")),
    }


def _pending(request: HttpRequest) -> dict[str, dict[str, Any]]:
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, dict):
        return {}
    now = time.time()
    return {
        state: entry
        for state, entry in stored.items()
        if isinstance(entry, dict) and float(entry.get("expires") or 0) > now
    }


@admin_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk, kind="email")
    if not oauth.can_authorise(channel):
        messages.error(
            request,
            _("Save the OAuth2 provider and client ID first, then authorise the mailbox."),
        )
        return redirect("web:manage:channel", pk=channel.pk)
    state = secrets.token_urlsafe(32)
    verifier = oauth.new_verifier()
    try:
        url = oauth.authorize_url(channel, redirect_uri(), state, verifier)
    except oauth.OAuthError as exc:
        messages.error(request, str(exc))
        return redirect("web:manage:channel", pk=channel.pk)
    pending = _pending(request)
    pending[state] = {
        "channel": channel.pk,
        "user": admin(request).pk,
        "verifier": verifier,
        "expires": time.time() + LIFETIME,
    }
    newest = sorted(pending.items(), key=lambda item: float(item[1]["expires"]))[-KEPT:]
    request.session[SESSION_KEY] = dict(newest)
    return HttpResponseRedirect(url)


@admin_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    pending = _pending(request)
    entry = None
    for known in list(pending):
        if state and hmac.compare_digest(known.encode(), state.encode()):
            entry = pending.pop(known)
    request.session[SESSION_KEY] = pending  # a state works once
    if entry is None or entry.get("user") != admin(request).pk:
        return _failed(
            request,
            _(
                "This authorisation was not started here, was used already or took longer "
                "than ten minutes. Nothing was changed: start it again from the channel's "
                "settings."
            ),
        )
    channel = get_object_or_404(Channel, pk=entry["channel"], kind="email")
    error = request.GET.get("error", "")
    if error == "access_denied":
        messages.error(
            request,
            _(
                "Access was refused on the provider's page, so nothing was changed. To connect "
                "the mailbox, authorise again and allow Loket to read and send its mail."
            ),
        )
        return redirect("web:manage:channel", pk=channel.pk)
    code = request.GET.get("code", "")
    if error or not code:
        description = " ".join(request.GET.get("error_description", "").split())[:300]
        detail = ": ".join(part for part in (error, description) if part) or _("no code")
        messages.error(
            request,
            _("The provider did not authorise the mailbox (%(detail)s). Nothing was changed.")
            % {"detail": detail},
        )
        return redirect("web:manage:channel", pk=channel.pk)
    try:
        oauth.exchange_code(channel, code, redirect_uri(), str(entry["verifier"]))
    except oauth.OAuthError as exc:
        messages.error(request, str(exc))
        return redirect("web:manage:channel", pk=channel.pk)
    with transaction.atomic():
        audit.append(
            "channel.oauth_authorised",
            actor=audit.actor_for(admin(request)),
            subject_type="channel",
            subject_id=channel.pk,
            data={
                "channel_id": channel.pk,
                "provider": str(channel.config.get("oauth_provider") or ""),
            },
        )
    messages.success(
        request,
        _("The mailbox of %(channel)s is authorised: Loket can now log in with OAuth2.")
        % {"channel": channel.name},
    )
    return redirect("web:manage:channel", pk=channel.pk)


def _failed(request: HttpRequest, reason: str) -> HttpResponse:
    return render(
        request, "web/manage/email_oauth_failed.html", {"reason": reason}, status=BAD_REQUEST
    )
