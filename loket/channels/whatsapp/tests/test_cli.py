"""Channels from the command line: the same checks as the dashboard form, secrets kept out of
the shell history, a list with the health, templates and token checks against the emulator.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loket.audit.models import Event
from loket.channels import secrets
from loket.channels.models import Channel, Template
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.server import running_emulator
from loket.channels.whatsapp.emulator.state import TEMPLATES
from loket.channels.whatsapp.tests.config_support import (
    ACCESS_TOKEN,
    APP_SECRET,
    VERIFY_TOKEN,
    emulated_channel,
)
from loket.conftest import Shop

pytestmark = pytest.mark.django_db

WHATSAPP = [
    "channel", "add", "whatsapp",
    "--name", "WA Grosir",
    "--phone", "0811-2222-3333",
    "--phone-number-id", "109876543210987",
    "--waba-id", "102290129340398",
    "--team", "penjualan",
]  # fmt: skip


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_a_whatsapp_channel_is_added_with_the_forms_defaults(shop: Shop) -> None:
    out = run(
        *WHATSAPP,
        "--access-token", ACCESS_TOKEN,
        "--app-secret", APP_SECRET,
        "--verify-token", VERIFY_TOKEN,
    )  # fmt: skip
    channel = Channel.objects.get(name="WA Grosir")
    assert f"channel {channel.pk} added" in out
    assert f"/webhooks/whatsapp/{channel.pk}/" in out
    assert channel.address == "+6281122223333"
    assert channel.team == shop.sales
    assert channel.config["api_version"] == "v23.0"
    assert channel.config["base_url"] == "https://graph.facebook.com"
    assert channel.config["rate_per_second"] == 80
    assert channel.config["mark_read"] is True
    assert secrets.get(channel, "access_token") == ACCESS_TOKEN
    assert ACCESS_TOKEN not in str(channel.config)
    assert ACCESS_TOKEN not in out
    assert "access_token" in Event.objects.get(kind="channel.created").data["fields"]


def test_secrets_come_from_the_environment_or_standard_input(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOKET_CHANNEL_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("LOKET_CHANNEL_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setattr("sys.stdin", io.StringIO(APP_SECRET + "\n"))
    run(*WHATSAPP, "--app-secret", "-", "--no-mark-read", "--base-url", "http://127.0.0.1:9/")
    channel = Channel.objects.get(name="WA Grosir")
    assert secrets.get(channel, "access_token") == ACCESS_TOKEN
    assert secrets.get(channel, "app_secret") == APP_SECRET
    assert secrets.get(channel, "verify_token") == VERIFY_TOKEN
    assert channel.config["mark_read"] is False
    assert channel.config["base_url"] == "http://127.0.0.1:9"


def test_the_forms_checks_apply_and_nothing_is_added(shop: Shop) -> None:
    with pytest.raises(CommandError) as caught:
        run(
            "channel", "add", "whatsapp",
            "--phone-number-id", "12ab",
            "--waba-id", "102290129340398",
            "--api-version", "23",
        )  # fmt: skip
    message = str(caught.value)
    assert "--phone-number-id" in message
    assert "--access-token" in message  # required, and not in the environment
    assert "--api-version" in message
    assert not Channel.objects.filter(kind="whatsapp").exclude(pk=shop.whatsapp.pk).exists()


def test_an_unknown_team_is_named(shop: Shop) -> None:
    with pytest.raises(CommandError, match=r"No team named 'Gudang'.*Penjualan"):
        run(*WHATSAPP[:-1], "Gudang", "--access-token", "a", "--app-secret", "b",
            "--verify-token", "c")  # fmt: skip


def test_an_email_channel_is_added_through_its_form(shop: Shop) -> None:
    run(
        "channel", "add", "email",
        "--address", "Grosir@BatikSari.id",
        "--smtp-host", "smtp.batiksari.id",
        "--smtp-user", "grosir@batiksari.id",
        "--smtp-password", "smtp-rahasia-1",
        "--team", "Pengiriman",
    )  # fmt: skip
    channel = Channel.objects.get(address="grosir@batiksari.id")
    assert channel.config["smtp_port"] == 587
    assert channel.config["smtp_security"] == "starttls"
    assert secrets.get(channel, "smtp_password") == "smtp-rahasia-1"
    assert "smtp-rahasia-1" not in str(channel.config)


def test_the_list_shows_every_channel_with_its_health(shop: Shop) -> None:
    Channel.objects.filter(pk=shop.whatsapp.pk).update(token_ok=False, last_error="(190: expired)")
    out = run("channel", "list")
    assert "WhatsApp Toko" in out
    assert "Email CS" in out
    assert "token NOT ACCEPTED" in out
    assert "ERROR" in out


def test_rotate_secrets_re_encrypts_with_the_new_first_key(shop: Shop, settings: Any) -> None:
    run(*WHATSAPP, "--access-token", ACCESS_TOKEN, "--app-secret", "b", "--verify-token", "c")
    channel = Channel.objects.get(name="WA Grosir")
    before = channel.config["access_token"]
    new_key = run("channel", "generate-key").strip()
    keys = settings.LOKET_ENCRYPTION_KEYS
    settings.LOKET_ENCRYPTION_KEYS = [new_key, *keys]
    assert "channel(s) re-encrypted" in run("channel", "rotate-secrets")
    settings.LOKET_ENCRYPTION_KEYS = [new_key]
    channel.refresh_from_db()
    assert channel.config["access_token"] != before
    assert secrets.get(channel, "access_token") == ACCESS_TOKEN


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


def test_templates_sync_and_token_check_against_whatsapp(shop: Shop, emu: Emulator) -> None:
    channel = emulated_channel(emu.base_url, shop.sales)
    out = run("whatsapp", "templates", "sync", "--channel", str(channel.pk))
    assert f"{len(TEMPLATES)} new" in out
    assert Template.objects.filter(channel=channel).count() == len(TEMPLATES)
    assert "token valid" in run("whatsapp", "check", "--channel", str(channel.pk))
    emu.set_token_expired()
    with pytest.raises(CommandError, match="1 of 1"):
        run("whatsapp", "templates", "sync", "--channel", str(channel.pk))
    with pytest.raises(CommandError, match="No WhatsApp channel"):
        run("whatsapp", "check", "--channel", str(shop.email.pk))
