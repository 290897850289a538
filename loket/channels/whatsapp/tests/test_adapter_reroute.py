"""One Meta app posts all its numbers' news to one callback: each part goes to its channel."""

from __future__ import annotations

import json

import pytest

from loket.channels import services
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.channels.registry import adapter_for
from loket.channels.whatsapp.adapter import REROUTED_FROM, WhatsAppAdapter
from loket.channels.whatsapp.tests import payloads as wa
from loket.channels.whatsapp.tests.inbound_support import configure, deliver
from loket.conftest import Shop
from loket.tickets.models import Message

pytestmark = pytest.mark.django_db

SECOND_NUMBER = "200000000000002"
NOBODYS_NUMBER = "300000000000003"


@pytest.fixture
def shipping_line(shop: Shop) -> Channel:
    """The shop's second WhatsApp number, answered by the shipping team."""
    channel = Channel.objects.create(
        kind="whatsapp", name="WhatsApp Pengiriman", address="+6281100002222", team=shop.shipping
    )
    return configure(channel, phone_number_id=SECOND_NUMBER)


def _mixed_body() -> dict[str, object]:
    return wa.webhook(
        wa.entry(
            wa.change(messages=[wa.text("ke toko", wamid="wamid.m1")]),
            wa.change(
                messages=[wa.text("ke pengiriman", wamid="wamid.m2")],
                phone_number_id=SECOND_NUMBER,
            ),
            wa.change(
                messages=[wa.text("ke siapa?", wamid="wamid.m3")], phone_number_id=NOBODYS_NUMBER
            ),
        ),
        wa.entry(
            wa.change(statuses=[wa.status("wamid.OUT.x", "read")], phone_number_id=SECOND_NUMBER),
            time=1767225600,
        ),
    )


def test_whatsapp_is_registered() -> None:
    assert isinstance(adapter_for("whatsapp"), WhatsAppAdapter)


def test_another_numbers_messages_go_to_its_own_channel_and_team(
    shop: Shop, shipping_line: Channel
) -> None:
    configure(shop.whatsapp)
    first = deliver(shop.whatsapp, _mixed_body())

    assert first.state == DeliveryState.PROCESSED
    assert Message.objects.get(external_id="wamid.m1").ticket.channel == shop.whatsapp
    assert not Message.objects.filter(external_id__in=["wamid.m2", "wamid.m3"]).exists()

    [rerouted] = Delivery.objects.filter(channel=shipping_line)
    assert rerouted.headers == {REROUTED_FROM: str(first.pk)}
    doc = json.loads(bytes(rerouted.body))
    assert [len(e["changes"]) for e in doc["entry"]] == [1, 1]  # both entries, only its changes
    assert doc["entry"][1]["time"] == 1767225600
    services.process(rerouted.pk)
    message = Message.objects.get(external_id="wamid.m2")
    assert message.ticket.channel == shipping_line
    assert message.ticket.team == shop.shipping


def test_rereading_the_delivery_does_not_pass_it_on_twice(
    shop: Shop, shipping_line: Channel
) -> None:
    configure(shop.whatsapp)
    first = deliver(shop.whatsapp, _mixed_body())
    services.replay(first.pk)

    assert Delivery.objects.filter(channel=shipping_line).count() == 1


def test_a_disabled_channel_gets_nothing(shop: Shop, shipping_line: Channel) -> None:
    configure(shop.whatsapp)
    Channel.objects.filter(pk=shipping_line.pk).update(enabled=False)
    deliver(shop.whatsapp, _mixed_body())

    assert not Delivery.objects.filter(channel=shipping_line).exists()


def test_a_channel_without_a_number_id_takes_everything(shop: Shop) -> None:
    configure(shop.whatsapp, phone_number_id="")
    deliver(shop.whatsapp, _mixed_body())

    assert Message.objects.filter(channel=shop.whatsapp).count() == 3
