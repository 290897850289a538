"""An admin is told, in the bell's list, when a WhatsApp channel stops working."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.channels.whatsapp.errors import flag_channel
from loket.channels.whatsapp.graph import GraphError
from loket.conftest import Shop
from loket.tickets import services

pytestmark = pytest.mark.django_db


def _page(user: User) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("web:tickets:notifications"))
    assert response.status_code == 200
    return response.content.decode()


def test_an_expired_token_reaches_the_admin_with_a_link_to_the_channel(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    reply = services.reply(ticket, shop.budi, "Halo kak Dewi")
    flag_channel(
        shop.whatsapp,
        GraphError(190, title="OAuthException", details="Session has expired", http_status=401),
        message=reply,
    )
    html = _page(shop.sari)
    channel_url = reverse("web:manage:channel", args=[shop.whatsapp.pk])
    assert f'href="{channel_url}"' in html
    assert shop.whatsapp.name in html
    assert "mentioned" not in html
    assert "menyebut" not in html
    # Agents are not told (they cannot fix it), and nothing links them to the admin pages.
    assert channel_url not in _page(shop.budi)
