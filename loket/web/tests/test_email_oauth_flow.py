"""Authorising an email channel's mailbox with Google or Microsoft from the settings page:
the authorization-code flow with PKCE, end to end against the local OAuth2 emulator (its
consent page and token endpoint), with a real HTTP client between Loket and the emulator."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from loket.accounts.models import User
from loket.audit.models import Event
from loket.channels import secrets
from loket.channels.email import imap, oauth
from loket.channels.email.tests.oauth_emulator import TokenServer, running_token_server
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.core import crypto

GOOGLE_CLIENT = "loket.apps.googleusercontent.com"
GOOGLE_SECRET = "GOCSPX-rahasia"
MICROSOFT_CLIENT = "6731de76-14a6-49ae-97bc-6eba6914391e"
MAILBOX = "cs@batiksari.id"


@pytest.fixture
def tokens() -> Iterator[TokenServer]:
    with running_token_server() as server:
        yield server


def redirect_uri() -> str:
    return settings.SITE_URL + reverse("web:manage:email_oauth_callback")


def signed_in(user: User) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def configure(channel: Channel, **config: object) -> Channel:
    channel.config = secrets.seal(channel.kind, {**channel.config, **config})
    channel.save()
    channel.refresh_from_db()
    return channel


def google(channel: Channel, tokens: TokenServer) -> Channel:
    tokens.register(GOOGLE_CLIENT, GOOGLE_SECRET, redirect_uri())
    return configure(
        channel,
        imap_user=MAILBOX,
        imap_auth="oauth2",
        oauth_provider="google",
        oauth_client_id=GOOGLE_CLIENT,
        oauth_client_secret=GOOGLE_SECRET,
        oauth_endpoint=tokens.url + "/google/token",
        oauth_authorize_endpoint=tokens.url + "/google/auth",
    )


def microsoft(channel: Channel, tokens: TokenServer, tenant: str) -> Channel:
    tokens.tenants.add(tenant)
    tokens.register(MICROSOFT_CLIENT, "", redirect_uri())  # a public client
    return configure(
        channel,
        imap_user=MAILBOX,
        imap_auth="oauth2",
        oauth_provider="microsoft",
        oauth_client_id=MICROSOFT_CLIENT,
        oauth_tenant=tenant,
        oauth_endpoint=tokens.url + "/{tenant}/oauth2/v2.0/token",
        oauth_authorize_endpoint=tokens.url + "/{tenant}/oauth2/v2.0/authorize",
    )


@dataclass
class Consent:
    """Where the consent page sent the browser back: the callback's path and query."""

    location: str

    @property
    def query(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(urlsplit(self.location).query).items()}

    @property
    def path(self) -> str:
        parts = urlsplit(self.location)
        return f"{parts.path}?{parts.query}"


def consent(client: Client, channel: Channel) -> Consent:
    """The admin presses the button; the browser follows Loket's 302 to the consent page,
    which answers with its own 302 back to Loket's callback."""
    started = client.post(reverse("web:manage:email_oauth_start", args=[channel.pk]))
    assert started.status_code == 302
    provider = httpx.get(started["Location"], follow_redirects=False, timeout=10)
    assert provider.status_code == 302, provider.text
    location = provider.headers["Location"]
    assert location.startswith(redirect_uri() + "?")
    return Consent(location)


def stored_refresh_token(channel: Channel) -> str:
    channel.refresh_from_db()
    return secrets.get(channel, "oauth_refresh_token")


def test_the_admin_authorises_a_gmail_mailbox_and_it_logs_in_with_the_stored_token(
    shop: Shop, tokens: TokenServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="loket")
    channel = google(shop.email, tokens)
    client = signed_in(shop.sari)

    back = consent(client, channel)
    asked = tokens.consents[-1]
    assert asked["path"] == "/google/auth"
    assert asked["client_id"] == GOOGLE_CLIENT
    assert asked["redirect_uri"] == redirect_uri()
    assert asked["response_type"] == "code"
    assert asked["scope"] == "https://mail.google.com/"
    assert asked["access_type"] == "offline"
    assert asked["prompt"] == "consent"
    assert asked["login_hint"] == MAILBOX
    assert asked["code_challenge_method"] == "S256"
    assert asked["code_challenge"] != ""
    assert "code_verifier" not in asked

    response = client.get(back.path, follow=True)
    assert response.redirect_chain == [(reverse("web:manage:channel", args=[channel.pk]), 302)]
    with translation.override("en"):
        assert "is authorised" in response.content.decode()

    channel.refresh_from_db()
    assert crypto.is_encrypted(channel.config["oauth_refresh_token"])
    assert crypto.is_encrypted(channel.config[oauth.ACCESS_KEY])
    refresh = secrets.get(channel, "oauth_refresh_token")
    assert tokens.refresh_tokens[refresh].user == MAILBOX
    exchange = tokens.requests[-1]
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["client_secret"] == GOOGLE_SECRET

    # The stored grant works: a fresh access token from the emulator with it.
    oauth.forget(channel)
    access = oauth.bearer(channel, "imap")
    assert tokens.requests[-1]["grant_type"] == "refresh_token"
    assert tokens.requests[-1]["refresh_token"] == refresh
    assert tokens.introspect(access) == {
        "active": True,
        "username": MAILBOX,
        "scope": "https://mail.google.com/",
    }

    event = Event.objects.get(kind="channel.oauth_authorised")
    assert event.subject_id == channel.pk
    assert event.actor_id == shop.sari.pk
    assert event.data == {"channel_id": channel.pk, "provider": "google"}
    assert "OAuth2 authorisation stored" in caplog.text
    for secret in (back.query["code"], refresh, exchange["code_verifier"], access):
        assert secret not in caplog.text
        assert quote(secret, safe="") not in caplog.text
        assert secret not in json.dumps(event.data)


def test_a_microsoft_365_mailbox_in_its_own_tenant_is_authorised_and_rotates(
    shop: Shop, tokens: TokenServer
) -> None:
    channel = microsoft(shop.email, tokens, "batiksari.onmicrosoft.com")
    client = signed_in(shop.sari)

    back = consent(client, channel)
    asked = tokens.consents[-1]
    assert asked["path"] == "/batiksari.onmicrosoft.com/oauth2/v2.0/authorize"
    assert asked["scope"].split() == [
        "offline_access",
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        "https://outlook.office.com/SMTP.Send",
    ]
    assert "access_type" not in asked
    assert client.get(back.path).status_code == 302

    first = stored_refresh_token(channel)
    assert tokens.refresh_tokens[first].user == MAILBOX
    assert "client_secret" not in tokens.requests[-1]
    oauth.forget(channel)
    oauth.bearer(channel, "imap")
    assert tokens.requests[-1]["path"] == "/batiksari.onmicrosoft.com/oauth2/v2.0/token"
    rotated = stored_refresh_token(channel)
    assert rotated != first
    assert first not in tokens.refresh_tokens


def test_authorising_clears_the_reauthorise_flag_of_the_health(
    shop: Shop, tokens: TokenServer
) -> None:
    refused = "IMAP: The provider no longer accepts the mailbox's authorisation (invalid_grant)."
    channel = google(shop.email, tokens)
    configure(
        channel,
        imap_host="imap.gmail.com",
        oauth_refresh_token="1//revoked",
        imap_state={"reauthorise": True, "error": refused, "error_at": "2026-11-29T09:00:00"},
    )
    Channel.objects.filter(pk=channel.pk).update(last_error=refused)
    channel.refresh_from_db()
    assert imap.health(channel).reauthorise

    client = signed_in(shop.sari)
    page = client.get(reverse("web:manage:channel", args=[channel.pk])).content.decode()
    assert 'data-health="reauthorise"' in page
    assert client.get(consent(client, channel).path).status_code == 302

    channel.refresh_from_db()
    assert not imap.health(channel).reauthorise
    assert channel.last_error == ""
    assert stored_refresh_token(channel) != "1//revoked"
    page = client.get(reverse("web:manage:channel", args=[channel.pk])).content.decode()
    assert 'data-health="reauthorise"' not in page


@pytest.mark.parametrize("state", ["", "forged-state"])
def test_a_missing_or_forged_state_is_refused_and_nothing_is_stored(
    shop: Shop, tokens: TokenServer, state: str
) -> None:
    channel = google(shop.email, tokens)
    client = signed_in(shop.sari)
    back = consent(client, channel)

    query = f"?code={back.query['code']}" + (f"&state={state}" if state else "")
    response = client.get(reverse("web:manage:email_oauth_callback") + query)
    assert response.status_code == 400
    with translation.override("en"):
        assert "was not started here" in response.content.decode()
    assert stored_refresh_token(channel) == ""
    assert not [r for r in tokens.requests if r.get("grant_type") == "authorization_code"]
    assert not Event.objects.filter(kind="channel.oauth_authorised").exists()


def test_a_state_from_another_admins_session_is_refused(shop: Shop, tokens: TokenServer) -> None:
    channel = google(shop.email, tokens)
    back = consent(signed_in(shop.sari), channel)
    other = User.objects.create_user("rina@batiksari.id", "x", name="Rina", role="admin")

    response = signed_in(other).get(back.path)
    assert response.status_code == 400
    assert stored_refresh_token(channel) == ""


def test_an_authorisation_older_than_ten_minutes_is_refused(
    shop: Shop, tokens: TokenServer
) -> None:
    channel = google(shop.email, tokens)
    client = signed_in(shop.sari)
    back = consent(client, channel)

    with time_machine.travel(time.time() + 11 * 60):
        response = client.get(back.path)
    assert response.status_code == 400
    assert stored_refresh_token(channel) == ""


def test_access_refused_at_the_provider_is_said_and_nothing_is_stored(
    shop: Shop, tokens: TokenServer
) -> None:
    channel = google(shop.email, tokens)
    tokens.deny = True
    client = signed_in(shop.sari)
    back = consent(client, channel)
    assert back.query["error"] == "access_denied"
    assert "code" not in back.query

    response = client.get(back.path, follow=True)
    assert response.redirect_chain == [(reverse("web:manage:channel", args=[channel.pk]), 302)]
    with translation.override("en"):
        assert "Access was refused on the provider" in response.content.decode()
    assert stored_refresh_token(channel) == ""
    assert not Event.objects.filter(kind="channel.oauth_authorised").exists()


def test_a_callback_used_twice_is_refused_the_second_time(shop: Shop, tokens: TokenServer) -> None:
    channel = google(shop.email, tokens)
    client = signed_in(shop.sari)
    back = consent(client, channel)
    assert client.get(back.path).status_code == 302
    first = stored_refresh_token(channel)

    assert client.get(back.path).status_code == 400  # the state worked once
    assert stored_refresh_token(channel) == first


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_a_reused_code_is_refused_by_the_provider_with_a_reason(
    shop: Shop, tokens: TokenServer, provider: str
) -> None:
    channel = (
        google(shop.email, tokens)
        if provider == "google"
        else microsoft(shop.email, tokens, "common")
    )
    client = signed_in(shop.sari)
    verifier = oauth.new_verifier()
    url = oauth.authorize_url(channel, redirect_uri(), "s1", verifier)
    location = httpx.get(url, follow_redirects=False, timeout=10).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    oauth.exchange_code(channel, code, redirect_uri(), verifier)
    first = stored_refresh_token(channel)

    with translation.override("en"), pytest.raises(oauth.OAuthError) as refused:
        oauth.exchange_code(channel, code, redirect_uri(), verifier)
    assert "invalid_grant" in str(refused.value)
    assert "Start the authorisation again" in str(refused.value)
    assert code not in str(refused.value)
    assert stored_refresh_token(channel) == first

    # Through the page: the error is shown on the channel's settings, nothing changes.
    client.post(reverse("web:manage:email_oauth_start", args=[channel.pk]))
    state = next(iter(client.session["email_oauth"]))
    response = client.get(
        reverse("web:manage:email_oauth_callback") + f"?code={code}&state={state}", follow=True
    )
    with translation.override("en"):
        assert "Start the authorisation again" in response.content.decode()
    assert stored_refresh_token(channel) == first


def test_the_code_is_bound_to_its_verifier_and_redirect_uri(
    shop: Shop, tokens: TokenServer
) -> None:
    channel = google(shop.email, tokens)
    for wrong_verifier, wrong_uri in ((True, False), (False, True)):
        verifier = oauth.new_verifier()
        url = oauth.authorize_url(channel, redirect_uri(), "s", verifier)
        location = httpx.get(url, follow_redirects=False, timeout=10).headers["Location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
        with pytest.raises(oauth.OAuthError):
            oauth.exchange_code(
                channel,
                code,
                redirect_uri() + ("x" if wrong_uri else ""),
                oauth.new_verifier() if wrong_verifier else verifier,
            )
    assert stored_refresh_token(channel) == ""


def test_an_unreachable_token_endpoint_is_a_reason_not_a_crash(shop: Shop) -> None:
    with running_token_server() as gone:
        url = gone.url
    channel = configure(
        shop.email,
        oauth_provider="google",
        oauth_client_id=GOOGLE_CLIENT,
        oauth_endpoint=url + "/google/token",
    )
    with translation.override("en"), pytest.raises(oauth.OAuthError) as failed:
        oauth.exchange_code(channel, "4/0Acode", redirect_uri(), oauth.new_verifier())
    assert "could not be reached" in str(failed.value)
    assert "4/0Acode" not in str(failed.value)


def test_the_real_providers_consent_pages_are_the_default(shop: Shop) -> None:
    channel = configure(
        shop.email, oauth_provider="microsoft", oauth_client_id="c", oauth_tenant="contoso.com"
    )
    url = oauth.authorize_url(channel, "https://loket.example/cb", "s", oauth.new_verifier())
    assert url.startswith(
        "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize?client_id=c&"
    )
    channel = configure(channel, oauth_provider="google")
    assert oauth.authorize_url(channel, "https://x/cb", "s", "v" * 43).startswith(
        "https://accounts.google.com/o/oauth2/v2/auth?"
    )
    # RFC 7636 appendix B's example.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("who", ["joko", "budi"])
def test_only_admins_may_start_or_finish_an_authorisation(
    shop: Shop, tokens: TokenServer, who: str
) -> None:
    channel = google(shop.email, tokens)
    back = consent(signed_in(shop.sari), channel)
    client = signed_in(getattr(shop, who))

    assert (
        client.post(reverse("web:manage:email_oauth_start", args=[channel.pk])).status_code == 403
    )
    assert client.get(back.path).status_code == 403
    assert tokens.consents[-1]["state"] == back.query["state"]  # no new consent page asked
    assert stored_refresh_token(channel) == ""


def test_starting_needs_a_post(shop: Shop, tokens: TokenServer) -> None:
    channel = google(shop.email, tokens)
    client = signed_in(shop.sari)
    assert client.get(reverse("web:manage:email_oauth_start", args=[channel.pk])).status_code == 405


def test_the_settings_page_shows_the_button_and_the_redirect_uri(
    shop: Shop, tokens: TokenServer
) -> None:
    client = signed_in(shop.sari)
    url = reverse("web:manage:channel", args=[shop.email.pk])
    start = reverse("web:manage:email_oauth_start", args=[shop.email.pk])

    page = client.get(url).content.decode()
    assert "data-oauth-not-ready" in page
    assert "data-oauth-start" not in page
    assert start not in page
    assert f"data-oauth-redirect-uri>{redirect_uri()}</code>" in page

    google(shop.email, tokens)
    page = client.get(url).content.decode()
    assert f'<form id="email-oauth-start" method="post" action="{start}" hidden>' in page
    assert "csrfmiddlewaretoken" in page.split('id="email-oauth-start"', 1)[1].split("</form>")[0]
    assert 'form="email-oauth-start"' in page
    with translation.override("en"):
        assert "Authorise with Google" in client.get(url).content.decode()
    assert "style=" not in page.split("data-oauth-authorise", 1)[1].split("</details>")[0]

    # Not offered while adding a channel (there is nothing to store the tokens on yet).
    page = client.get(reverse("web:manage:add_channel", args=["email"])).content.decode()
    assert "data-oauth-authorise" not in page


def test_the_consent_page_never_sends_a_code_to_an_unregistered_redirect_uri(
    shop: Shop, tokens: TokenServer
) -> None:
    channel = google(shop.email, tokens)
    url = oauth.authorize_url(channel, "https://evil.example/cb", "s", oauth.new_verifier())
    answer = httpx.get(url, follow_redirects=False, timeout=10)
    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert not tokens.codes
