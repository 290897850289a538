"""Sari (admin) connects and looks after the channels.

- the list shows each channel's kind, address, team, last message in and last error;
- an email and a WhatsApp channel are added through their own forms;
- secrets are never shown back (only "••••" and the last four characters) and an empty
  secret field keeps the stored secret; the event log names fields, never values;
- a channel is turned off and on in place; its team decides where new conversations go.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.audit.models import Event
from loket.channels import secrets
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.core import clock

pytestmark = pytest.mark.django_db

SMTP_PASSWORD = "smtp-rahasia-8812"
IMAP_PASSWORD = "imap-rahasia-4417"
ACCESS_TOKEN = "EAAG-token-akses-panjang-sekali-9876"
APP_SECRET = "app-secret-0f1e2d3c4b5a"
VERIFY_TOKEN = "verifikasi-toko-5555"


def in_clear(channel: Channel) -> dict[str, object]:
    """The stored settings with secrets decrypted (they are stored encrypted)."""
    for key in ("access_token", "app_secret", "verify_token", "imap_password", "smtp_password"):
        if key in channel.config:
            assert channel.config[key] != secrets.get(channel, key)
    return {key: secrets.reveal(value) for key, value in channel.config.items()}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def email_form(shop: Shop, **extra: str) -> dict[str, str]:
    return {
        "email_address": "Info@BatikSari.id",
        "name": "Email Info",
        "team": str(shop.sales.pk),
        "imap_host": "imap.batiksari.id",
        "imap_port": "993",
        "imap_security": "tls",
        "imap_user": "info@batiksari.id",
        "imap_password": IMAP_PASSWORD,
        "smtp_host": "smtp.batiksari.id",
        "smtp_port": "587",
        "smtp_security": "starttls",
        "smtp_user": "info@batiksari.id",
        "smtp_password": SMTP_PASSWORD,
        **extra,
    }


def whatsapp_form(shop: Shop, **extra: str) -> dict[str, str]:
    return {
        "phone_number": "0811-2222-3333",
        "name": "WA Pengiriman",
        "team": str(shop.shipping.pk),
        "phone_number_id": "109876543210987",
        "waba_id": "102030405060708",
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "api_version": "v23.0",
        "base_url": "http://127.0.0.1:8199/graph/",
        "mark_read": "on",
        **extra,
    }


def secrets_in(text: str) -> list[str]:
    return [
        s
        for s in (SMTP_PASSWORD, IMAP_PASSWORD, ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN)
        if s in text
    ]


def test_the_list_shows_each_channels_health(shop: Shop) -> None:
    now = clock.now()
    Channel.objects.filter(pk=shop.whatsapp.pk).update(last_inbound_at=now - timedelta(minutes=3))
    Channel.objects.filter(pk=shop.email.pk).update(
        last_error="SMTPAuthenticationError: 535 login gagal", last_error_at=now
    )

    page = signed_in(shop.sari).get(reverse("web:manage:channels")).content.decode()

    wa_row = page.split(f'data-channel-row="{shop.whatsapp.pk}"')[1].split("</tr>")[0]
    assert "+6281100001111" in wa_row
    assert "Penjualan" in wa_row
    assert "3 mnt lalu" in wa_row
    assert "Tidak ada galat" in wa_row
    email_row = page.split(f'data-channel-row="{shop.email.pk}"')[1].split("</tr>")[0]
    assert "cs@batiksari.id" in email_row
    assert "Pengiriman" in email_row
    assert "535 login gagal" in email_row
    assert "Belum ada" in email_row  # no message in yet


def test_an_email_channel_is_added_through_its_form(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:add_channel", args=["email"]), email_form(shop)
    )

    assert response.status_code == 302
    channel = Channel.objects.get(address="info@batiksari.id")
    assert (channel.kind, channel.name, channel.team) == ("email", "Email Info", shop.sales)
    assert in_clear(channel) == {
        "imap_host": "imap.batiksari.id",
        "imap_port": 993,
        "imap_security": "tls",
        "imap_user": "info@batiksari.id",
        "imap_password": IMAP_PASSWORD,
        "smtp_host": "smtp.batiksari.id",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "smtp_user": "info@batiksari.id",
        "smtp_password": SMTP_PASSWORD,
        # Left at their defaults:
        "aliases": [],
        "imap_auth": "password",
        "imap_folder": "INBOX",
        "imap_after": "flag",
        "imap_move_to": "",
        "smtp_auth": "password",
        "smtp_max_bytes": 25 * 1024 * 1024,
        "oauth_provider": "google",
        "oauth_client_id": "",
        "oauth_tenant": "common",
        "oauth_endpoint": "https://oauth2.googleapis.com/token",
        "oauth_authorize_endpoint": "",
    }
    event = Event.objects.get(kind="channel.created", subject_id=channel.pk)
    assert event.actor_id == shop.sari.pk
    assert "smtp_password" in event.data["fields"]
    assert not secrets_in(str(event.data))


def test_a_whatsapp_channel_is_added_through_its_form(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:add_channel", args=["whatsapp"]), whatsapp_form(shop)
    )

    assert response.status_code == 302
    channel = Channel.objects.get(name="WA Pengiriman")
    assert channel.kind == "whatsapp"
    assert channel.address == "+6281122223333"
    assert channel.team == shop.shipping
    assert in_clear(channel) == {
        "phone_number_id": "109876543210987",
        "waba_id": "102030405060708",
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "api_version": "v23.0",
        "base_url": "http://127.0.0.1:8199/graph",
        "mark_read": True,
        "rate_per_second": 80,  # left empty: Meta's default
    }
    assert not secrets_in(str(Event.objects.get(kind="channel.created").data))


def test_a_form_with_mistakes_says_what_to_fix_and_keeps_no_secret(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:add_channel", args=["whatsapp"]),
        whatsapp_form(shop, phone_number_id="abc", api_version="23", phone_number="12"),
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "Hanya angka" in page
    assert "v23.0" in page
    assert "Ini bukan nomor telepon" in page
    assert not secrets_in(page)
    assert not Channel.objects.filter(name="WA Pengiriman").exists()


def test_secrets_are_never_shown_back_and_an_empty_field_keeps_them(shop: Shop) -> None:
    client = signed_in(shop.sari)
    client.post(reverse("web:manage:add_channel", args=["whatsapp"]), whatsapp_form(shop))
    channel = Channel.objects.get(name="WA Pengiriman")
    url = reverse("web:manage:channel", args=[channel.pk])

    page = client.get(url).content.decode()
    assert not secrets_in(page)
    assert "••••9876" in page  # the access token's last four
    assert "••••5a" not in page
    assert "109876543210987" in page  # ids are not secrets

    response = client.post(
        url,
        whatsapp_form(
            shop, access_token="", app_secret="", verify_token="baru-verifikasi-7777", team=""
        ),
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert secrets.get(channel, "access_token") == ACCESS_TOKEN
    assert secrets.get(channel, "app_secret") == APP_SECRET
    assert secrets.get(channel, "verify_token") == "baru-verifikasi-7777"
    assert channel.team is None
    event = Event.objects.get(kind="channel.changed", subject_id=channel.pk)
    assert event.data == {"fields": ["team", "verify_token"]}


def test_a_new_channel_needs_its_secrets(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:add_channel", args=["whatsapp"]),
        whatsapp_form(shop, access_token=""),
    )
    assert response.status_code == 422
    assert not Channel.objects.filter(name="WA Pengiriman").exists()


def test_an_email_channels_passwords_are_not_echoed(shop: Shop) -> None:
    client = signed_in(shop.sari)
    client.post(reverse("web:manage:add_channel", args=["email"]), email_form(shop))
    channel = Channel.objects.get(address="info@batiksari.id")

    page = client.get(reverse("web:manage:channel", args=[channel.pk])).content.decode()

    assert not secrets_in(page)
    assert "••••8812" in page
    assert "••••4417" in page
    assert "imap.batiksari.id" in page


def test_a_channel_is_turned_off_and_on_in_place(shop: Shop) -> None:
    client = signed_in(shop.sari)
    url = reverse("web:manage:toggle_channel", args=[shop.email.pk])

    response = client.post(url, {"enabled": "0"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    row = response.content.decode()
    assert row.strip().startswith("<tr")
    assert "Mati" in row
    shop.email.refresh_from_db()
    assert not shop.email.enabled
    assert Event.objects.filter(kind="channel.disabled", subject_id=shop.email.pk).exists()

    client.post(url, {"enabled": "1"})
    shop.email.refresh_from_db()
    assert shop.email.enabled
    assert Event.objects.filter(kind="channel.enabled", subject_id=shop.email.pk).exists()


def test_the_channel_team_routes_new_conversations(shop: Shop) -> None:
    client = signed_in(shop.sari)
    client.post(
        reverse("web:manage:channel", args=[shop.email.pk]),
        email_form(shop, email_address="cs@batiksari.id", name="Email CS", team=str(shop.sales.pk)),
    )

    shop.email.refresh_from_db()  # as a delivery loads its channel
    ticket = shop.email_from_rudi("Kak, batik tulis motif parang ada?")

    assert ticket.team == shop.sales


def test_the_django_admin_lists_the_settings_with_secrets_masked(
    shop: Shop, admin_client: Client
) -> None:
    signed_in(shop.sari).post(
        reverse("web:manage:add_channel", args=["whatsapp"]), whatsapp_form(shop)
    )
    channel = Channel.objects.get(name="WA Pengiriman")

    page = admin_client.get(f"/admin/channels/channel/{channel.pk}/change/").content.decode()

    assert "109876543210987" in page
    assert "••••9876" in page
    assert not secrets_in(page)
    assert reverse("web:manage:channel", args=[channel.pk]) in page
