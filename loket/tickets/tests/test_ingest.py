"""A customer's message arrives: it is stored once, under the right customer, with its files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from time_machine import TimeMachineFixture

from loket.audit.models import Event
from loket.audit.services import SYSTEM
from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.conftest import Shop
from loket.contacts import services as contacts
from loket.contacts.models import Contact, Identity
from loket.tickets import services
from loket.tickets.models import Attachment, DeliveryStatus, Direction, Message, Status, Ticket
from loket.tickets.tests.conftest import DEWI, MONDAY_MORNING, RUDI, writes

pytestmark = pytest.mark.django_db

KTP_PHOTO = b"\x89PNG\r\n\x1a\n" + b"foto bukti transfer " * 200


def test_the_first_message_opens_ticket_1001_for_a_new_customer(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    message = writes(shop.whatsapp, DEWI, "Halo kak\nMau tanya ongkir ke Bandung")

    ticket = message.ticket
    assert ticket.number == 1001
    assert ticket.status == Status.NEW
    assert ticket.channel == shop.whatsapp
    assert ticket.team == shop.sales  # the channel's team
    assert ticket.subject == "Halo kak"
    assert ticket.preview == "Halo kak"
    assert ticket.created_at == MONDAY_MORNING
    assert ticket.last_customer_message_at == MONDAY_MORNING
    assert ticket.waiting_since == MONDAY_MORNING
    assert ticket.contact.name == "Dewi Lestari"
    assert message.direction == Direction.INBOUND
    assert message.delivery_status == DeliveryStatus.RECEIVED
    assert message.identity is not None
    assert (message.identity.kind, message.identity.value) == ("phone", "+6281234567890")
    kinds = list(Event.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["contact.created", "ticket.created", "message.received"]


def test_ticket_numbers_count_up_per_conversation(shop: Shop) -> None:
    first = writes(shop.whatsapp, DEWI).ticket
    second = writes(shop.email, RUDI, subject="Tanya stok").ticket
    third = writes(shop.whatsapp, Sender("phone", "0857-1111-2222", "Ayu")).ticket
    assert [first.number, second.number, third.number] == [1001, 1002, 1003]


def test_an_email_keeps_its_subject_and_sanitised_html(shop: Shop) -> None:
    message = writes(
        shop.email,
        RUDI,
        "Apakah kain ini luntur?",
        subject="Pertanyaan kain",
        html="<p>Apakah kain ini <b>luntur</b>?</p>",
    )
    assert message.ticket.subject == "Pertanyaan kain"
    assert message.subject == "Pertanyaan kain"
    assert "<b>luntur</b>" in message.html


def test_the_same_delivery_twice_is_one_message(shop: Shop) -> None:
    item = InboundMessage(external_id="wamid.HBgN001", sender=DEWI, text="Kak, sudah transfer")
    first = services.receive(shop.whatsapp, item)
    again = services.receive(shop.whatsapp, item)

    assert first.created
    assert not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Event.objects.filter(kind="message.received").count() == 1


def test_the_same_provider_id_on_another_channel_is_another_message(shop: Shop) -> None:
    writes(shop.whatsapp, DEWI, external_id="abc-1")
    writes(shop.email, RUDI, external_id="abc-1")
    assert Message.objects.filter(external_id="abc-1").count() == 2


@pytest.mark.parametrize(
    ("kind", "typed", "international"),
    [
        ("phone", "0812-3456-7890", False),
        ("phone", "62812-3456-7890", False),
        ("phone", "+62 812 3456 7890", False),
        ("phone", "+62 0812 3456 7890", False),
        ("phone", "6281234567890", True),  # the WhatsApp wa_id
    ],
)
def test_every_form_of_dewis_number_reaches_the_same_customer(
    shop: Shop, kind: str, typed: str, international: bool
) -> None:
    ticket = writes(shop.whatsapp, DEWI, "Pesanan saya sudah dikirim?").ticket

    message = writes(shop.whatsapp, Sender(kind, typed, "Dewi", international=international))

    assert message.ticket == ticket
    assert Contact.objects.count() == 1
    assert list(Identity.objects.values_list("value", flat=True)) == ["+6281234567890"]


def test_a_number_an_agent_typed_in_is_found_by_the_whatsapp_wa_id(shop: Shop) -> None:
    rudi = writes(shop.email, RUDI).ticket.contact
    contacts.add_identity(rudi, "phone", "0812 3456 7890 (WA)", actor=SYSTEM)

    message = writes(shop.whatsapp, DEWI, "Ini Rudi, pakai WA istri")

    assert message.ticket.contact == rudi
    assert message.ticket.channel == shop.whatsapp
    assert Contact.objects.count() == 1


def test_email_addresses_are_compared_without_case(shop: Shop) -> None:
    ticket = writes(shop.email, RUDI, subject="Tanya stok").ticket
    message = writes(
        shop.email, Sender("email", "  rudi@CONTOH.co.id ", "Rudi"), subject="RE: Tanya stok"
    )

    assert message.ticket == ticket
    assert list(Identity.objects.values_list("value", flat=True)) == ["rudi@contoh.co.id"]


def test_a_message_from_an_invalid_address_stores_nothing(shop: Shop) -> None:
    with pytest.raises(contacts.InvalidIdentity):
        writes(shop.whatsapp, Sender("phone", "14045", "Operator"))
    assert not Ticket.objects.exists()
    assert not Contact.objects.exists()
    assert not Event.objects.exists()


def test_attachments_are_stored_with_name_type_size_and_checksum(shop: Shop) -> None:
    message = writes(
        shop.whatsapp,
        DEWI,
        "",
        attachments=[InboundAttachment("bukti-transfer.png", "image/png", KTP_PHOTO)],
    )

    [attachment] = message.attachments.all()
    assert attachment.name == "bukti-transfer.png"
    assert attachment.content_type == "image/png"
    assert attachment.size == len(KTP_PHOTO)
    assert attachment.sha256 == hashlib.sha256(KTP_PHOTO).hexdigest()
    assert attachment.note == ""
    assert attachment.file.name
    with default_storage.open(attachment.file.name, "rb") as handle:
        assert handle.read() == KTP_PHOTO
    # A message with only a file shows the file name in the inbox.
    assert message.ticket.preview == "bukti-transfer.png"


def test_the_same_file_sent_twice_is_stored_once(shop: Shop, settings: Any) -> None:
    upload = InboundAttachment("bukti.png", "image/png", KTP_PHOTO)
    writes(shop.whatsapp, DEWI, "ini buktinya", attachments=[upload])
    writes(shop.whatsapp, DEWI, "kirim ulang ya kak", attachments=[upload])

    names = set(Attachment.objects.values_list("file", flat=True))
    assert len(names) == 1
    stored = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert len(stored) == 1


def test_a_file_over_the_limit_is_kept_as_a_note(shop: Shop, settings: Any) -> None:
    settings.LOKET_MAX_ATTACHMENT_BYTES = 1024 * 1024
    video = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * (1024 * 1024 + 512 * 1024)

    message = writes(
        shop.whatsapp,
        DEWI,
        "videonya kak",
        attachments=[InboundAttachment("unboxing.mp4", "video/mp4", video)],
    )

    [attachment] = message.attachments.all()
    assert attachment.name == "unboxing.mp4"
    assert attachment.size == len(video)
    assert attachment.sha256 == hashlib.sha256(video).hexdigest()
    assert not attachment.file
    # The agent reads how large the file was and what the limit is (in Indonesian here).
    note = attachment.note.replace("\xa0", " ")
    assert "(1,5 MB;" in note
    assert "1,0 MB)" in note
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_a_file_exactly_at_the_limit_is_stored(shop: Shop, settings: Any) -> None:
    settings.LOKET_MAX_ATTACHMENT_BYTES = 1024
    message = writes(
        shop.whatsapp,
        DEWI,
        "",
        attachments=[InboundAttachment("pas.bin", "application/octet-stream", b"x" * 1024)],
    )
    [attachment] = message.attachments.all()
    assert attachment.file
    assert attachment.note == ""


def test_a_file_the_channel_could_not_fetch_keeps_the_channels_note(shop: Shop) -> None:
    message = writes(
        shop.whatsapp,
        DEWI,
        "",
        attachments=[InboundAttachment("voice.ogg", "audio/ogg", None, note="Media expired")],
    )
    [attachment] = message.attachments.all()
    assert (attachment.size, attachment.sha256, attachment.note) == (0, "", "Media expired")
    assert not attachment.file


def test_a_failure_half_way_leaves_no_trace(shop: Shop, settings: Any, tmp_path: Path) -> None:
    # The attachment store is broken (a file where the folder should be).
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings.MEDIA_ROOT = blocked

    with pytest.raises(OSError):  # noqa: PT011 - the storage's own error goes up
        writes(
            shop.whatsapp,
            DEWI,
            "foto produk",
            attachments=[InboundAttachment("produk.jpg", "image/jpeg", b"\xff\xd8\xff" * 10)],
        )

    assert not Contact.objects.exists()
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()
    assert not Event.objects.exists()
