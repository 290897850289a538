"""The 24-hour customer service window, with a controlled clock (reference §1.12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from loket.channels.items import InboundMessage, Sender
from loket.channels.whatsapp import window
from loket.conftest import Shop
from loket.tickets import services
from loket.tickets.models import DeliveryStatus, Direction, Ticket

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DEWI = Sender("phone", "6281234567890", "Dewi", international=True)


def _customer_writes(shop: Shop, wamid: str, *, automatic: bool = False) -> Ticket:
    item = InboundMessage(external_id=wamid, sender=DEWI, text="Halo kak", automatic=automatic)
    return services.receive(shop.whatsapp, item).message.ticket


def test_the_window_runs_24_hours_from_the_customers_last_message(shop: Shop) -> None:
    with time_machine.travel(START, tick=False) as clock:
        ticket = _customer_writes(shop, "wamid.W1")
        assert window.closes_at(shop.whatsapp, ticket.contact_id) == START + timedelta(hours=24)
        clock.shift(timedelta(hours=23, minutes=59))
        services.reply(ticket, shop.budi, "Siap kak")  # still open
        # Our own replies never extend the window.
        clock.shift(timedelta(minutes=1))
        assert not window.is_open(shop.whatsapp, ticket.contact_id, START + timedelta(hours=24))
        with pytest.raises(ValidationError) as refused:
            services.reply(ticket, shop.budi, "Kak, masih ada yang bisa dibantu?")
        assert refused.value.code == "window_closed"
        # The customer writes again: a new 24 hours.
        clock.shift(timedelta(hours=5))
        _customer_writes(shop, "wamid.W2")
        services.reply(ticket, shop.budi, "Halo lagi kak")
        assert window.closes_at(shop.whatsapp, ticket.contact_id) == START + timedelta(hours=53)
    outbound = ticket.messages.filter(direction=Direction.OUTBOUND)
    assert outbound.count() == 2
    assert set(outbound.values_list("delivery_status", flat=True)) == {DeliveryStatus.QUEUED}


def test_a_customer_who_never_wrote_has_no_window(shop: Shop) -> None:
    assert window.closes_at(shop.whatsapp, contact_id=999_999) is None
    assert not window.is_open(shop.whatsapp, 999_999, START)


def test_a_template_is_sent_whatever_the_window(shop: Shop) -> None:
    with time_machine.travel(START, tick=False) as clock:
        ticket = _customer_writes(shop, "wamid.W3")
        clock.shift(timedelta(days=3))
        template = {"name": "status_pesanan", "language": "id", "params": ["Dewi"]}
        message = services.reply(
            ticket,
            shop.budi,
            "Halo Dewi, pesanan Anda dikirim",
            meta={"wa": {"template": template}},
        )
    assert message.meta["wa"]["template"]["name"] == "status_pesanan"


def test_whatsapp_telling_us_something_opens_no_window(shop: Shop) -> None:
    with time_machine.travel(START, tick=False) as clock:
        ticket = _customer_writes(shop, "wamid.W4")
        clock.shift(timedelta(days=2))
        _customer_writes(shop, "wamid.W5-system", automatic=True)  # e.g. a number change
        assert not window.is_open(shop.whatsapp, ticket.contact_id, START + timedelta(days=2))


def test_a_reaction_is_not_an_answer(shop: Shop) -> None:
    with time_machine.travel(START, tick=False):
        ticket = _customer_writes(shop, "wamid.W6")
        reaction = {"message_id": "wamid.W6", "emoji": "👍"}
        services.reply(ticket, shop.budi, "", meta={"wa": {"reaction": reaction}})
    ticket.refresh_from_db()
    assert ticket.waiting_since == START
    assert ticket.first_response_at is None
    assert ticket.preview == "Halo kak"
    assert ticket.status == "new"
