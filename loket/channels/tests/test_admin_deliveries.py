"""Admins see failed deliveries in the admin site and replay them; nobody else gets in."""

from __future__ import annotations

import pytest
from django.test import Client

from loket.channels import services
from loket.channels.models import Delivery, DeliveryState
from loket.conftest import Shop
from loket.core import clock
from loket.tickets.models import Ticket

GOOD = (
    b"From: Rudi Hartono <rudi@contoh.co.id>\r\nSubject: Retur\r\n"
    b"Message-ID: <retur-2@contoh.co.id>\r\n\r\nSaya mau retur kemeja.\r\n"
)
URL = "/admin/channels/delivery/"


@pytest.fixture
def admin_client(shop: Shop, client: Client) -> Client:
    shop.sari.is_staff = shop.sari.is_superuser = True
    shop.sari.save()
    client.force_login(shop.sari)
    return client


def test_failed_deliveries_are_listed_with_their_error(shop: Shop, admin_client: Client) -> None:
    bad = services.process(
        services.store_delivery(shop.email, b"Subject: x\r\n\r\nhi", process=False).pk
    )
    services.process(services.store_delivery(shop.email, GOOD, process=False).pk)
    page = admin_client.get(URL, {"state__exact": DeliveryState.FAILED})
    assert page.status_code == 200
    html = page.content.decode()
    assert "no sender address" in html
    assert f"{URL}{bad.pk}/change/" in html
    assert "Retur" not in html
    detail = admin_client.get(f"{URL}{bad.pk}/change/").content.decode()
    assert "Subject: x" in detail  # the raw body, as received
    assert 'name="_save"' not in detail  # read-only


def test_the_replay_action_processes_the_selection(shop: Shop, admin_client: Client) -> None:
    delivery = Delivery.objects.create(
        channel=shop.email,
        received_at=clock.now(),
        body=GOOD,
        state=DeliveryState.FAILED,
        error="ValueError: parser bug",
        attempts=1,
    )
    response = admin_client.post(
        URL, {"action": "replay", "_selected_action": [str(delivery.pk)]}, follow=True
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PROCESSED
    assert Ticket.objects.filter(subject="Retur").exists()
    assert "1 kiriman diproses." in response.content.decode()


def test_agents_and_supervisors_do_not_get_into_the_admin(shop: Shop, client: Client) -> None:
    for user in (shop.budi, shop.joko):
        client.force_login(user)
        response = client.get(URL)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_every_admin_list_renders(shop: Shop, admin_client: Client) -> None:
    shop.whatsapp_from_dewi("Kak, resi saya mana?")
    pages = [
        "/admin/",
        "/admin/tickets/ticket/",
        "/admin/tickets/tag/",
        "/admin/tickets/attachment/",
        "/admin/contacts/contact/",
        "/admin/contacts/identity/",
        "/admin/accounts/user/",
        "/admin/accounts/team/",
        "/admin/accounts/apitoken/",
        "/admin/audit/event/",
        "/admin/channels/channel/",
        URL,
        "/admin/core/lease/",
        "/admin/core/counter/",
    ]
    for url in pages:
        assert admin_client.get(url).status_code == 200, url
    ticket = Ticket.objects.get()
    page = admin_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "Kak, resi saya mana?" in page
    assert admin_client.get("/admin/tickets/ticket/add/").status_code == 403


def test_an_admin_adds_an_email_channel_and_it_is_recorded(
    shop: Shop, admin_client: Client
) -> None:
    from loket.audit.models import Event
    from loket.channels.models import Channel

    response = admin_client.post(
        "/admin/channels/channel/add/",
        {
            "kind": "email",
            "name": "Grosir",
            "address": "grosir@batiksari.id",
            "team": str(shop.sales.pk),
            "enabled": "on",
            "config": '{"smtp_host": "smtp.batiksari.id", "smtp_password": "rahasia"}',
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get(address="grosir@batiksari.id")
    assert channel.config["smtp_host"] == "smtp.batiksari.id"
    event = Event.objects.get(kind="channel.created")
    assert event.subject_id == channel.pk
    assert "rahasia" not in str(event.data)  # field names only, never the values
