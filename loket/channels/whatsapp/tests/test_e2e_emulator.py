"""End to end through the emulator: Loket cannot tell it from Meta except by the base URL.

A customer writes on the emulated phone → a signed webhook reaches Loket's real webhook view
(``live_server``) → the stored delivery is processed → a ticket; the agent replies → Loket's
transport calls the emulated Graph API → the statuses come back as signed webhooks → the
message shows delivered, then read. Media both ways: the customer's photo is fetched through
the media flow (URL, Bearer, sha256) and stored; the agent's document is uploaded, then sent
by id.

The deliveries are processed here, in the test, with the same service the task runs
(``channels.services.process``): the worker is not what this test is about.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from loket.channels import services as channels
from loket.channels.items import InboundAttachment
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.channels.whatsapp import transport
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.demo import webhook_path
from loket.channels.whatsapp.emulator.server import running_emulator
from loket.channels.whatsapp.emulator.state import Knobs
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import Attachment, DeliveryStatus, Direction, Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

DEWI = "6281234567890"


@pytest.fixture
def emu(shop: Shop, live_server: Any) -> Iterator[Emulator]:
    """The emulator, and the shop's WhatsApp channel configured for it (secrets encrypted)."""
    knobs = Knobs(delivered_after=0.05, read_after=0.3, retry_delays=[0.1, 0.3, 1.0])
    with running_emulator(
        knobs=knobs,
        app_secret="e2e-app-secret",
        access_token="e2e-token",
        phone_number_id="109876543210987",
        waba_id="314159265358979",
        display_phone_number=shop.whatsapp.address.removeprefix("+"),
    ) as emulator:
        channels.update_channel(
            shop.whatsapp,
            actor=None,
            config={
                "phone_number_id": "109876543210987",
                "waba_id": "314159265358979",
                "access_token": "e2e-token",
                "app_secret": "e2e-app-secret",
                "verify_token": "e2e-verify",
                "api_version": "v23.0",
                "base_url": emulator.base_url,
            },
        )
        emulator.config.webhook_url = live_server.url + webhook_path(shop.whatsapp.pk)
        yield emulator


def process_deliveries() -> None:
    """What the worker does with each stored webhook (a status for a message whose send has
    not returned yet stays received and is tried again, as the task would)."""
    waiting = Delivery.objects.filter(state=DeliveryState.RECEIVED).order_by("pk")
    for delivery_id in waiting.values_list("pk", flat=True):
        channels.process(delivery_id)


def until[T](found: Callable[[], T | None], what: str, timeout: float = 15) -> T:
    """Process deliveries until ``found()`` gives something (the webhooks come in the
    background, at the emulator's pace)."""
    deadline = time.monotonic() + timeout
    while True:
        process_deliveries()
        value = found()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def inbound(wamid: str) -> Message | None:
    return Message.objects.filter(external_id=wamid, direction=Direction.INBOUND).first()


def status(message: Message) -> str:
    return str(Message.objects.values_list("delivery_status", flat=True).get(pk=message.pk))


def deliver(message: Message) -> Message:
    tickets.deliver_now(message.pk)
    return Message.objects.get(pk=message.pk)


def test_the_webhook_handshake(emu: Emulator) -> None:
    assert emu.subscribe("e2e-verify")
    assert not emu.subscribe("not-the-verify-token")


def test_customer_message_ticket_reply_delivered_read(emu: Emulator, shop: Shop) -> None:
    wamid = emu.customer_says(DEWI, "Kak, paket saya belum sampai/ada kabar? 🙏", name="Dewi")

    message = until(lambda: inbound(wamid), "the customer's message in a ticket")
    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert message.text == "Kak, paket saya belum sampai/ada kabar? 🙏"
    assert ticket.channel_id == shop.whatsapp.pk
    assert Delivery.objects.get().headers  # stored raw, signature checked on those bytes

    emu.set_knobs(early_sent_ratio=1.0)  # "sent" reaches Loket before the send returns
    reply = tickets.reply(ticket, shop.budi, "Halo Kak Dewi, kami cek ke kurir dulu ya 😊")
    sent = deliver(reply)
    stored = [bytes(d.body) for d in Delivery.objects.all()]
    assert any(
        str(sent.external_id).encode() in body and b'"status":"sent"' in body for body in stored
    )

    assert sent.delivery_status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
    [body] = emu.sent
    assert body["to"].removeprefix("+") == DEWI
    assert body["type"] == "text"
    assert body["text"]["body"] == "Halo Kak Dewi, kami cek ke kurir dulu ya 😊"
    assert sent.external_id == emu.state.chats[DEWI].messages[-1].id
    until(lambda: status(sent) == DeliveryStatus.READ, "the read status")
    assert emu.status_of(str(sent.external_id)) == "read"

    transport.mark_read(Channel.objects.get(pk=shop.whatsapp.pk), wamid)
    assert emu.state.marked_read == [wamid]


def test_a_closed_window_shows_the_late_failure(emu: Emulator, shop: Shop) -> None:
    wamid = emu.customer_says(DEWI, "Halo", name="Dewi")
    message = until(lambda: inbound(wamid), "the customer's message")
    emu.set_window_closed(DEWI)  # Meta's clock says otherwise: its 131047 is the final word

    reply = deliver(tickets.reply(Ticket.objects.get(pk=message.ticket_id), shop.budi, "Kak?"))

    until(lambda: status(reply) == DeliveryStatus.FAILED, "the failed status")
    failed = Message.objects.get(pk=reply.pk)
    assert failed.failure_code == "131047"
    assert failed.failure_reason


def test_media_both_ways(emu: Emulator, shop: Shop) -> None:
    photo = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8 + b"\xff\xd9"
    wamid = emu.customer_sends_media(
        DEWI, photo, "image/jpeg", caption="Kainnya sobek", name="Dewi"
    )

    message = until(lambda: inbound(wamid), "the customer's photo")
    [attachment] = Attachment.objects.filter(message=message)
    assert message.text == "Kainnya sobek"
    assert attachment.content_type == "image/jpeg"
    assert attachment.sha256 == hashlib.sha256(photo).hexdigest()
    with attachment.file.open("rb") as stored:
        assert stored.read() == photo

    invoice = b"%PDF-1.4\n% faktur 4521\n%%EOF\n"
    reply = tickets.reply(
        Ticket.objects.get(pk=message.ticket_id),
        shop.budi,
        "Ini fakturnya kak",
        attachments=[InboundAttachment("faktur-4521.pdf", "application/pdf", invoice)],
    )
    sent = deliver(reply)

    [upload] = emu.uploads
    assert upload.data == invoice
    assert upload.mime_type == "application/pdf"
    documents = [b for b in emu.sent if b["type"] == "document"]
    assert [d["document"]["id"] for d in documents] == [upload.id]
    assert documents[0]["document"].get("filename") == "faktur-4521.pdf"
    assert sent.external_id
    until(lambda: status(sent) == DeliveryStatus.READ, "the document read")


def test_buttons_tapped_and_a_reaction(emu: Emulator, shop: Shop) -> None:
    wamid = emu.customer_says(DEWI, "Kak, paketnya sudah dikirim?", name="Dewi")
    message = until(lambda: inbound(wamid), "the customer's message")
    buttons = {
        "type": "button",
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "sudah", "title": "Sudah sampai"}},
                {"type": "reply", "reply": {"id": "belum", "title": "Belum"}},
            ]
        },
    }
    ticket = Ticket.objects.get(pk=message.ticket_id)
    asked = deliver(
        tickets.reply(
            ticket, shop.budi, "Paketnya sudah sampai kak?", meta={"wa": {"interactive": buttons}}
        )
    )
    assert emu.sent[-1]["interactive"]["body"] == {"text": "Paketnya sudah sampai kak?"}

    tap = emu.customer_taps(DEWI, str(asked.external_id), "sudah")
    emu.customer_reacts(DEWI, str(asked.external_id), "👍")

    answer = until(lambda: inbound(tap), "the tap")
    assert answer.text == "Sudah sampai"
    assert answer.meta["wa"]["reply"]["id"] == "sudah"
    assert answer.reply_to_id == asked.pk

    def reacted() -> list[dict[str, Any]]:
        return list(Message.objects.get(pk=asked.pk).meta.get("reactions") or [])

    [reaction] = until(reacted, "the reaction on the agent's message")
    assert reaction["emoji"] == "👍"
    assert reaction["by"] == "customer"
