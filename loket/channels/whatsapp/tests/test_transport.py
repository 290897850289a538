"""What goes over the wire for each kind of reply (§1.9): the request bodies the Graph API
receives from a queued message, read back from a real loopback server."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.utils import translation

from loket.audit.services import SYSTEM
from loket.channels.items import InboundAttachment
from loket.channels.models import Channel
from loket.channels.whatsapp import tasks, transport
from loket.channels.whatsapp.tests.test_graph_fake import (
    PHONE_NUMBER_ID,
    VERSION,
    FakeGraph,
    graph_error,
    running,
    sending,
)
from loket.conftest import Shop
from loket.contacts import services as contacts
from loket.core import crypto
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message

pytestmark = pytest.mark.django_db

DEWI = "6281234567890"
JPEG = b"\xff\xd8\xff\xe0 kain batik"


@pytest.fixture
def fake(shop: Shop) -> Iterator[FakeGraph]:
    with running() as server, sending():
        server.configure(shop.whatsapp)
        yield server


def _send(
    shop: Shop,
    text: str,
    *,
    files: Sequence[InboundAttachment] = (),
    meta: dict[str, Any] | None = None,
    quote: bool = False,
) -> Message:
    """Dewi writes, Budi answers, the worker sends; returns the answer as stored."""
    ticket = shop.whatsapp_from_dewi("Kak, kain batik parang masih ada?")
    quoted = Message.objects.get(external_id="wamid.dewi.1") if quote else None
    reply = tickets.reply(ticket, shop.budi, text, attachments=files, meta=meta, reply_to=quoted)
    tickets.deliver_now(reply.pk)
    return Message.objects.get(pk=reply.pk)


def _envelope(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in {"type", body["type"]}}


def test_a_text_with_a_link_asks_for_a_preview(shop: Shop, fake: FakeGraph) -> None:
    sent = _send(shop, "Katalognya di https://batiksari.id/katalog ya kak")

    [body] = fake.sent()
    assert _envelope(body) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": DEWI,
        "biz_opaque_callback_data": f"ticket:{sent.ticket.number}",
    }
    assert body["type"] == "text"
    assert body["text"] == {
        "body": "Katalognya di https://batiksari.id/katalog ya kak",
        "preview_url": True,
    }
    assert sent.delivery_status == DeliveryStatus.SENT
    assert sent.external_id == "wamid.FAKE000001"
    assert sent.meta["wa"]["ids"] == ["wamid.FAKE000001"]
    assert fake.seen[0].path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"


def test_plain_text_has_no_preview_and_the_agent_can_turn_it_off(
    shop: Shop, fake: FakeGraph
) -> None:
    _send(shop, "Masih ada kak")
    _send(shop, "Lihat https://batiksari.id", meta={"wa": {"preview_url": False}})
    assert [b["text"] for b in fake.sent()] == [
        {"body": "Masih ada kak"},
        {"body": "Lihat https://batiksari.id"},
    ]


def test_a_long_text_goes_in_several_messages_all_recorded(shop: Shop, fake: FakeGraph) -> None:
    paragraph = "Motif parang melambangkan semangat yang tidak pernah padam. " * 30
    text = "\n\n".join([paragraph.strip()] * 5)  # about 9,000 characters

    sent = _send(shop, text)

    bodies = [b["text"]["body"] for b in fake.sent()]
    assert len(bodies) == 3
    assert all(len(b) <= transport.TEXT_LIMIT for b in bodies)
    assert " ".join(bodies).split() == text.split()  # nothing lost, cut between words
    assert sent.meta["wa"]["ids"] == ["wamid.FAKE000001", "wamid.FAKE000002", "wamid.FAKE000003"]
    assert sent.external_id == "wamid.FAKE000001"
    assert "sent_parts" not in sent.meta["wa"]


def test_a_quoted_reply_carries_the_customer_s_wamid(shop: Shop, fake: FakeGraph) -> None:
    _send(shop, "Yang ini kak? " + "x" * 4100, quote=True)
    first, second = fake.sent()
    assert first["context"] == {"message_id": "wamid.dewi.1"}
    assert "context" not in second  # only the first part quotes


def test_a_quote_from_another_channel_is_not_sent(shop: Shop, fake: FakeGraph) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    quoted = shop.email_from_rudi("Halo").messages.get()  # an id WhatsApp does not know
    reply = tickets.reply(ticket, shop.budi, "Baik kak", reply_to=quoted)
    tickets.deliver_now(reply.pk)
    assert "context" not in fake.sent()[0]


def test_an_image_is_uploaded_then_sent_by_id_with_the_text_as_caption(
    shop: Shop, fake: FakeGraph
) -> None:
    photo = InboundAttachment("kain.jpg", "image/jpeg", JPEG)

    sent = _send(shop, "Ini fotonya kak", files=[photo])

    upload, message = fake.seen
    assert (upload.method, upload.path) == ("POST", f"/{VERSION}/{PHONE_NUMBER_ID}/media")
    assert upload.files["file"] == ("kain.jpg", "image/jpeg", JPEG)
    [body] = fake.sent()
    assert body["type"] == "image"
    assert body["image"] == {"id": next(iter(fake.files)), "caption": "Ini fotonya kak"}
    assert sent.meta["wa"]["ids"] == ["wamid.FAKE000002"]
    assert message.path.endswith("/messages")


def test_audio_takes_no_caption_so_the_text_goes_first(shop: Shop, fake: FakeGraph) -> None:
    voice = InboundAttachment("pesan.ogg", "audio/ogg", b"OggS voice")

    sent = _send(shop, "Dengarkan ya kak", files=[voice])

    text, audio = fake.sent()
    assert text["text"] == {"body": "Dengarkan ya kak"}
    assert audio["type"] == "audio"
    assert set(audio["audio"]) == {"id"}
    assert len(sent.meta["wa"]["ids"]) == 2


def test_documents_keep_their_name_and_webp_goes_as_a_document(shop: Shop, fake: FakeGraph) -> None:
    files = [
        InboundAttachment("stiker.webp", "image/webp", b"RIFF webp"),
        InboundAttachment("invoice-4521.pdf", "application/pdf", b"%PDF-1.7"),
        InboundAttachment("video.mp4", "video/mp4", b"\x00\x00 ftyp"),
    ]

    _send(shop, "Invoice dan videonya", files=files)

    webp, pdf, video = fake.sent()
    assert (webp["type"], webp["document"]["filename"]) == ("document", "stiker.webp")
    assert webp["document"]["caption"] == "Invoice dan videonya"  # the first that takes one
    assert (pdf["type"], pdf["document"]["filename"]) == ("document", "invoice-4521.pdf")
    assert "caption" not in pdf["document"]
    assert video["type"] == "video"


def test_a_text_too_long_for_a_caption_goes_before_the_file(shop: Shop, fake: FakeGraph) -> None:
    text = "Detail kain: " + "katun primisima halus " * 60
    _send(shop, text, files=[InboundAttachment("kain.jpg", "image/jpeg", JPEG)])
    first, second = fake.sent()
    assert first["type"] == "text"
    assert second["image"].keys() == {"id"}


def test_a_reaction(shop: Shop, fake: FakeGraph) -> None:
    _send(shop, "", meta={"wa": {"reaction": {"message_id": "wamid.dewi.1", "emoji": "👍"}}})
    [body] = fake.sent()
    assert body["type"] == "reaction"
    assert body["reaction"] == {"message_id": "wamid.dewi.1", "emoji": "👍"}


BUTTONS = {
    "type": "button",
    "header": {"type": "text", "text": "Tiket #4521"},
    "body": {"text": "Apakah masalahnya sudah selesai?"},
    "footer": {"text": "Toko Batik Sari"},
    "action": {
        "buttons": [
            {"type": "reply", "reply": {"id": "t4521_yes", "title": "Sudah"}},
            {"type": "reply", "reply": {"id": "t4521_no", "title": "Belum"}},
        ]
    },
}
LIST = {
    "type": "list",
    "body": {"text": "Pilih topik"},
    "action": {
        "button": "Topik",
        "sections": [
            {
                "title": "Pesanan",
                "rows": [{"id": "ord_status", "title": "Status pesanan", "description": "Paket?"}],
            }
        ],
    },
}


CTA = {
    "type": "cta_url",
    "body": {"text": "Lacak paket kakak di sini"},
    "action": {
        "name": "cta_url",
        "parameters": {"display_text": "Lacak paket", "url": "https://batiksari.id/lacak/4521"},
    },
}


@pytest.mark.parametrize("interactive", [BUTTONS, LIST, CTA], ids=["buttons", "list", "cta"])
def test_interactive_messages_are_sent_as_given(
    shop: Shop, fake: FakeGraph, interactive: dict[str, Any]
) -> None:
    sent = _send(
        shop, "Apakah masalahnya sudah selesai?", meta={"wa": {"interactive": interactive}}
    )
    [body] = fake.sent()
    assert body["type"] == "interactive"
    assert body["interactive"] == interactive
    assert sent.delivery_status == DeliveryStatus.SENT


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(base)
    target: Any = changed
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    target[int(last) if last.isdigit() else last] = value
    return changed


FOUR = [{"type": "reply", "reply": {"id": f"b{i}", "title": f"B{i}"}} for i in range(4)]
ELEVEN = [{"id": f"r{i}", "title": f"Row {i}"} for i in range(11)]


@pytest.mark.parametrize(
    ("interactive", "words"),
    [
        (_with(BUTTONS, "action.buttons", FOUR), "one to three buttons"),
        (_with(BUTTONS, "action.buttons.0.reply.title", "x" * 21), "button title"),
        (_with(BUTTONS, "action.buttons.1.reply.id", "t4521_yes"), "same id"),
        (_with(BUTTONS, "body.text", "x" * 1025), "message text"),
        (_with(BUTTONS, "footer.text", "x" * 61), "footer"),
        (_with(LIST, "action.sections.0.rows", ELEVEN), "one to ten rows"),
        (_with(LIST, "action.button", "x" * 21), "list button"),
        (_with(LIST, "action.sections.0.rows.0.title", "x" * 25), "row title"),
        (_with(LIST, "action.sections.0.rows.0.description", "x" * 73), "row description"),
        (_with(LIST, "header", {"type": "image", "image": {"id": "1"}}), "header type"),
        (_with(LIST, "type", "carousel"), "Unknown interactive"),
        (_with(CTA, "action.parameters.url", "javascript:alert(1)"), "https://"),
        (_with(CTA, "action.parameters.display_text", "x" * 21), "link button text"),
    ],
)
def test_interactive_messages_over_meta_s_limits_fail_with_a_clear_reason(
    shop: Shop, fake: FakeGraph, interactive: dict[str, Any], words: str
) -> None:
    with translation.override("en"), pytest.raises(transport.InvalidMessage) as in_english:
        transport.check_interactive(interactive)
    assert words.lower() in in_english.value.reason.lower()
    with pytest.raises(transport.InvalidMessage) as caught:  # the default language: Indonesian
        transport.check_interactive(interactive)
    assert caught.value.reason != in_english.value.reason

    sent = _send(shop, "Pilih ya", meta={"wa": {"interactive": interactive}})

    assert sent.delivery_status == DeliveryStatus.FAILED
    assert sent.failure_code == "invalid_message"
    assert sent.failure_reason == caught.value.reason
    assert fake.sent() == []


def test_a_template_with_parameters(shop: Shop, fake: FakeGraph) -> None:
    template = {"name": "ticket_update", "language": "id", "params": ["Dewi", "#4521"]}

    _send(shop, "Halo Dewi, tiket #4521 diperbarui.", meta={"wa": {"template": template}})

    [body] = fake.sent()
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "ticket_update",
        "language": {"code": "id"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Dewi"}, {"type": "text", "text": "#4521"}],
            }
        ],
    }


def test_template_components_are_sent_as_given(shop: Shop, fake: FakeGraph) -> None:
    components = [
        {
            "type": "header",
            "parameters": [{"type": "image", "image": {"link": "https://x.test/h.png"}}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "0",
            "parameters": [{"type": "payload", "payload": "T4521_OK"}],
        },
    ]
    template = {"name": "promo", "language": {"code": "en_US"}, "components": components}
    _send(shop, "", meta={"wa": {"template": template}})
    assert fake.sent()[0]["template"]["components"] == components


def test_a_username_is_answered_by_its_bsuid(shop: Shop, fake: FakeGraph) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    bsuid = contacts.add_identity(
        ticket.contact, "whatsapp_user", "US.13491208655302741918", actor=SYSTEM
    )
    reply = tickets.reply(ticket, shop.budi, "Halo kak")
    Message.objects.filter(pk=reply.pk).update(identity=bsuid)

    tickets.deliver_now(reply.pk)

    [body] = fake.sent()
    assert body["recipient"] == "US.13491208655302741918"
    assert "to" not in body


def test_a_send_that_fails_halfway_never_repeats_the_parts_already_out(
    shop: Shop, fake: FakeGraph
) -> None:
    text = ("Kain batik tulis asli Solo. " * 200).strip()  # two parts
    ticket = shop.whatsapp_from_dewi("Info kain dong")
    reply = tickets.reply(ticket, shop.budi, text)
    original = fake.answer
    calls = {"n": 0}

    def second_part_fails_once(seen: Any) -> Any:
        if seen.path.endswith("/messages"):
            calls["n"] += 1
            if calls["n"] == 2:
                return graph_error(131000, status=500, transient=True)
        return original(seen)

    fake.answer = second_part_fails_once  # type: ignore[method-assign]
    assert tickets.deliver_now(reply.pk) == DeliveryStatus.QUEUED
    halfway = Message.objects.get(pk=reply.pk)
    assert list(halfway.meta["wa"]["sent_parts"]) == ["0"]

    assert tickets.deliver_now(reply.pk) == DeliveryStatus.SENT

    sent = Message.objects.get(pk=reply.pk)
    bodies = [b["text"]["body"] for b in fake.sent()]
    assert len(bodies) == 3  # first part, the failed second, the second again
    assert bodies[1] == bodies[2] != bodies[0]
    assert len(sent.meta["wa"]["ids"]) == 2
    assert "sent_parts" not in sent.meta["wa"]


def test_mark_read_task(shop: Shop, fake: FakeGraph) -> None:
    assert tasks.mark_read.call(shop.whatsapp.pk, "wamid.dewi.1") is True
    [seen] = fake.seen
    assert seen.json == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.dewi.1",
    }
    assert seen.path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"


def test_mark_read_is_best_effort_and_a_bad_token_flags_the_channel(
    shop: Shop, fake: FakeGraph
) -> None:
    fake.fail("POST", "/messages", graph_error(190, status=401))
    assert tasks.mark_read.call(shop.whatsapp.pk, "wamid.dewi.1") is False
    assert len(fake.seen) == 1  # not retried
    shop.whatsapp.refresh_from_db()
    assert shop.whatsapp.last_error
    Channel.objects.filter(pk=shop.whatsapp.pk).update(enabled=False)
    assert tasks.mark_read.call(shop.whatsapp.pk, "wamid.dewi.1") is False
    assert len(fake.seen) == 1


def test_a_channel_without_its_number_id_or_a_readable_token_fails_clearly(
    shop: Shop, fake: FakeGraph, settings: Any
) -> None:
    fake.configure(shop.whatsapp, phone_number_id="")
    missing = _send(shop, "Halo kak")
    assert (missing.delivery_status, missing.failure_code) == (
        DeliveryStatus.FAILED,
        "not_configured",
    )

    fake.configure(shop.whatsapp)
    settings.LOKET_ENCRYPTION_KEYS = [crypto.generate_key()]  # the key was changed
    unreadable = _send(shop, "Halo lagi kak")
    assert (unreadable.delivery_status, unreadable.failure_code) == (
        DeliveryStatus.FAILED,
        "secret_unreadable",
    )
    assert fake.sent() == []
