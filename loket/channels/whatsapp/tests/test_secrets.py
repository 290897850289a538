"""Channel credentials are encrypted at rest and read only through ``secrets.get``."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse

from loket.audit.models import Event
from loket.channels import secrets, services
from loket.channels.forms import form_for, masked_config
from loket.channels.models import Channel
from loket.channels.whatsapp.tests.config_support import (
    ACCESS_TOKEN,
    APP_SECRET,
    VERIFY_TOKEN,
    whatsapp_channel,
)
from loket.conftest import Shop
from loket.core import crypto

pytestmark = pytest.mark.django_db

TOKEN = ACCESS_TOKEN
VERIFY = VERIFY_TOKEN


def whatsapp(shop: Shop) -> Channel:
    return whatsapp_channel(shop.sales, name="WA Grosir")


def raw_config(channel: Channel) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM channels_channel WHERE id = %s", [channel.pk])
        return str(cursor.fetchone()[0])


def test_the_database_row_never_holds_a_secret_in_clear(shop: Shop) -> None:
    channel = whatsapp(shop)
    row = raw_config(channel)
    for secret in (TOKEN, APP_SECRET, VERIFY):
        assert secret not in row
    assert "109876543210987" in row  # ids are not secrets
    assert row.count("enc:v1:") == 3
    channel = Channel.objects.get(pk=channel.pk)
    assert secrets.get(channel, "access_token") == TOKEN
    assert secrets.get(channel, "app_secret") == APP_SECRET
    assert secrets.get(channel, "verify_token") == VERIFY
    assert secrets.get(channel, "unset") == ""


def test_an_unchanged_secret_is_not_reported_as_changed(shop: Shop) -> None:
    channel = whatsapp(shop)
    services.update_channel(
        channel, actor=shop.sari, config={"access_token": TOKEN, "verify_token": "baru-1234"}
    )
    event = Event.objects.filter(kind="channel.changed").latest("pk")
    assert event.data == {"fields": ["verify_token"]}
    assert VERIFY not in str(event.data)
    assert "baru-1234" not in str(event.data)
    channel.refresh_from_db()
    assert secrets.get(channel, "verify_token") == "baru-1234"
    assert "baru-1234" not in raw_config(channel)


def test_a_credential_looking_key_of_any_kind_is_encrypted(shop: Shop) -> None:
    channel = Channel.objects.create(
        kind="email", name="Grosir", config={"smtp_password": "pw-1", "api_key": "k-2"}
    )
    row = raw_config(channel)
    assert "pw-1" not in row
    assert "k-2" not in row
    assert secrets.get(channel, "api_key") == "k-2"


def test_a_wrong_key_gives_a_clear_error_and_the_form_still_opens(
    shop: Shop, settings: Any
) -> None:
    channel = whatsapp(shop)
    settings.LOKET_ENCRYPTION_KEYS = [crypto.generate_key()]
    with pytest.raises(crypto.DecryptionError, match="encrypted with another key"):
        secrets.get(channel, "access_token")
    assert masked_config(channel)["access_token"] == "••••?"
    html = str(form_for("whatsapp")(channel=channel))  # renders; the secret is typed again
    assert TOKEN not in html
    assert "enc:v1:" not in html


def test_rotation_re_encrypts_with_the_new_key(shop: Shop, settings: Any) -> None:
    channel = whatsapp(shop)
    before = raw_config(channel)
    old = settings.LOKET_ENCRYPTION_KEYS[0]
    settings.LOKET_ENCRYPTION_KEYS = [crypto.generate_key(), old]
    assert secrets.rotate(Channel.objects.get(pk=channel.pk))
    settings.LOKET_ENCRYPTION_KEYS = settings.LOKET_ENCRYPTION_KEYS[:1]
    channel = Channel.objects.get(pk=channel.pk)
    assert raw_config(channel) != before
    assert secrets.get(channel, "app_secret") == APP_SECRET


def test_the_admin_pages_never_show_a_secret(shop: Shop, admin_client: Client) -> None:
    channel = whatsapp(shop)
    client = Client()
    client.force_login(shop.sari)
    pages = [
        client.get(reverse("web:manage:channel", args=[channel.pk])),
        client.get(reverse("web:manage:channels")),
        admin_client.get(f"/admin/channels/channel/{channel.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        for secret in (TOKEN, APP_SECRET, VERIFY):
            assert secret not in text
        assert "enc:v1:" not in text


def test_the_migration_encrypts_plain_secrets_already_stored(shop: Shop) -> None:
    channel = whatsapp(shop)
    plain = {**channel.config, "access_token": TOKEN, "app_secret": APP_SECRET}
    Channel.objects.filter(pk=channel.pk).update(config=plain)  # as before encryption
    assert TOKEN in raw_config(channel)
    channel.refresh_from_db()
    assert secrets.get(channel, "access_token") == TOKEN  # a plain value still reads

    migration = importlib.import_module("loket.channels.migrations.0003_encrypt_secrets")
    migration.encrypt(apps, None)
    row = raw_config(channel)
    assert TOKEN not in row
    assert APP_SECRET not in row
    channel.refresh_from_db()
    assert secrets.get(channel, "access_token") == TOKEN

    migration.decrypt(apps, None)
    assert TOKEN in raw_config(channel)
