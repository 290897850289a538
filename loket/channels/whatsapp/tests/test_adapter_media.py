"""Customer files are fetched from the emulator's Graph API while the delivery is read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loket.channels import services
from loket.channels.models import DeliveryState
from loket.channels.whatsapp import media
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.server import running_emulator
from loket.channels.whatsapp.emulator.state import Media
from loket.channels.whatsapp.tests import payloads as wa
from loket.channels.whatsapp.tests.inbound_support import TOKEN, configure, deliver
from loket.conftest import Shop
from loket.tickets.models import Message

pytestmark = pytest.mark.django_db

PHOTO = b"\xff\xd8\xff\xe0 batik parang biru \xff\xd9"


@pytest.fixture
def emulator(shop: Shop) -> Iterator[Emulator]:
    with running_emulator(access_token=TOKEN, phone_number_id=wa.PHONE_NUMBER_ID) as emu:
        configure(shop.whatsapp, base_url=emu.base_url)
        yield emu


def _customer_file(emu: Emulator, media_id: str, data: bytes, mime_type: str) -> str:
    """Put a file on the emulator as if Dewi's phone had uploaded it; returns its sha256."""
    item = Media(media_id, data, mime_type, owner="customer")
    state = emu.state
    with state.lock:
        state.media[media_id] = item
    return item.sha256


def test_a_photo_arrives_with_its_bytes(shop: Shop, emulator: Emulator) -> None:
    sha = _customer_file(emulator, "4401", PHOTO, "image/jpeg")
    body = wa.inbound(
        wa.media(
            "image",
            "4401",
            wamid="wamid.photo",
            mime_type="image/jpeg",
            caption="Yang biru",
            sha256=sha,
        )
    )
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.PROCESSED
    message = Message.objects.get(external_id="wamid.photo")
    [attachment] = message.attachments.all()
    assert attachment.file.read() == PHOTO
    assert (attachment.name, attachment.content_type, attachment.sha256) == (
        "image.jpg",
        "image/jpeg",
        sha,
    )
    assert message.text == "Yang biru"


def test_a_voice_note_is_marked_as_one(shop: Shop, emulator: Emulator) -> None:
    sha = _customer_file(emulator, "4402", b"OggS voice", "audio/ogg; codecs=opus")
    body = wa.inbound(
        wa.media(
            "audio",
            "4402",
            wamid="wamid.voice",
            mime_type="audio/ogg; codecs=opus",
            sha256=sha,
            voice=True,
        )
    )
    deliver(shop.whatsapp, body)

    message = Message.objects.get(external_id="wamid.voice")
    assert message.meta["wa"]["media"]["voice"] is True
    [attachment] = message.attachments.all()
    assert (attachment.name, attachment.content_type) == ("voice.ogg", "audio/ogg")
    assert attachment.file.read() == b"OggS voice"


def test_a_file_with_the_wrong_checksum_is_not_kept(
    shop: Shop, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media, "sleep", lambda seconds: None)
    _customer_file(emulator, "4403", PHOTO, "image/jpeg")
    body = wa.inbound(
        wa.media("image", "4403", wamid="wamid.damaged", mime_type="image/jpeg", sha256="0" * 64)
    )
    deliver(shop.whatsapp, body)

    [attachment] = Message.objects.get(external_id="wamid.damaged").attachments.all()
    assert not attachment.file
    assert attachment.note


def test_a_file_meta_no_longer_has_keeps_the_message(shop: Shop, emulator: Emulator) -> None:
    body = wa.inbound(
        wa.media(
            "document", "9999", wamid="wamid.gone", mime_type="application/pdf", filename="nota.pdf"
        ),
        wa.text("Sudah saya kirim notanya", wamid="wamid.after"),
    )
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.PROCESSED
    [attachment] = Message.objects.get(external_id="wamid.gone").attachments.all()
    assert attachment.name == "nota.pdf"
    assert attachment.note
    assert Message.objects.filter(external_id="wamid.after").exists()


def test_a_replayed_delivery_does_not_fetch_again(shop: Shop, emulator: Emulator) -> None:
    sha = _customer_file(emulator, "4404", PHOTO, "image/jpeg")
    body = wa.inbound(
        wa.media("image", "4404", wamid="wamid.once", mime_type="image/jpeg", sha256=sha)
    )
    delivery = deliver(shop.whatsapp, body)
    state = emulator.state
    with state.lock:
        del state.media["4404"]  # a second fetch would now fail
    services.replay(delivery.pk)

    [attachment] = Message.objects.get(external_id="wamid.once").attachments.all()
    assert attachment.file.read() == PHOTO
