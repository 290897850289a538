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

Getting the refresh token in the first place (``authorize_url`` and ``exchange_code``) is the
authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636, S256): the admin's browser goes
to the provider's consent page, comes back to Loket with a one-time code, and the code (with
the PKCE verifier only Loket knows) is exchanged for the tokens at ``token_url``. The consent
page is the provider's documented one; ``oauth_authorize_endpoint`` overrides it (needed for
``custom``; for Google and Microsoft only when set explicitly, e.g. by tests). No config key
holding a URL may contain "token": such keys are sealed as secrets.

Tokens and codes are never logged and never put into error texts.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets as random
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

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
AUTHORIZE: dict[str, str] = {
    "google": "https://accounts.google.com/o/oauth2/v2/auth",
    "microsoft": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
}
SCOPES: dict[str, str] = {
    "google": "https://mail.google.com/",
    # offline_access: without it Microsoft sends no refresh token.
    "microsoft": "offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/SMTP.Send",
}
AUTHORIZE_KEY = "oauth_authorize_endpoint"
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


def authorize_endpoint(config: dict[str, Any]) -> str:
    """The consent page: the configured URL, else the provider's, with the tenant filled in."""
    url = str(config.get(AUTHORIZE_KEY) or "").strip()
    if not url:
        url = AUTHORIZE.get(str(config.get("oauth_provider") or "").lower(), "")
    tenant = str(config.get("oauth_tenant") or "").strip() or DEFAULT_TENANT
    return url.replace("{tenant}", tenant)


def can_authorise(channel: Channel) -> bool:
    """The channel has what the authorization-code flow needs: a provider whose consent page
    is known, a client ID and a token URL."""
    config = channel.config
    return bool(
        str(config.get("oauth_client_id") or "").strip()
        and authorize_endpoint(config)
        and token_url(config)
    )


def new_verifier() -> str:
    """A PKCE code verifier (RFC 7636 §4.1: 43-128 unreserved characters)."""
    return random.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """The S256 challenge of ``verifier``: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(channel: Channel, redirect_uri: str, state: str, code_verifier: str) -> str:
    """Where the admin's browser goes to let Loket read and send the mailbox's mail."""
    config = channel.config
    provider = str(config.get("oauth_provider") or "").lower()
    endpoint = authorize_endpoint(config)
    client_id = str(config.get("oauth_client_id") or "").strip()
    if not endpoint or not client_id:
        raise OAuthError(
            _("The OAuth2 authorisation URL or client ID is missing in the channel's settings.")
        )
    scope = str(config.get("oauth_scope") or "").strip() or SCOPES.get(provider, "")
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    if provider == "google":
        # A refresh token is only sent with offline access, and again only after consent.
        params["access_type"] = "offline"
        params["prompt"] = "consent"
    user = str(config.get("imap_user") or config.get("smtp_user") or channel.address).strip()
    if user:
        params["login_hint"] = user
    if not scope:
        del params["scope"]
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)


def exchange_code(channel: Channel, code: str, redirect_uri: str, code_verifier: str) -> None:
    """Trade the consent page's one-time ``code`` for the mailbox's tokens and store them.

    The refresh token replaces the stored one (sealed like every secret), the access token
    becomes the cache, and a "re-authorise the mailbox" flag of the IMAP health is cleared.
    Raises ``OAuthError`` with a reason for the admin. Holds the refresh lease meanwhile, so a
    refresh with the old grant cannot overwrite the new one.
    """
    _reload(channel)
    lease = f"oauth-refresh:{channel.pk}"
    holder = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + TIMEOUT + 5
    while not leases.acquire(lease, holder, LEASE_TTL):
        if time.monotonic() > deadline:
            raise OAuthError(_("Another process is refreshing the OAuth2 token; try again."))
        time.sleep(0.1)
    try:
        token, expires_at, refresh_token = _exchange(channel, code, redirect_uri, code_verifier)
        with transaction.atomic():
            fresh = Channel.objects.select_for_update().get(pk=channel.pk)
            config = dict(fresh.config)
            config["oauth_refresh_token"] = crypto.encrypt(refresh_token)
            config[ACCESS_KEY] = crypto.encrypt(token)
            config[EXPIRES_KEY] = expires_at
            _clear_reauthorise(fresh, config)
            Channel.objects.filter(pk=channel.pk).update(config=config)
        channel.config = config
        channel.last_error = fresh.last_error
    finally:
        leases.release(lease, holder)


def _clear_reauthorise(channel: Channel, config: dict[str, Any]) -> None:
    """The IMAP health's "authorise the mailbox again" is answered: drop the flag and its
    error (and the channel's error column when it is that error; imap._record_success does
    the same after a good fetch)."""
    from loket.channels.email import imap  # imap imports this module

    state = config.get(imap.STATE_KEY)
    if not isinstance(state, dict) or not state.get("reauthorise"):
        return
    error = state.get("error")
    config[imap.STATE_KEY] = {**state, "reauthorise": False, "error": ""}
    if error:
        Channel.objects.filter(pk=channel.pk, last_error=error).update(last_error="")
        if channel.last_error == error:
            channel.last_error = ""


def _exchange(
    channel: Channel, code: str, redirect_uri: str, code_verifier: str
) -> tuple[str, float, str]:
    """(access token, expiry timestamp, refresh token) for the authorisation code."""
    config = channel.config
    url = token_url(config)
    client_id = str(config.get("oauth_client_id") or "").strip()
    try:
        client_secret = secrets.get(channel, "oauth_client_secret")
    except crypto.DecryptionError as exc:
        raise OAuthError(
            _("The stored OAuth2 credentials cannot be decrypted (%(error)s).") % {"error": exc}
        ) from None
    if not url or not client_id:
        raise OAuthError(
            _("The OAuth2 token URL or client ID is missing in the channel's settings.")
        )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": code_verifier,
    }
    if client_secret:
        form["client_secret"] = client_secret
    started = time.time()
    status, answer = _post(channel, url, form, "code exchange")
    if status != 200 or not answer.get("access_token"):
        raise _code_refused(channel, status, answer)
    refresh_token = str(answer.get("refresh_token") or "")
    if not refresh_token:
        log.warning("OAuth2 code exchange for channel %s: no refresh token", channel.pk)
        raise OAuthError(
            _(
                "The provider sent no refresh token, so Loket could not keep access. For "
                "Google, remove Loket's access in the Google account's security settings and "
                "authorise again; for Microsoft, check that offline_access is allowed."
            )
        )
    try:
        lifetime = float(answer.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600.0
    log.info("OAuth2 authorisation stored for channel %s", channel.pk)
    return str(answer["access_token"]), started + lifetime, refresh_token


def _error(channel: Channel, status: int, answer: dict[str, Any], what: str) -> tuple[str, str]:
    """The OAuth2 error code of a refused grant and its detail for the admin, logged."""
    code = str(answer.get("error") or "")
    # Descriptions are the provider's words about the request, not secrets; keep them short.
    description = " ".join(str(answer.get("error_description") or "").split())[:300]
    log.warning("OAuth2 %s for channel %s refused: HTTP %s %s", what, channel.pk, status, code)
    return code, ": ".join(part for part in (code, description) if part) or f"HTTP {status}"


def _code_refused(channel: Channel, status: int, answer: dict[str, Any]) -> OAuthError:
    code, detail = _error(channel, status, answer, "code exchange")
    if code == "invalid_grant":
        return OAuthError(
            _(
                "The provider did not accept the authorisation (%(detail)s): it was used "
                "already, expired, or was given for another address. Start the authorisation "
                "again."
            )
            % {"detail": detail}
        )
    if code in ("invalid_client", "unauthorized_client"):
        return OAuthError(
            _(
                "The provider refused the OAuth2 client (%(detail)s). "
                "Check the client ID and secret."
            )
            % {"detail": detail}
        )
    if code == "redirect_uri_mismatch":
        return OAuthError(
            _(
                "The provider does not know Loket's redirect URI (%(detail)s). Register it "
                "with the OAuth2 client, exactly as shown in the channel's settings."
            )
            % {"detail": detail}
        )
    return OAuthError(
        _("The OAuth2 token endpoint refused the authorisation (%(detail)s).") % {"detail": detail}
    )


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
    status, answer = _post(channel, url, form, "refresh")
    if status != 200 or not answer.get("access_token"):
        raise _refused(channel, status, answer)
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


def _post(
    channel: Channel, url: str, form: dict[str, str], what: str
) -> tuple[int, dict[str, Any]]:
    """POST a grant to the token endpoint: its HTTP status and JSON answer ({} when it sent
    none). An endpoint that cannot be reached is an ``OAuthError``; nothing secret is logged."""
    try:
        response = httpx.post(
            url, data=form, timeout=TIMEOUT, headers={"Accept": "application/json"}
        )
    except httpx.HTTPError as exc:
        log.warning("OAuth2 %s for channel %s: %s", what, channel.pk, type(exc).__name__)
        raise OAuthError(
            _("The OAuth2 token endpoint %(url)s could not be reached: %(error)s")
            % {"url": url, "error": type(exc).__name__}
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    return response.status_code, answer if isinstance(answer, dict) else {}


def _refused(channel: Channel, status: int, answer: dict[str, Any]) -> OAuthError:
    code, detail = _error(channel, status, answer, "refresh")
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
