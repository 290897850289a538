"""The presence line on a ticket page: heartbeats in, "Budi sedang mengetik…" out."""

from __future__ import annotations

import pytest
from django.test import Client

from loket.accounts.models import User
from loket.conftest import Shop
from loket.presence.models import Presence


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_colleague_typing_shows_on_the_ticket(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    budi, joko = signed_in(shop.budi), signed_in(shop.joko)

    assert budi.post(f"/live/presence/{ticket.number}/", {"state": "typing"}).status_code == 204
    assert joko.post(f"/live/presence/{ticket.number}/", {"state": "viewing"}).status_code == 204

    page = joko.get(f"/live/presence/{ticket.number}/", headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert "Budi Santoso sedang mengetik…" in page.content.decode()
    assert "Joko" not in page.content.decode()  # not oneself

    line = budi.get(f"/live/presence/{ticket.number}/").content.decode()
    assert "Joko Susilo sedang melihat" in line


def test_an_htmx_beat_answers_with_the_fragment(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    signed_in(shop.joko).post(f"/live/presence/{ticket.number}/", {"state": "viewing"})
    response = signed_in(shop.budi).post(
        f"/live/presence/{ticket.number}/", {"state": "viewing"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Joko Susilo" in response.content.decode()


def test_leaving_the_page(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    budi = signed_in(shop.budi)
    budi.post(f"/live/presence/{ticket.number}/", {"state": "viewing"})
    budi.post(f"/live/presence/{ticket.number}/", {"state": "left"})
    assert not Presence.objects.exists()


def test_an_agent_cannot_beat_on_or_watch_a_ticket_of_another_team(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")  # Penjualan
    wati = signed_in(shop.wati)
    assert wati.post(f"/live/presence/{ticket.number}/", {"state": "viewing"}).status_code == 404
    assert wati.get(f"/live/presence/{ticket.number}/").status_code == 404
    assert not Presence.objects.exists()


def test_a_bad_state_is_refused(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    response = signed_in(shop.budi).post(f"/live/presence/{ticket.number}/", {"state": "nap"})
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["get", "post"])
def test_signed_out_visitors_are_sent_to_sign_in(shop: Shop, method: str) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    response = getattr(Client(), method)(f"/live/presence/{ticket.number}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/masuk/")


def test_the_presence_template_polls_its_own_fragment(shop: Shop) -> None:
    from django.template.loader import render_to_string

    ticket = shop.whatsapp_from_dewi("Halo")
    html = render_to_string("web/live/presence.html", {"ticket": ticket})
    assert f'data-presence="{ticket.number}"' in html
    assert f'hx-get="/live/presence/{ticket.number}/"' in html
