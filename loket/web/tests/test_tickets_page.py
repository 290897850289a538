"""The ticket page: the conversation per role, its hooks, its timeline, a pinned query count."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loket.accounts.models import User
from loket.channels.items import InboundAttachment
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message, Ticket

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(user: User, ticket: Ticket, *, htmx: bool = False) -> str:
    headers = {"HX-Request": "true"} if htmx else {}
    response = client_for(user).get(
        reverse("web:tickets:detail", args=[ticket.number]), headers=headers
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who", ["sari", "joko", "budi"])
def test_the_sales_team_and_the_owner_open_dewis_whatsapp_ticket(shop: Shop, who: str) -> None:
    ticket = shop.whatsapp_from_dewi("Kak, batik tulis motif parang masih ada?")
    html = page(getattr(shop, who), ticket)
    assert f'data-ticket="{ticket.number}"' in html
    assert f'data-live-ticket="{ticket.pk}"' in html
    assert 'hx-trigger="loket:refresh"' in html
    assert "batik tulis motif parang" in html
    assert "<main" in html


def test_wati_in_shipping_does_not_see_a_sales_ticket(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    client = client_for(shop.wati)
    url = reverse("web:tickets:detail", args=[ticket.number])
    assert client.get(url).status_code == 404
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 404
    for name in ("web:tickets:timeline", "web:tickets:side", "web:tickets:mentions"):
        assert client.get(reverse(name, args=[ticket.number])).status_code == 404


def test_budi_does_not_see_rudis_shipping_ticket_but_wati_does(shop: Shop) -> None:
    ticket = shop.email_from_rudi("Pesanan saya belum sampai")
    url = reverse("web:tickets:detail", args=[ticket.number])
    assert client_for(shop.budi).get(url).status_code == 404
    assert client_for(shop.joko).get(url).status_code == 404
    assert "belum sampai" in page(shop.wati, ticket)


def test_an_unknown_number_is_404_and_signed_out_agents_go_to_sign_in(shop: Shop) -> None:
    assert (
        client_for(shop.sari).get(reverse("web:tickets:detail", args=[999999])).status_code == 404
    )
    ticket = shop.whatsapp_from_dewi("Halo")
    response = Client().get(reverse("web:tickets:detail", args=[ticket.number]))
    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


def test_with_htmx_only_the_conversation_comes_back(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    html = page(shop.budi, ticket, htmx=True)
    assert "<main" not in html
    assert "<html" not in html
    assert f'data-ticket="{ticket.number}"' in html
    assert "data-composer" in html


def test_the_conversation_carries_the_hooks_the_browser_tests_use(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    message = tickets.reply(ticket, shop.budi, "Halo Kak Dewi, masih ada.")
    html = page(shop.budi, ticket)
    assert f'data-message-id="{message.pk}" data-status="queued"' in html
    assert re.search(r"<form[^>]*data-composer", html)
    assert re.search(r'<textarea name="text"', html)
    assert "data-send" in html
    assert re.search(r'<select id="status-\d+" name="status"', html)


def test_the_timeline_shows_system_events_as_lines(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    tickets.assign(ticket, shop.budi, actor=shop.joko)
    tickets.set_status(ticket, "pending", actor=shop.budi)
    tickets.set_tags(ticket, ["grosir"], actor=shop.budi)
    html = page(shop.budi, ticket)
    assert "Ditugaskan ke Budi Santoso" in html
    assert "Status: Tertunda" in html
    assert "+grosir" in html


def test_a_failed_reply_says_why_and_what_to_do(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    message = tickets.reply(ticket, shop.budi, "Halo kak")
    Message.objects.filter(pk=message.pk).update(
        delivery_status=DeliveryStatus.FAILED,
        failure_code="131047",
        failure_reason="Re-engagement message",
    )
    html = page(shop.budi, ticket)
    assert 'data-status="failed"' in html
    assert "Re-engagement message" in html
    assert "24 jam" in html


def test_our_queued_reply_makes_the_timeline_poll_until_it_is_sent(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    client = client_for(shop.budi)
    url = reverse("web:tickets:timeline", args=[ticket.number])
    assert 'hx-trigger="every 3s"' not in client.get(url).content.decode()
    message = tickets.reply(ticket, shop.budi, "Halo kak")
    assert 'hx-trigger="every 3s"' in client.get(url).content.decode()
    Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.SENT)
    html = client.get(url).content.decode()
    assert 'hx-trigger="every 3s"' not in html
    assert f'data-message-id="{message.pk}" data-status="sent"' in html


def test_a_long_email_starts_collapsed_and_its_html_is_offered(shop: Shop) -> None:
    ticket = shop.email_from_rudi("Paragraf keluhan. " * 200)
    Message.objects.filter(ticket=ticket).update(html="<p>Paragraf <b>keluhan</b></p>")
    html = page(shop.wati, ticket)
    assert 'class="long"' in html
    assert "<p>Paragraf <b>keluhan</b></p>" in html


def test_the_customer_panel_lists_every_identity_and_ticket_the_agent_may_see(shop: Shop) -> None:
    from loket.audit.services import SYSTEM
    from loket.contacts import services as contacts

    wa = shop.whatsapp_from_dewi("Halo dari WA")
    contacts.add_identity(wa.contact, "email", "dewi@contoh.co.id", actor=SYSTEM)
    html = page(shop.sari, wa)
    assert "+6281234567890" in html
    assert "dewi@contoh.co.id" in html
    # Her email identity is offered in the composer's address picker.
    assert re.search(r'<option value="\d+"[^>]*>[^<]*dewi@contoh.co.id</option>', html)


def _count(user: User, ticket: Ticket, *, htmx: bool) -> int:
    client = client_for(user)
    url = reverse("web:tickets:detail", args=[ticket.number])
    headers = {"HX-Request": "true"} if htmx else {}
    client.get(url, headers=headers)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, headers=headers).status_code == 200
    return len(queries)


# The conversation fragment for an agent: session and user (2); ticket_detail (7: the user's
# teams, the ticket with its row relations, tags, identities, messages, attachments, related);
# unread notifications looked for (1; marked read only when there are some); agents and teams
# for the pickers (2); the timeline's events (1); the customer's tickets (contact_detail: 5);
# the permissions (2); on WhatsApp, when the customer's 24-hour window closes (1).
FRAGMENT_QUERIES = 21


def test_the_ticket_page_runs_a_fixed_number_of_queries(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo", wamid="w0")
    tickets.set_tags(ticket, ["grosir"], actor=shop.budi)
    assert _count(shop.budi, ticket, htmx=True) == FRAGMENT_QUERIES
    full_page = _count(shop.budi, ticket, htmx=False)
    # Many more messages, notes, attachments, events and tags cost nothing more.
    for n in range(1, 12):
        shop.whatsapp_from_dewi(f"Pesan {n}", wamid=f"w{n}")
        tickets.reply(
            ticket,
            shop.budi,
            f"Balasan {n}",
            attachments=[InboundAttachment(f"foto{n}.png", "image/png", b"png%d" % n)],
        )
        tickets.add_note(ticket, shop.budi, f"Catatan {n}")
        tickets.set_priority(ticket, "high" if n % 2 else "low", actor=shop.budi)
    tickets.set_tags(ticket, ["grosir", "retur", "vip"], actor=shop.budi)
    assert _count(shop.budi, ticket, htmx=True) == FRAGMENT_QUERIES
    assert _count(shop.budi, ticket, htmx=False) == full_page
