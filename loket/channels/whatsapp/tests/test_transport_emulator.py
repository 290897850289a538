"""The sending half against the project's Cloud API emulator (``whatsapp.emulator``): what
Loket sends passes the emulator's checks of Meta's contract, and the emulator's error knobs
end the way the error table says. (The emulator was written from the reference on its own,
so agreement here is a second reading of the same contract.)"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from loket.channels.items import InboundAttachment
from loket.channels.models import Channel
from loket.channels.whatsapp import media, tasks
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.server import running_emulator
from loket.channels.whatsapp.tests.test_graph_fake import sending
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message

pytestmark = pytest.mark.django_db

DEWI = "6281234567890"
JPEG = b"\xff\xd8\xff\xe0 batik kawung"


@pytest.fixture
def emu(shop: Shop) -> Iterator[Emulator]:
    with running_emulator() as emulator, sending():
        emulator.set_knobs(early_sent_ratio=0.0)
        config = emulator.config
        shop.whatsapp.config = {
            "base_url": emulator.base_url,
            "api_version": config.api_version,
            "phone_number_id": config.phone_number_id,
            "waba_id": config.waba_id,
            "access_token": config.access_token,
        }
        shop.whatsapp.save()
        shop.whatsapp.refresh_from_db()
        yield emulator


def _reply(shop: Shop, text: str, **kwargs: Any) -> Message:
    ticket = shop.whatsapp_from_dewi("Kak, mau tanya")
    reply = tickets.reply(ticket, shop.budi, text, **kwargs)
    tickets.deliver_now(reply.pk)
    return Message.objects.get(pk=reply.pk)


def test_every_kind_of_reply_is_accepted(shop: Shop, emu: Emulator) -> None:
    sent = [
        _reply(shop, "Cek https://batiksari.id ya kak"),
        _reply(shop, "Fotonya", attachments=[InboundAttachment("kain.jpg", "image/jpeg", JPEG)]),
        _reply(shop, "Suara", attachments=[InboundAttachment("a.ogg", "audio/ogg", b"OggS")]),
        _reply(shop, "Nota", attachments=[InboundAttachment("n.pdf", "application/pdf", b"%PDF")]),
        _reply(shop, "", meta={"wa": {"reaction": {"message_id": "wamid.dewi.1", "emoji": "🙏"}}}),
        _reply(
            shop,
            "Sudah beres?",
            meta={
                "wa": {
                    "interactive": {
                        "type": "button",
                        "body": {"text": "Sudah beres?"},
                        "action": {
                            "buttons": [
                                {"type": "reply", "reply": {"id": "y", "title": "Sudah"}},
                                {"type": "reply", "reply": {"id": "n", "title": "Belum"}},
                            ]
                        },
                    }
                }
            },
        ),
        _reply(
            shop,
            "Halo Dewi, pesanan #4521 kamu sekarang berstatus: dikirim.",
            meta={
                "wa": {
                    "template": {
                        "name": "status_pesanan",
                        "language": "id",
                        "params": ["Dewi", "#4521", "dikirim"],
                    }
                }
            },
        ),
    ]

    assert [m.delivery_status for m in sent] == [DeliveryStatus.SENT] * len(sent)
    kinds = [body["type"] for body in emu.sent]
    assert kinds == [
        "text",
        "image",
        "text",
        "audio",
        "document",
        "reaction",
        "interactive",
        "template",
    ]
    assert emu.media_bytes(emu.sent[1]["image"]["id"]) == JPEG
    assert all(body["biz_opaque_callback_data"].startswith("ticket:") for body in emu.sent)


def test_the_emulators_refusals_end_as_the_table_says(shop: Shop, emu: Emulator) -> None:
    emu.set_rate_limited(1, 130429)
    assert _reply(shop, "Satu").delivery_status == DeliveryStatus.QUEUED

    emu.set_pair_limited(DEWI)
    held = _reply(shop, "Dua")
    assert (held.delivery_status, held.failure_code) == (DeliveryStatus.QUEUED, "131056")
    # Dewi is held back now: the next one waits without an attempt, Meta is not asked.
    waiting = _reply(shop, "Dua lagi")
    assert (waiting.delivery_status, waiting.attempts) == (DeliveryStatus.QUEUED, 0)


def test_an_expired_token_fails_and_flags_the_channel(shop: Shop, emu: Emulator) -> None:
    emu.set_token_expired()
    expired = _reply(shop, "Tiga")
    assert (expired.delivery_status, expired.failure_code) == (DeliveryStatus.FAILED, "190")
    assert Channel.objects.get(pk=shop.whatsapp.pk).last_error


def test_a_template_the_account_lacks_is_not_retried(shop: Shop, emu: Emulator) -> None:
    template = {"name": "tidak_ada", "language": "id", "params": ["Dewi"]}
    failed = _reply(shop, "Halo", meta={"wa": {"template": template}})
    assert (failed.delivery_status, failed.failure_code) == (DeliveryStatus.FAILED, "132001")


def test_customer_media_is_downloaded_and_read_receipts_are_sent(shop: Shop, emu: Emulator) -> None:
    emu.customer_sends_media(DEWI, JPEG, "image/jpeg", caption="Yang ini", wait=False)
    [upload] = [m for m in emu.state.media.values() if m.owner == "customer"]

    got = media.download(shop.whatsapp, upload.id, sha256=hashlib.sha256(JPEG).hexdigest())

    assert (got.data, got.content_type) == (JPEG, "image/jpeg")
    assert tasks.mark_read.call(shop.whatsapp.pk, "wamid.dewi.1") is True
