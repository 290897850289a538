"""OAuth2 access tokens for Gmail and Microsoft 365 mailboxes, against a local token endpoint
(``oauth_emulator``) and, for the login itself, a Dovecot that validates XOAUTH2 tokens by
introspecting them at that endpoint."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from loket.channels import secrets
from loket.channels.email import imap, oauth
from loket.channels.email.tests.oauth_emulator import TokenServer, running_token_server
from loket.channels.models import Channel, Delivery
from loket.conftest import Shop
from loket.core import crypto
from loket.core.tests import dovecot as dovecot_module
from loket.core.tests.dovecot import Dovecot, running_dovecot

USER = dovecot_module.USER


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def tokens() -> Iterator[TokenServer]:
    with running_token_server() as server:
        yield server


def configure(channel: Channel, **config: object) -> Channel:
    channel.config = secrets.seal(channel.kind, {**channel.config, **config})
    channel.save()
    channel.refresh_from_db()
    return channel


def google(channel: Channel, tokens: TokenServer, **extra: object) -> Channel:
    refresh = tokens.grant(USER, "loket.apps.googleusercontent.com", "GOCSPX-rahasia")
    config: dict[str, object] = {
        "imap_auth": "oauth2",
        "smtp_auth": "oauth2",
        "oauth_provider": "google",
        "oauth_client_id": "loket.apps.googleusercontent.com",
        "oauth_client_secret": "GOCSPX-rahasia",
        "oauth_refresh_token": refresh,
        "oauth_endpoint": tokens.url + "/google/token",
    }
    return configure(channel, **{**config, **extra})


def microsoft(channel: Channel, tokens: TokenServer, tenant: str = "") -> Channel:
    refresh = tokens.grant(USER, "6731de76-14a6-49ae-97bc-6eba6914391e")  # a public client
    return configure(
        channel,
        imap_auth="oauth2",
        oauth_provider="microsoft",
        oauth_client_id="6731de76-14a6-49ae-97bc-6eba6914391e",
        oauth_refresh_token=refresh,
        oauth_tenant=tenant,
        oauth_endpoint=tokens.url + "/{tenant}/oauth2/v2.0/token",
    )


def test_the_sasl_string_is_the_documented_xoauth2_format() -> None:
    sasl = oauth.xoauth2("cs@batiksari.id", "ya29.abc")
    assert sasl == "user=cs@batiksari.id\x01auth=Bearer ya29.abc\x01\x01"
    # Google's documented example, base64-encoded the way IMAP and SMTP clients send it.
    assert base64.b64encode(
        oauth.xoauth2(
            "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
        ).encode()
    ) == (
        b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
        b"YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    )


def test_the_token_url_follows_the_provider_and_the_tenant() -> None:
    assert oauth.token_url({"oauth_provider": "google"}) == "https://oauth2.googleapis.com/token"
    assert (
        oauth.token_url({"oauth_provider": "microsoft"})
        == "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    )
    assert (
        oauth.token_url(
            {"oauth_provider": "microsoft", "oauth_tenant": "batiksari.onmicrosoft.com"}
        )
        == "https://login.microsoftonline.com/batiksari.onmicrosoft.com/oauth2/v2.0/token"
    )
    custom = {"oauth_provider": "custom", "oauth_endpoint": "https://sso.toko.id/token"}
    assert oauth.token_url(custom) == "https://sso.toko.id/token"


def test_a_google_token_is_fetched_once_cached_encrypted_and_refreshed_near_expiry(
    shop: Shop, tokens: TokenServer
) -> None:
    channel = google(shop.email, tokens)
    token = oauth.bearer(channel, "imap")
    assert tokens.introspect(token)["active"] is True
    assert tokens.requests[-1]["grant_type"] == "refresh_token"
    assert tokens.requests[-1]["client_secret"] == "GOCSPX-rahasia"

    stored = Channel.objects.get(pk=channel.pk)
    assert crypto.is_encrypted(stored.config["oauth_access_token"])  # never in clear
    assert token not in str(stored.config)
    # The same token for SMTP and for a second process, without asking the provider again.
    assert oauth.bearer(stored, "smtp") == token
    assert len(tokens.requests) == 1

    now = dt.datetime.now(tz=dt.UTC)
    with time_machine.travel(now + dt.timedelta(seconds=tokens.lifetime - 120), tick=False):
        assert oauth.bearer(stored, "imap") == token  # two minutes left: still good
    with time_machine.travel(now + dt.timedelta(seconds=tokens.lifetime - 30), tick=False):
        renewed = oauth.bearer(stored, "imap")  # 30 seconds left: refreshed first
    assert renewed != token
    assert len(tokens.requests) == 2


def test_a_microsoft_refresh_token_is_rotated_and_the_new_one_kept(
    shop: Shop, tokens: TokenServer
) -> None:
    channel = microsoft(shop.email, tokens)
    first_refresh = secrets.get(channel, "oauth_refresh_token")
    oauth.bearer(channel, "imap")
    assert tokens.requests[-1]["path"] == "/common/oauth2/v2.0/token"  # the default tenant
    assert "client_secret" not in tokens.requests[-1]

    stored = Channel.objects.get(pk=channel.pk)
    assert crypto.is_encrypted(stored.config["oauth_refresh_token"])
    second_refresh = secrets.get(stored, "oauth_refresh_token")
    assert second_refresh != first_refresh
    # The old refresh token no longer works at Microsoft; the stored one does.
    oauth.forget(stored)
    assert oauth.bearer(stored, "imap")
    assert tokens.requests[-1]["refresh_token"] == second_refresh


def test_a_revoked_grant_asks_the_admin_to_reauthorise_without_leaking_tokens(
    shop: Shop, tokens: TokenServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = google(shop.email, tokens)
    refresh = secrets.get(channel, "oauth_refresh_token")
    tokens.revoke(refresh)
    with pytest.raises(oauth.OAuthError) as raised:
        oauth.bearer(channel, "imap")
    assert raised.value.reauthorise
    assert "Re-authorise the mailbox" in str(raised.value)
    assert "Token has been expired or revoked" in str(raised.value)
    assert refresh not in str(raised.value) + caplog.text
    assert "GOCSPX-rahasia" not in str(raised.value) + caplog.text


def test_microsoft_errors_name_the_cause(shop: Shop, tokens: TokenServer) -> None:
    channel = microsoft(shop.email, tokens, tenant="toko-lain.onmicrosoft.com")
    with pytest.raises(oauth.OAuthError) as raised:
        oauth.bearer(channel, "smtp")
    assert "AADSTS90002" in str(raised.value)
    assert not raised.value.reauthorise  # a setting, perhaps a passing outage: retried

    channel = configure(channel, oauth_tenant="", oauth_client_id="bukan-aplikasi-kami")
    with pytest.raises(oauth.OAuthError) as raised:
        oauth.bearer(channel, "smtp")
    assert "Check the client ID and secret" in str(raised.value)
    assert raised.value.reauthorise


def test_missing_settings_and_an_unreachable_endpoint_are_explained(
    shop: Shop, tokens: TokenServer
) -> None:
    channel = configure(shop.email, imap_auth="oauth2", oauth_provider="google")
    with pytest.raises(oauth.OAuthError, match="No OAuth2 refresh token is stored for IMAP"):
        oauth.bearer(channel, "imap")

    channel = google(shop.email, tokens, oauth_endpoint="http://127.0.0.1:9/token")
    with pytest.raises(oauth.OAuthError, match="could not be reached") as raised:
        oauth.bearer(channel, "imap")
    assert not raised.value.reauthorise


# --- a real XOAUTH2 login: Dovecot validates the token at the emulator ------------------------

# Appended to dovecot.CONFIG, which is then formatted: hence the doubled braces.
OAUTH_PASSDB = """
auth_mechanisms = plain login xoauth2
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = ARGS
}}
"""


@pytest.fixture
def oauth_dovecot(tokens: TokenServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    folder = Path(tempfile.mkdtemp(prefix="loket-oauth2-"))
    folder.chmod(0o755)
    args = folder / "dovecot-oauth2.conf.ext"
    args.write_text(
        "introspection_mode = post\n"
        f"introspection_url = {tokens.url}/introspect\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    args.chmod(0o644)
    config = dovecot_module.CONFIG.replace("auth_mechanisms = plain login\n", "")
    monkeypatch.setattr(dovecot_module, "CONFIG", config + OAUTH_PASSDB.replace("ARGS", str(args)))
    try:
        with running_dovecot() as server:
            yield server
    finally:
        args.unlink()
        os.rmdir(folder)


def test_an_imap_fetch_logs_in_with_an_oauth2_token(
    shop: Shop, tokens: TokenServer, oauth_dovecot: Dovecot
) -> None:
    channel = google(
        shop.email,
        tokens,
        imap_host=oauth_dovecot.host,
        imap_port=oauth_dovecot.port,
        imap_security="none",
        imap_user=USER,
        imap_password="",  # no password at all: only the token can log in
    )
    oauth_dovecot.append(
        b"From: Rudi <rudi@contoh.co.id>\r\nTo: cs@batiksari.id\r\nSubject: Stok\r\n"
        b"Message-ID: <oauth-1@contoh.co.id>\r\n\r\nMasih ada kak?\r\n"
    )
    result = imap.fetch_once(channel)
    assert result.ok, result.error
    assert Delivery.objects.get(pk=result.stored[0]).headers["message_id"] == "oauth-1@contoh.co.id"

    # The provider revokes the access token early: the login fails, the cached token is
    # dropped, and the next fetch logs in with a fresh one.
    tokens.revoke_access()
    result = imap.fetch_once(channel)
    assert "refused the login" in result.error
    assert "oauth_access_token" not in Channel.objects.get(pk=channel.pk).config
    channel.refresh_from_db()
    result = imap.fetch_once(channel)
    assert result.ok, result.error
    assert len(tokens.requests) == 2


def test_a_revoked_grant_stops_fetching_until_an_admin_authorises_again(
    shop: Shop, tokens: TokenServer, oauth_dovecot: Dovecot
) -> None:
    from loket.channels import services
    from loket.channels.management.commands.email_fetch import Command, Watcher

    channel = google(
        shop.email,
        tokens,
        imap_host=oauth_dovecot.host,
        imap_port=oauth_dovecot.port,
        imap_security="none",
        imap_user=USER,
    )
    tokens.revoke(secrets.get(channel, "oauth_refresh_token"))
    result = imap.fetch_once(channel)
    assert result.reauthorise
    assert "Re-authorise the mailbox" in result.error
    channel.refresh_from_db()
    assert imap.health(channel).reauthorise
    shop.sari.language = "en"
    shop.sari.save(update_fields=["language"])
    client = Client()
    client.force_login(shop.sari)
    page = client.get(reverse("web:manage:channel", args=[channel.pk])).content.decode()
    assert "Authorise it again and store the new refresh token below" in page
    page = client.get(reverse("web:manage:channels")).content.decode()
    assert "Authorise the mailbox again" in page

    # The watcher waits for a new authorisation: an admin stores a new refresh token.
    services.update_channel(
        channel,
        actor=None,
        config={"oauth_refresh_token": tokens.grant(USER, "loket.apps.googleusercontent.com")},
    )
    watcher = Watcher(Command(), channel.pk, 0.05)
    safety = threading.Timer(20, watcher.halt.set)  # not expected to fire
    safety.start()
    try:
        watcher._await_authorisation(channel)
    finally:
        safety.cancel()
    assert not watcher.halt.is_set()  # it ended because of the new token

    channel.refresh_from_db()
    result = imap.fetch_once(channel)
    assert result.ok, result.error
    channel.refresh_from_db()
    assert not imap.health(channel).reauthorise


def test_processes_needing_a_token_at_once_refresh_it_once(
    tmp_path: Path, tokens: TokenServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Microsoft rotates refresh tokens and the emulator, strictly, retires the old one at
    # once: two refreshes with the same token would cost the mailbox its authorisation.
    from loket.core.tests.processes import loket_argv, loket_env, migrated_data_dir, run_loket

    data_dir = migrated_data_dir(tmp_path / "data")
    monkeypatch.setenv("MS_REFRESH", tokens.grant(USER, "6731de76-14a6-49ae-97bc-6eba6914391e"))
    added = run_loket(
        data_dir,
        "channel", "add", "email",
        "--address", "cs@tokobatik.onmicrosoft.com",
        "--imap-host", "127.0.0.1",
        "--imap-user", "cs@tokobatik.onmicrosoft.com",
        "--imap-auth", "oauth2",
        "--oauth-provider", "custom",
        "--oauth-client-id", "6731de76-14a6-49ae-97bc-6eba6914391e",
        "--oauth-endpoint", tokens.url + "/{tenant}/oauth2/v2.0/token",
        "--oauth-refresh-token-env", "MS_REFRESH",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    script = (
        "from loket.channels.email import oauth; from loket.channels.models import Channel; "
        "print('TOKEN', oauth.bearer(Channel.objects.get(), 'imap'))"
    )
    children = [
        subprocess.Popen(
            loket_argv("shell", "-c", script),
            env=loket_env(data_dir),
            cwd=data_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [child.communicate(timeout=120)[0].decode() for child in children]
    assert [child.returncode for child in children] == [0, 0, 0, 0], outputs
    tokens_seen = {
        line.split()[1] for out in outputs for line in out.splitlines() if "TOKEN" in line
    }
    assert len(tokens_seen) == 1
    assert tokens.introspect(tokens_seen.pop())["active"]
    assert len(tokens.requests) == 1
