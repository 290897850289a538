"""OAuth2 access tokens for a mailbox's IMAP and SMTP logins (XOAUTH2, email-lessons §11.11).

Gmail and Microsoft 365 refuse password logins; they take a short-lived access token that the
channel gets from the provider's token endpoint with its long-lived refresh token (the OAuth2
``refresh_token`` grant, RFC 6749 §6). The channel's config holds (the email form's fields):

- ``oauth_provider`` (``google``, ``microsoft``, ``custom``), ``oauth_client_id``,
  ``oauth_client_secret`` (a secret), ``oauth_refresh_token`` (a secret), ``oauth_endpoint``
  (the token URL, prefilled per provider; not named ``*token*``, which would make it a
  secret; ``{tenant}`` in it is replaced by ``oauth_tenant``, default ``common``) and
  optionally ``oauth_scope``;
- the cache: ``oauth_access_token`` (a secret, encrypted like the others) and
  ``oauth_expires_at`` (a Unix timestamp).

``bearer(channel, "imap")`` returns the cached token while it has more than a minute left and
otherwise refreshes it. A provider that rotates refresh tokens (Microsoft does) sends a new
one with the answer; it replaces the stored one. One token serves both servers (Google's
``https://mail.google.com/`` scope; Microsoft's ``IMAP.AccessAsUser.All SMTP.Send``).

Tokens are never logged and never put into error texts.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from django.db import transaction
from django.utils.translation import gettext as _

from loket.channels import secrets
from loket.channels.models import Channel
from loket.core import crypto, leases

log = logging.getLogger(__name__)

PROVIDERS: dict[str, str] = {
    "google": "https://oauth2.googleapis.com/token",
    "microsoft": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
}
DEFAULT_TENANT = "common"
MARGIN = 60  # seconds: a token this close to its expiry is refreshed first
TIMEOUT = 30.0  # seconds for the token endpoint
LEASE_TTL = timedelta(seconds=TIMEOUT + 15)  # a refresher that died frees the lease by then
ACCESS_KEY = "oauth_access_token"
EXPIRES_KEY = "oauth_expires_at"


class OAuthError(Exception):
    """No access token could be had; the text is for the admin (it never holds a token).

    ``reauthorise`` is True when only a person can fix it: the refresh token was refused
    (revoked, expired, password changed) or is missing, so the mailbox must be authorised
    again and retrying does not help.
    """

    def __init__(self, message: str, *, reauthorise: bool = False) -> None:
        super().__init__(message)
        self.reauthorise = reauthorise


def uses_oauth(channel: Channel, server: str) -> bool:
    """The channel logs in to ``server`` ("imap" or "smtp") with XOAUTH2."""
    return str(channel.config.get(f"{server}_auth") or "password").lower() == "oauth2"


def token_url(config: dict[str, Any]) -> str:
    """The token endpoint: the configured URL, else the provider's, with the tenant filled in."""
    url = str(config.get("oauth_endpoint") or "").strip()
    if not url:
        url = PROVIDERS.get(str(config.get("oauth_provider") or "").lower(), "")
    tenant = str(config.get("oauth_tenant") or "").strip() or DEFAULT_TENANT
    return url.replace("{tenant}", tenant)


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (unencoded; IMAP's and SMTP's clients base64 it)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def bearer(channel: Channel, server: str) -> str:
    """A valid access token for the channel's ``server`` ("imap" or "smtp").

    Raises ``OAuthError`` when none can be had. ``channel.config`` is updated in place with
    what was stored.

    One refresh per channel at a time, across processes (the IMAP watcher and the worker
    sending mail may both find the token expired): a database lease, which holds on SQLite
    too. Whoever waits for it then takes the token the other one stored. That matters with
    providers that rotate refresh tokens: two refreshes with the same one could cost the
    mailbox its authorisation.
    """
    cached = _cached(channel)
    if cached:
        return cached
    lease = f"oauth-refresh:{channel.pk}"
    holder = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + TIMEOUT + 5
    while not leases.acquire(lease, holder, LEASE_TTL):
        if time.monotonic() > deadline:
            raise OAuthError(_("Another process is refreshing the OAuth2 token; try again."))
        time.sleep(0.1)
        _reload(channel)
        cached = _cached(channel)
        if cached:
            return cached
    try:
        _reload(channel)  # another process may have refreshed just before we got the lease
        cached = _cached(channel)
        if cached:
            return cached
        token, expires_at, rotated = _refresh(channel, server)
        with transaction.atomic():
            fresh = Channel.objects.select_for_update().get(pk=channel.pk)
            config = dict(fresh.config)
            config[ACCESS_KEY] = crypto.encrypt(token)
            config[EXPIRES_KEY] = expires_at
            if rotated:
                config["oauth_refresh_token"] = crypto.encrypt(rotated)
            # An UPDATE: the values are sealed already, and nothing else about the channel
            # changed (no "channel saved" signal for a token refresh).
            Channel.objects.filter(pk=channel.pk).update(config=config)
        channel.config = config
        return token
    finally:
        leases.release(lease, holder)


def _reload(channel: Channel) -> None:
    stored = Channel.objects.filter(pk=channel.pk).values_list("config", flat=True).first()
    if stored is not None:
        channel.config = stored


def forget(channel: Channel) -> None:
    """Drop the cached access token (e.g. after the server refused it)."""
    with transaction.atomic():
        fresh = Channel.objects.select_for_update().get(pk=channel.pk)
        config = dict(fresh.config)
        config.pop(ACCESS_KEY, None)
        config.pop(EXPIRES_KEY, None)
        Channel.objects.filter(pk=channel.pk).update(config=config)
    channel.config = config


def _cached(channel: Channel) -> str:
    try:
        expires_at = float(channel.config.get(EXPIRES_KEY) or 0)
    except (TypeError, ValueError):
        return ""
    if expires_at - MARGIN <= time.time():
        return ""
    try:
        return secrets.get(channel, ACCESS_KEY)
    except crypto.DecryptionError:
        return ""


def _refresh(channel: Channel, server: str) -> tuple[str, float, str]:
    """(access token, expiry timestamp, rotated refresh token or "") from the token endpoint."""
    config = channel.config
    url = token_url(config)
    client_id = str(config.get("oauth_client_id") or "").strip()
    try:
        refresh_token = secrets.get(channel, "oauth_refresh_token")
        client_secret = secrets.get(channel, "oauth_client_secret")
    except crypto.DecryptionError as exc:
        raise OAuthError(
            _("The stored OAuth2 credentials cannot be decrypted (%(error)s).") % {"error": exc},
            reauthorise=True,
        ) from None
    if not refresh_token:
        raise OAuthError(
            _("No OAuth2 refresh token is stored for %(server)s: authorise the mailbox first.")
            % {"server": server.upper()},
            reauthorise=True,
        )
    if not url or not client_id:
        raise OAuthError(
            _("The OAuth2 token URL or client ID is missing in the channel's settings."),
            reauthorise=True,
        )
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    scope = str(config.get("oauth_scope") or "").strip()
    if scope:
        form["scope"] = scope
    started = time.time()
    try:
        response = httpx.post(
            url, data=form, timeout=TIMEOUT, headers={"Accept": "application/json"}
        )
    except httpx.HTTPError as exc:
        log.warning("OAuth2 refresh for channel %s: %s", channel.pk, type(exc).__name__)
        raise OAuthError(
            _("The OAuth2 token endpoint %(url)s could not be reached: %(error)s")
            % {"url": url, "error": type(exc).__name__}
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if response.status_code != 200 or not answer.get("access_token"):
        raise _refused(channel, response.status_code, answer)
    token = str(answer["access_token"])
    try:
        lifetime = float(answer.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600.0
    rotated = str(answer.get("refresh_token") or "")
    if rotated == refresh_token:
        rotated = ""
    log.info("OAuth2 access token refreshed for channel %s", channel.pk)
    return token, started + lifetime, rotated


def _refused(channel: Channel, status: int, answer: dict[str, Any]) -> OAuthError:
    code = str(answer.get("error") or "")
    # Descriptions are the provider's words about the request, not secrets; keep them short.
    description = " ".join(str(answer.get("error_description") or "").split())[:300]
    log.warning("OAuth2 refresh for channel %s refused: HTTP %s %s", channel.pk, status, code)
    detail = ": ".join(part for part in (code, description) if part) or f"HTTP {status}"
    if code == "invalid_grant":
        return OAuthError(
            _(
                "The provider no longer accepts the mailbox's authorisation (%(detail)s). "
                "Re-authorise the mailbox and store the new refresh token."
            )
            % {"detail": detail},
            reauthorise=True,
        )
    if code in ("invalid_client", "unauthorized_client"):
        return OAuthError(
            _(
                "The provider refused the OAuth2 client (%(detail)s). "
                "Check the client ID and secret."
            )
            % {"detail": detail},
            reauthorise=True,
        )
    return OAuthError(
        _("The OAuth2 token endpoint refused the refresh (%(detail)s).") % {"detail": detail}
    )
