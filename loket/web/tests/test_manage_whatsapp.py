"""Sari (admin) connects a WhatsApp number and keeps an eye on it.

- the settings page says what to paste into Meta (callback URL, the verify token's mask);
- "Check now" asks WhatsApp (the emulator, over HTTP) whether the token still works;
- the channels list shows last webhook, token state, quality and the number of templates;
- the templates page lists them with status, category, language and parameters and
  refreshes them from WhatsApp; only admins get in.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.channels.models import Channel
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.server import running_emulator
from loket.channels.whatsapp.emulator.state import ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN
from loket.channels.whatsapp.tests.config_support import emulated_channel
from loket.conftest import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def channel(shop: Shop, emu: Emulator) -> Channel:
    return emulated_channel(emu.base_url, shop.sales)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def no_secret_in(html: str) -> bool:
    return not any(s in html for s in (ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, "enc:v1:"))


def test_the_settings_page_says_what_to_paste_into_meta(
    shop: Shop, channel: Channel, settings: object
) -> None:
    html = signed_in(shop.sari).get(reverse("web:manage:channel", args=[channel.pk])).content
    page = html.decode()
    assert f"http://127.0.0.1:8000/webhooks/whatsapp/{channel.pk}/" in page
    assert "••••" + VERIFY_TOKEN[-4:] in page
    assert no_secret_in(page)
    assert "data-check-now" in page
    assert "data-webhook-not-public" in page  # the default SITE_URL is http://127.0.0.1:8000

    settings.SITE_URL = "https://cs.batiksari.id"  # type: ignore[attr-defined]
    public = signed_in(shop.sari).get(reverse("web:manage:channel", args=[channel.pk]))
    assert f"https://cs.batiksari.id/webhooks/whatsapp/{channel.pk}/" in public.content.decode()
    assert b"data-webhook-not-public" not in public.content


def test_check_now_records_a_valid_token(shop: Shop, channel: Channel) -> None:
    sari = signed_in(shop.sari)
    response = sari.post(reverse("web:manage:check_channel", args=[channel.pk]), follow=True)
    assert response.status_code == 200
    channel.refresh_from_db()
    assert channel.token_ok is True
    page = response.content.decode()
    assert "GREEN" in page
    assert "Batik Sari" in page
    assert no_secret_in(page)


def test_check_now_with_an_expired_token_shows_why(
    shop: Shop, channel: Channel, emu: Emulator
) -> None:
    emu.set_token_expired()
    response = signed_in(shop.sari).post(
        reverse("web:manage:check_channel", args=[channel.pk]), follow=True
    )
    channel.refresh_from_db()
    assert channel.token_ok is False
    assert "190" in response.content.decode()
    listing = signed_in(shop.sari).get(reverse("web:manage:channels")).content.decode()
    token_cell = listing.split('data-health="token"', 1)[1].split("</span><br>", 1)[0]
    assert 'class="health bad"' in token_cell


def test_the_templates_page_refreshes_from_whatsapp(shop: Shop, channel: Channel) -> None:
    sari = signed_in(shop.sari)
    url = reverse("web:manage:whatsapp_templates", args=[channel.pk])
    assert 'data-template-row="' not in sari.get(url).content.decode()
    response = sari.post(
        reverse("web:manage:refresh_whatsapp_templates", args=[channel.pk]), follow=True
    )
    page = response.content.decode()
    assert 'data-template-row="status_pesanan"' in page
    assert "UTILITY" in page
    assert "PROMOTIONAL" in page  # why diskon_kilat was rejected
    assert "<code>1</code> <code>2</code> <code>3</code>" in page
    listing = sari.get(reverse("web:manage:channels")).content.decode()
    assert "6 templat" in listing  # "6 templat" (Indonesian) or "6 templates"


def test_a_failed_refresh_says_so_and_keeps_the_list(
    shop: Shop, channel: Channel, emu: Emulator
) -> None:
    sari = signed_in(shop.sari)
    refresh = reverse("web:manage:refresh_whatsapp_templates", args=[channel.pk])
    sari.post(refresh)
    emu.set_token_expired()
    page = sari.post(refresh, follow=True).content.decode()
    assert "190" in page
    assert 'data-template-row="status_pesanan"' in page


def test_only_admins_reach_the_whatsapp_pages(shop: Shop, channel: Channel) -> None:
    joko = signed_in(shop.joko)  # a supervisor
    for name, method in (
        ("web:manage:whatsapp_templates", "get"),
        ("web:manage:refresh_whatsapp_templates", "post"),
        ("web:manage:check_channel", "post"),
    ):
        response = getattr(joko, method)(reverse(name, args=[channel.pk]))
        assert response.status_code == 403
    anonymous = Client().post(reverse("web:manage:check_channel", args=[channel.pk]))
    assert anonymous.status_code == 302
    channel.refresh_from_db()
    assert channel.token_checked_at is None


def test_an_email_channel_has_no_whatsapp_pages(shop: Shop) -> None:
    sari = signed_in(shop.sari)
    url = reverse("web:manage:whatsapp_templates", args=[shop.email.pk])
    assert sari.get(url).status_code == 404
    assert sari.post(reverse("web:manage:check_channel", args=[shop.email.pk])).status_code == 404


def test_checks_and_refreshes_need_a_post(shop: Shop, channel: Channel) -> None:
    sari = signed_in(shop.sari)
    assert sari.get(reverse("web:manage:check_channel", args=[channel.pk])).status_code == 405
    refresh = reverse("web:manage:refresh_whatsapp_templates", args=[channel.pk])
    assert sari.get(refresh).status_code == 405


def test_the_add_form_offers_mark_read_and_the_rate(shop: Shop) -> None:
    page = signed_in(shop.sari).get(reverse("web:manage:add_channel", args=["whatsapp"]))
    html = page.content.decode()
    assert '<label class="check" for="id_mark_read"><input type="checkbox" name="mark_read"' in html
    assert 'name="rate_per_second" value="80"' in html
