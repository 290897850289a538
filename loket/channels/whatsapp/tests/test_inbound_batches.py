"""Batched, duplicated and broken deliveries (reference §1.4, pitfalls 2-4 and 11)."""

from __future__ import annotations

import pytest

from loket.channels import services
from loket.channels.models import Delivery, DeliveryState
from loket.channels.whatsapp.tests import payloads as wa
from loket.channels.whatsapp.tests.inbound_support import configure, deliver, outbound
from loket.conftest import Shop
from loket.tickets.models import DeliveryStatus, Direction, Message, Ticket

pytestmark = pytest.mark.django_db

RINA = "6281311112222"


def test_every_entry_change_message_and_status_is_read(shop: Shop) -> None:
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Halo", wamid="wamid.before")
    ours = [outbound(ticket, f"wamid.OUT.{n}") for n in range(4)]
    rina = [wa.contact(RINA, "Rina Wijaya")]
    body = wa.webhook(
        wa.entry(
            wa.change(
                messages=[wa.text("satu", wamid="wamid.b1"), wa.text("dua", wamid="wamid.b2")]
            ),
            wa.change(
                statuses=[wa.status("wamid.OUT.0", "sent"), wa.status("wamid.OUT.1", "read")]
            ),
        ),
        wa.entry(
            wa.change(
                messages=[
                    wa.text("tiga", wamid="wamid.b3", sender=RINA),
                    wa.location(-6.2, 106.8, wamid="wamid.b4") | {"from": RINA},
                ],
                contacts=rina,
            ),
            wa.change(
                messages=[wa.text("empat", wamid="wamid.b5")],
                statuses=[
                    wa.status("wamid.OUT.2", "delivered"),
                    wa.status("wamid.OUT.3", "failed", error_code=131026),
                ],
            ),
        ),
    )
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.PROCESSED
    assert delivery.item_count == 9
    texts = Message.objects.filter(direction=Direction.INBOUND).values_list("text", flat=True)
    assert set(texts) >= {"satu", "dua", "tiga", "empat"}
    assert Message.objects.get(external_id="wamid.b4").meta["wa"]["type"] == "location"
    states = []
    for message in ours:
        message.refresh_from_db()
        states.append(message.delivery_status)
    assert states == ["sent", "read", "delivered", "failed"]
    assert Ticket.objects.count() == 2  # Dewi's and Rina's
    assert Ticket.objects.get(contact__name="Rina Wijaya").messages.count() == 2


def test_the_same_batch_delivered_twice_changes_nothing_the_second_time(shop: Shop) -> None:
    configure(shop.whatsapp)
    body = wa.inbound(*[wa.text(f"pesan {n}", wamid=f"wamid.d{n}") for n in range(5)])
    deliver(shop.whatsapp, body)
    deliver(shop.whatsapp, body)

    assert Message.objects.count() == 5
    assert Ticket.objects.count() == 1


def test_one_message_that_cannot_be_read_does_not_stop_the_others(shop: Shop) -> None:
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Halo", wamid="wamid.before")
    ours = outbound(ticket, "wamid.OUT.ok")
    body = wa.inbound(
        wa.location(-6.2, 106.8, wamid="wamid.bad.location")
        | {"location": {"name": "no coordinates"}},
        "not even an object",  # type: ignore[arg-type]
        {"type": "text", "text": {"body": "no id, no sender"}},
        wa.text("yang ini baik", wamid="wamid.good"),
    )
    body["entry"][0]["changes"][0]["value"]["statuses"] = [wa.status("wamid.OUT.ok", "delivered")]
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.PROCESSED
    assert Message.objects.get(external_id="wamid.good").text == "yang ini baik"
    placeholder = Message.objects.get(external_id="wamid.bad.location")
    assert placeholder.meta["wa"]["type"] == "unsupported"
    assert "coordinates" in placeholder.meta["wa"]["unsupported"]["reason"]
    ours.refresh_from_db()
    assert ours.delivery_status == DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json at all",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "whatsapp_business_account", "entry": {"id": "1"}}',
    ],
)
def test_a_body_that_is_no_webhook_is_kept_as_failed_and_listed(shop: Shop, body: bytes) -> None:
    configure(shop.whatsapp)
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.FAILED
    assert "UnreadableWebhook" in delivery.error
    assert bytes(Delivery.objects.get(pk=delivery.pk).body) == body


def test_a_failed_delivery_can_be_replayed_after_a_fix(shop: Shop) -> None:
    configure(shop.whatsapp, phone_number_id="")
    good = wa.encode(wa.inbound(wa.text("Halo", wamid="wamid.replay")))
    broken = good.replace(b'"entry"', b'"entri"')  # as if a proxy mangled it
    delivery = deliver(shop.whatsapp, broken)
    assert delivery.state == DeliveryState.FAILED

    Delivery.objects.filter(pk=delivery.pk).update(body=good)  # the admin's fix
    replayed = services.replay(delivery.pk)

    assert replayed.state == DeliveryState.PROCESSED
    assert Message.objects.filter(external_id="wamid.replay").exists()


def test_an_empty_envelope_is_fine(shop: Shop) -> None:
    configure(shop.whatsapp)
    delivery = deliver(shop.whatsapp, wa.webhook())

    assert delivery.state == DeliveryState.PROCESSED
    assert delivery.item_count == 0
