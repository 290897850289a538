"""@mentions in internal notes notify the agents named who may see the ticket; the bell and
the notifications page show them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.audit.models import Event
from loket.conftest import Shop
from loket.notifications.models import Notification
from loket.tickets.models import Direction, Message

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def note(user: User, number: int, text: str) -> int:
    return (
        client_for(user)
        .post(
            reverse("web:tickets:send", args=[number]), {"mode": "note", "text": text}, headers=HTMX
        )
        .status_code
    )


def test_joko_mentions_budi_and_sari_and_both_are_notified(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Mau retur barang")
    assert note(shop.joko, ticket.number, "@budi tolong cek, cc @sari.") == 200
    message = Message.objects.get(ticket=ticket, direction=Direction.NOTE)
    notified = Notification.objects.filter(message=message).order_by("user__name")
    assert [(n.user, n.kind, n.ticket_id, n.read_at) for n in notified] == [
        (shop.budi, "mention", ticket.pk, None),
        (shop.sari, "mention", ticket.pk, None),
    ]
    events = Event.objects.filter(kind="notification.created", ticket_id=ticket.pk)
    assert sorted(e.data["user"] for e in events) == sorted([shop.budi.pk, shop.sari.pk])


def test_an_agent_who_may_not_see_the_ticket_is_not_notified(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Mau retur barang")  # a sales ticket
    assert note(shop.budi, ticket.number, "@wati bisa bantu kirim ulang?") == 200
    assert not Notification.objects.filter(user=shop.wati).exists()


def test_no_one_is_notified_of_their_own_mention_nor_of_an_unknown_handle(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    assert note(shop.budi, ticket.number, "catatan untuk @budi dan @siapa email@budi.id") == 200
    assert not Notification.objects.exists()


def test_a_deactivated_agent_is_not_notified(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    shop.budi.is_active = False
    shop.budi.save()
    assert note(shop.joko, ticket.number, "@budi sudah keluar") == 200
    assert not Notification.objects.exists()


def test_typing_at_suggests_agents_who_may_see_the_ticket(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    url = reverse("web:tickets:mentions", args=[ticket.number])
    everyone = client_for(shop.budi).get(url, {"q": ""}).json()["agents"]
    assert [a["handle"] for a in everyone] == ["budi", "joko", "sari"]  # not Wati
    assert client_for(shop.budi).get(url, {"q": "jo"}).json()["agents"] == [
        {"handle": "joko", "name": "Joko Susilo"}
    ]
    assert client_for(shop.wati).get(url, {"q": "b"}).status_code == 404


def test_the_bell_counts_unread_and_opening_the_ticket_reads_them(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    note(shop.joko, ticket.number, "@budi cek ya")
    budi = client_for(shop.budi)
    bell = budi.get(reverse("web:tickets:bell"), headers=HTMX).content.decode()
    assert 'data-unread="1"' in bell
    listing = budi.get(reverse("web:tickets:notifications")).content.decode()
    assert "Joko Susilo menyebut Anda di #" in listing
    assert "cek ya" in listing
    budi.get(reverse("web:tickets:detail", args=[ticket.number]))
    assert "data-unread" not in budi.get(reverse("web:tickets:bell")).content.decode()
    # Joko's own bell is untouched by Budi's reading.
    assert Notification.objects.get().read_at is not None


def test_mark_all_read(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    note(shop.joko, ticket.number, "@budi satu")
    note(shop.sari, ticket.number, "@budi dua")
    budi = client_for(shop.budi)
    response = budi.post(reverse("web:tickets:notifications_read"))
    assert response.status_code == 302
    assert not Notification.objects.filter(user=shop.budi, read_at__isnull=True).exists()
    wati = client_for(shop.wati)
    assert wati.get(reverse("web:tickets:notifications")).status_code == 200
    assert "data-unread" not in wati.get(reverse("web:tickets:bell")).content.decode()


def test_every_page_has_the_bell_in_its_top_bar(shop: Shop) -> None:
    html = client_for(shop.wati).get(reverse("web:inbox:index")).content.decode()
    assert f'hx-get="{reverse("web:tickets:bell")}"' in html
    assert "data-live-notifications" in html
