"""The email channel's settings form: the mailbox, its aliases, IMAP and SMTP with password or
OAuth2 login, and what happens to fetched mail; with clear errors, and secrets kept secret."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from loket.channels import secrets, services
from loket.channels.email.forms import EmailChannelForm
from loket.channels.email.inbound import forget_addresses, is_ours
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.core import crypto

REFRESH = "1//0g-refresh-rahasia-XYZ"
CLIENT_SECRET = "GOCSPX-klien-rahasia"
IMAP_PASSWORD = "imap-rahasia-123"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def data(**changes: Any) -> dict[str, Any]:
    base = {
        "email_address": "CS@BatikSari.id",
        "name": "Email CS",
        "imap_host": "imap.gmail.com",
        "imap_security": "tls",
        "imap_user": "cs@batiksari.id",
        "imap_password": IMAP_PASSWORD,
        "smtp_host": "smtp.gmail.com",
        "smtp_security": "starttls",
        "smtp_user": "cs@batiksari.id",
        "smtp_password": "smtp-rahasia-456",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def oauth_data(**changes: Any) -> dict[str, Any]:
    oauth: dict[str, Any] = {
        "imap_auth": "oauth2",
        "smtp_auth": "oauth2",
        "imap_password": None,
        "smtp_password": None,
        "oauth_provider": "google",
        "oauth_client_id": "1234.apps.googleusercontent.com",
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_refresh_token": REFRESH,
    }
    return data(**{**oauth, **changes})


def errors(form: EmailChannelForm) -> dict[str, list[str]]:
    assert not form.is_valid()
    return {name: [str(e) for e in errs] for name, errs in form.errors.items()}


def save(form: EmailChannelForm) -> Channel:
    assert form.is_valid(), form.errors
    return services.create_channel(
        kind="email",
        name=form.channel_name(),
        address=form.address(),
        team=form.cleaned_data["team"],
        config=form.config(),
        actor=None,
    )


@pytest.mark.django_db
def test_a_password_mailbox_gets_its_defaults() -> None:
    form = EmailChannelForm(data())
    channel = save(form)
    config = channel.config
    assert channel.address == "cs@batiksari.id"
    assert (config["imap_port"], config["smtp_port"]) == (993, 587)
    assert (config["imap_folder"], config["imap_after"], config["imap_move_to"]) == (
        "INBOX",
        "flag",
        "",
    )
    assert (config["imap_auth"], config["smtp_auth"]) == ("password", "password")
    assert config["smtp_max_bytes"] == 25 * 1024 * 1024
    assert config["aliases"] == []
    assert secrets.get(channel, "imap_password") == IMAP_PASSWORD
    assert IMAP_PASSWORD not in str(config)


@pytest.mark.django_db
def test_aliases_are_validated_and_count_as_our_own_addresses() -> None:
    form = EmailChannelForm(data(aliases="info@batiksari.id; bukan-alamat,\nhalo@"))
    assert errors(form)["aliases"] == ["Not an email address: bukan-alamat, halo@"]

    form = EmailChannelForm(
        data(aliases="Info@BatikSari.id, cs@batiksari.id\nGrosir@batiksari.id info@batiksari.id")
    )
    channel = save(form)
    # Lower-cased, without duplicates, without the channel's own address.
    assert channel.config["aliases"] == ["info@batiksari.id", "grosir@batiksari.id"]
    forget_addresses()
    assert is_ours("grosir@batiksari.id")
    assert is_ours("info+promo@batiksari.id")
    assert not is_ours("rudi@contoh.co.id")
    edit = EmailChannelForm(channel=channel)
    assert edit.initial["aliases"] == "info@batiksari.id, grosir@batiksari.id"


@pytest.mark.django_db
def test_an_imap_server_needs_a_user_and_a_password() -> None:
    found = errors(EmailChannelForm(data(imap_user="", imap_password="")))
    assert found["imap_user"] == ["Give the user name that logs in to the IMAP server."]
    assert found["imap_password"] == ["Give the IMAP password (or log in with OAuth2)."]
    # Without an IMAP server (mail arrives by the listener or the MTA pipe) neither is needed.
    assert EmailChannelForm(data(imap_host="", imap_user="", imap_password="")).is_valid()


@pytest.mark.django_db
def test_moving_fetched_mail_needs_another_folder() -> None:
    found = errors(EmailChannelForm(data(imap_after="move")))
    assert found["imap_move_to"] == ["Name the folder mail is moved to."]
    found = errors(EmailChannelForm(data(imap_after="move", imap_move_to="inbox")))
    assert found["imap_move_to"] == ["Mail cannot be moved into the folder it is read from."]
    channel = save(EmailChannelForm(data(imap_after="move", imap_move_to=" Diproses ")))
    assert (channel.config["imap_after"], channel.config["imap_move_to"]) == ("move", "Diproses")


@pytest.mark.django_db
def test_oauth2_needs_a_client_and_saves_before_it_is_authorised() -> None:
    found = errors(
        EmailChannelForm(oauth_data(oauth_refresh_token="", oauth_client_id="", smtp_host=""))
    )
    assert "oauth_refresh_token" not in found  # the Authorise button gets one after saving
    assert found["oauth_client_id"] == ["OAuth2 login needs the client ID."]
    assert "imap_password" not in found  # no password when the token logs in

    found = errors(EmailChannelForm(oauth_data(oauth_provider="custom")))
    assert found["oauth_endpoint"] == ["Give the provider's OAuth2 token URL."]
    found = errors(
        EmailChannelForm(
            oauth_data(oauth_provider="custom", oauth_endpoint="http://sso.toko.id/token")
        )
    )
    assert found["oauth_endpoint"] == ["The token URL must use https://."]


@pytest.mark.django_db
def test_the_token_url_is_prefilled_per_provider_and_the_tenant_kept() -> None:
    channel = save(EmailChannelForm(oauth_data()))
    assert channel.config["oauth_endpoint"] == "https://oauth2.googleapis.com/token"

    form = EmailChannelForm(
        oauth_data(oauth_provider="microsoft", oauth_tenant="batiksari.onmicrosoft.com"),
        channel=channel,
    )
    assert form.is_valid(), form.errors
    config = form.config()
    # The Google URL that was filled in follows the change of provider.
    assert config["oauth_endpoint"] == (
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    )
    assert config["oauth_tenant"] == "batiksari.onmicrosoft.com"
    assert EmailChannelForm(oauth_data(oauth_provider="microsoft")).is_valid()
    bad = errors(EmailChannelForm(oauth_data(oauth_provider="microsoft", oauth_tenant="a/b")))
    assert bad["oauth_tenant"] == ["A tenant is a directory ID or a domain name."]


@pytest.mark.django_db
def test_oauth2_secrets_are_encrypted_never_shown_back_and_kept_when_left_empty() -> None:
    channel = save(EmailChannelForm(oauth_data()))
    for name, value in (("oauth_refresh_token", REFRESH), ("oauth_client_secret", CLIENT_SECRET)):
        assert crypto.is_encrypted(channel.config[name])
        assert secrets.get(channel, name) == value

    edit = EmailChannelForm(channel=channel)
    page = edit.as_div()
    assert REFRESH not in page
    assert CLIENT_SECRET not in page
    assert "Stored: ••••" in page

    # Saved again with the secret fields empty: the stored ones stay.
    form = EmailChannelForm(
        oauth_data(oauth_refresh_token="", oauth_client_secret=""), channel=channel
    )
    assert form.is_valid(), form.errors
    channel = services.update_channel(channel, actor=None, config=form.config())
    assert secrets.get(channel, "oauth_refresh_token") == REFRESH


@pytest.mark.django_db
def test_a_new_refresh_token_drops_the_cached_access_token() -> None:
    channel = save(EmailChannelForm(oauth_data()))
    channel = services.update_channel(
        channel,
        actor=None,
        config={"oauth_access_token": "ya29.lama", "oauth_expires_at": 9_999_999_999},
    )
    form = EmailChannelForm(oauth_data(oauth_refresh_token="1//baru"), channel=channel)
    assert form.is_valid(), form.errors
    channel = services.update_channel(channel, actor=None, config=form.config())
    assert secrets.get(channel, "oauth_access_token") == ""
    assert secrets.get(channel, "oauth_refresh_token") == "1//baru"


@pytest.mark.django_db
def test_the_smtp_size_limit_is_kept(shop: Shop) -> None:
    assert errors(EmailChannelForm(data(smtp_max_mb="0")))["smtp_max_mb"]
    channel = save(EmailChannelForm(data(smtp_max_mb="35", team=shop.sales.pk)))
    assert channel.config["smtp_max_bytes"] == 35 * 1024 * 1024
    assert channel.team == shop.sales
    assert EmailChannelForm(channel=channel).initial["smtp_max_mb"] == 35


@pytest.mark.django_db
def test_the_settings_page_groups_every_field_once_and_folds_oauth_away_unless_used() -> None:
    form = EmailChannelForm()
    grouped = [field.name for section in form.sections() for field in section["fields"]]
    assert sorted(grouped) == sorted(form.fields)
    assert len(grouped) == len(set(grouped))
    oauth = {s["id"]: s for s in form.sections()}["oauth"]
    assert oauth["folds"]
    assert not oauth["open"]

    assert {s["id"]: s for s in EmailChannelForm(oauth_data()).sections()}["oauth"]["open"]
    broken = EmailChannelForm(data(oauth_endpoint="bukan url"))
    assert not broken.is_valid()
    assert {s["id"]: s for s in broken.sections()}["oauth"]["open"]  # its error is seen
