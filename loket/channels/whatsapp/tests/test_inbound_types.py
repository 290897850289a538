"""Every inbound WhatsApp type (reference §1.6) becomes something an agent can read.

Each test posts a body in the documented shape through ``store_delivery`` + ``process`` and
looks at what the ticket holds: the message text, its ``meta["wa"]`` and its files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from loket.channels.models import DeliveryState
from loket.channels.whatsapp import media
from loket.channels.whatsapp.tests import payloads as wa
from loket.channels.whatsapp.tests.inbound_support import (
    configure,
    deliver,
    media_server,
    outbound,
)
from loket.conftest import Shop
from loket.contacts.models import Identity
from loket.tickets.models import Direction, Message, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_wa(shop: Shop) -> Shop:
    configure(shop.whatsapp)
    return shop


def _received(shop: Shop, *messages: dict[str, Any], **kwargs: Any) -> Message:
    delivery = deliver(shop.whatsapp, wa.inbound(*messages, **kwargs))
    assert delivery.state == DeliveryState.PROCESSED, delivery.error
    return Message.objects.filter(direction=Direction.INBOUND).order_by("-pk").first()  # type: ignore[return-value]


def test_text_opens_a_ticket_for_dewi_with_her_name_and_the_send_time(shop_wa: Shop) -> None:
    message = _received(shop_wa, wa.text("Halo kak, batik parang ukuran L ada?", wamid="wamid.T1"))

    assert message.text == "Halo kak, batik parang ukuran L ada?"
    assert message.external_id == "wamid.T1"
    assert message.meta["wa"] == {"type": "text"}
    assert message.sent_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert message.ticket.contact.name == "Dewi Lestari"
    assert message.identity is not None
    assert message.identity.value == "+6281234567890"
    assert message.ticket.status == Status.NEW
    assert message.ticket.channel == shop_wa.whatsapp


def test_the_same_message_delivered_twice_is_stored_once(shop_wa: Shop) -> None:
    body = wa.inbound(wa.text("Halo", wamid="wamid.DUP"))
    deliver(shop_wa.whatsapp, body)
    second = deliver(shop_wa.whatsapp, body)

    assert second.state == DeliveryState.PROCESSED
    assert Message.objects.filter(external_id="wamid.DUP").count() == 1


@pytest.mark.parametrize(
    "case",
    [
        ("image", "image/jpeg", {}, "image.jpg", "image/jpeg"),
        ("video", "video/mp4", {}, "video.mp4", "video/mp4"),
        ("audio", "audio/ogg; codecs=opus", {"voice": True}, "voice.ogg", "audio/ogg"),
        ("audio", "audio/mpeg", {"voice": False}, "audio.mp3", "audio/mpeg"),
        (
            "document",
            "application/pdf",
            {"filename": "nota-4521.pdf"},
            "nota-4521.pdf",
            "application/pdf",
        ),
        ("sticker", "image/webp", {"animated": True}, "sticker.webp", "image/webp"),
    ],
)
def test_media_is_downloaded_with_its_caption(
    shop_wa: Shop, case: tuple[str, str, dict[str, Any], str, str]
) -> None:
    kind, mime, fields, name, content_type = case
    data = f"{kind} bytes from Dewi".encode()
    with media_server() as graph:
        configure(shop_wa.whatsapp, base_url=graph.base_url)
        sha = graph.add("1037543291543636", data, mime)
        caption = "Foto kainnya kak" if kind in {"image", "video", "document"} else None
        message = _received(
            shop_wa,
            wa.media(
                kind,
                "1037543291543636",
                wamid=f"wamid.{kind}",
                mime_type=mime,
                caption=caption,
                sha256=sha,
                **fields,
            ),
        )

    assert message.text == (caption or "")
    assert message.meta["wa"]["type"] == kind
    assert message.meta["wa"]["media"]["media_id"] == "1037543291543636"
    assert message.meta["wa"]["media"]["voice"] is bool(fields.get("voice"))
    assert message.meta["wa"]["media"]["animated"] is bool(fields.get("animated"))
    [attachment] = message.attachments.all()
    assert attachment.name == name
    assert attachment.content_type == content_type
    assert attachment.note == ""
    assert attachment.sha256 == sha
    assert attachment.file.read() == data


def test_a_file_whatsapp_will_not_give_keeps_the_message_and_says_why(
    shop_wa: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media, "sleep", lambda seconds: None)
    with media_server() as graph:
        configure(shop_wa.whatsapp, base_url=graph.base_url)
        graph.add("777", b"never served", "image/jpeg")
        graph.broken.add("777")
        message = _received(
            shop_wa,
            wa.media("image", "777", wamid="wamid.broken", mime_type="image/jpeg", caption="Ini"),
            wa.text("dan ini teksnya", wamid="wamid.after"),
        )
        tries = sum(1 for path in graph.requests if path.startswith("/files/777"))

    image = Message.objects.get(external_id="wamid.broken")
    [attachment] = image.attachments.all()
    assert attachment.note  # the reason, in the reader's language
    assert not attachment.file
    assert image.meta["wa"]["media"]["media_id"] == "777"  # can be fetched again for 7 days
    assert message.text == "dan ini teksnya"  # the rest of the batch was not held back
    assert tries == media.ATTEMPTS


def test_a_file_over_the_limit_is_noted_not_stored(shop_wa: Shop, settings: Any) -> None:
    settings.LOKET_MAX_ATTACHMENT_BYTES = 10
    with media_server() as graph:
        configure(shop_wa.whatsapp, base_url=graph.base_url)
        graph.add("888", b"x" * 100, "application/pdf")
        message = _received(
            shop_wa,
            wa.media(
                "document",
                "888",
                wamid="wamid.big",
                mime_type="application/pdf",
                filename="katalog.pdf",
            ),
        )

    [attachment] = message.attachments.all()
    assert attachment.name == "katalog.pdf"
    assert attachment.note
    assert not attachment.file


def test_location_keeps_coordinates_and_a_map_link(shop_wa: Shop) -> None:
    message = _received(
        shop_wa,
        wa.location(
            -7.7956, 110.3695, name="Toko Batik Sari", address="Jl. Malioboro 12, Yogyakarta"
        ),
    )

    assert message.text == "Toko Batik Sari\nJl. Malioboro 12, Yogyakarta"
    location = message.meta["wa"]["location"]
    assert (location["latitude"], location["longitude"]) == (-7.7956, 110.3695)
    assert location["map_url"] == "https://www.google.com/maps/search/?api=1&query=-7.7956,110.3695"


def test_a_bare_pin_still_has_text(shop_wa: Shop) -> None:
    message = _received(shop_wa, wa.location(-6.2, 106.816666))

    assert message.text == "-6.2, 106.816666"


def test_contact_cards_list_names_and_phones(shop_wa: Shop) -> None:
    message = _received(
        shop_wa,
        wa.contacts(
            wa.contact_card("Budi Kurir", "+62 811-2233-445", wa_id="628112233445", company="JNE"),
            wa.contact_card("Ani", "+62 812-0000-111", email="ani@contoh.co.id"),
        ),
    )

    assert message.text == "Budi Kurir +62 811-2233-445\nAni +62 812-0000-111"
    budi, ani = message.meta["wa"]["contacts"]
    assert budi["phones"][0]["wa_id"] == "628112233445"
    assert budi["org"] == "JNE — Owner"
    assert ani["emails"] == [{"email": "ani@contoh.co.id", "type": "WORK"}]


def test_a_button_tap_shows_the_chosen_option_and_links_our_message(shop_wa: Shop) -> None:
    first = _received(shop_wa, wa.text("Mau tanya", wamid="wamid.first"))
    ours = outbound(first.ticket, "wamid.OUT.buttons", status="delivered")
    message = _received(shop_wa, wa.button_reply("t4521_yes", "Sudah", quoted="wamid.OUT.buttons"))

    assert message.text == "Sudah"
    assert message.meta["wa"]["reply"] == {
        "kind": "button_reply",
        "id": "t4521_yes",
        "title": "Sudah",
        "description": "",
    }
    assert message.reply_to == ours
    assert message.ticket == first.ticket


def test_a_list_choice_shows_title_and_description(shop_wa: Shop) -> None:
    message = _received(shop_wa, wa.list_reply("size_l", "Ukuran L", "Lingkar dada 104 cm"))

    assert message.text == "Ukuran L"
    assert message.meta["wa"]["reply"]["description"] == "Lingkar dada 104 cm"


def test_a_flow_answer_keeps_the_answers(shop_wa: Shop) -> None:
    message = _received(shop_wa, wa.flow_reply({"ukuran": "L", "warna": "biru", "flow_token": "t"}))

    reply = message.meta["wa"]["reply"]
    assert reply["kind"] == "nfm_reply"
    assert reply["response"]["ukuran"] == "L"
    assert message.text == "Sent"


def test_a_template_quick_reply_shows_the_label_and_payload(shop_wa: Shop) -> None:
    message = _received(shop_wa, wa.button("STOP_PROMO", "Berhenti promo"))

    assert message.text == "Berhenti promo"
    assert message.meta["wa"]["reply"] == {
        "kind": "button",
        "title": "Berhenti promo",
        "payload": "STOP_PROMO",
    }


def test_an_order_lists_items_and_adds_up_the_total(shop_wa: Shop) -> None:
    message = _received(
        shop_wa,
        wa.order(
            [("batik-parang-l", 2, "350000"), ("selendang", 1, "125000.50")], text="Kirim ke Bantul"
        ),
    )

    order = message.meta["wa"]["order"]
    assert message.text == "Kirim ke Bantul"
    assert [i["product_retailer_id"] for i in order["items"]] == ["batik-parang-l", "selendang"]
    assert order["items"][0]["quantity"] == "2"
    assert (order["total"], order["currency"]) == ("825000.5", "IDR")


def test_an_ad_referral_and_forwarding_are_kept_as_context(shop_wa: Shop) -> None:
    referral = {
        "source_url": "https://fb.me/batik",
        "source_id": "120200000000001",
        "source_type": "ad",
        "headline": "Diskon batik 20%",
        "body": "Koleksi baru",
        "media_type": "image",
        "image_url": "https://example.invalid/ad.jpg",
        "ctwa_clid": "ARAkLkAbCdEf",
    }
    message = _received(
        shop_wa,
        wa.text("Masih diskon?", wamid="wamid.ad", referral=referral, context={"forwarded": True}),
    )

    assert message.meta["wa"]["referral"]["headline"] == "Diskon batik 20%"
    assert message.meta["wa"]["referral"]["ctwa_clid"] == "ARAkLkAbCdEf"
    assert message.meta["wa"]["forwarded"] is True


def test_frequently_forwarded_and_product_enquiry(shop_wa: Shop) -> None:
    product = {"catalog_id": "cat-batik-1", "product_retailer_id": "batik-parang-l"}
    message = _received(
        shop_wa,
        wa.text(
            "Yang ini ready?",
            wamid="wamid.product",
            context={
                "from": wa.DISPLAY_NUMBER,
                "id": "wamid.catalog",
                "referred_product": product,
                "frequently_forwarded": True,
            },
        ),
    )

    assert message.meta["wa"]["referred_product"] == product
    assert message.meta["wa"]["forwarded"] == "frequently"
    assert message.meta["wa"]["context"] == {"id": "wamid.catalog", "from": wa.DISPLAY_NUMBER}


def test_a_quote_links_the_quoted_message(shop_wa: Shop) -> None:
    first = _received(shop_wa, wa.text("Batik parang", wamid="wamid.q1"))
    second = _received(
        shop_wa,
        wa.text("Yang ini kak", wamid="wamid.q2", context={"from": wa.DEWI, "id": "wamid.q1"}),
    )

    assert second.reply_to == first
    assert second.meta["wa"]["context"]["id"] == "wamid.q1"


def test_unsupported_is_a_placeholder_with_the_reason(shop_wa: Shop) -> None:
    message = _received(shop_wa, wa.unsupported("poll_creation"))

    assert message.text == ""
    assert message.meta["wa"]["type"] == "unsupported"
    assert message.meta["wa"]["unsupported"] == {
        "type": "poll_creation",
        "code": "131051",
        "reason": "Message type is currently not supported.",
    }


def test_a_type_invented_tomorrow_is_a_placeholder_too(shop_wa: Shop) -> None:
    message = _received(shop_wa, wa.message("hologram", {"id": "h1"}, wamid="wamid.future"))

    assert message.meta["wa"]["unsupported"]["type"] == "hologram"
    assert message.ticket.status == Status.NEW  # the customer is waiting: an agent looks


def test_a_security_code_change_is_an_automatic_notice(shop_wa: Shop) -> None:
    ticket = shop_wa.whatsapp_from_dewi("Halo")
    message = _received(shop_wa, wa.identity_changed())

    assert message.ticket == ticket
    assert message.meta["automatic"] is True
    assert message.meta["wa"]["system"]["type"] == "customer_identity_changed"
    assert message.meta["wa"]["system"]["identity"]["acknowledged"] is True
    assert message.text == "User security code changed"


def test_an_edit_is_a_new_message_pointing_at_the_original(shop_wa: Shop) -> None:
    original = _received(shop_wa, wa.text("Ukuran M", wamid="wamid.e1"))
    edited = _received(shop_wa, wa.edit("wamid.e1", "Ukuran L maksudnya"))

    assert edited.text == "Ukuran L maksudnya"
    assert edited.meta["wa"]["edit"] == {"original_message_id": "wamid.e1", "type": "text"}
    assert edited.reply_to == original
    original.refresh_from_db()
    assert original.text == "Ukuran M"  # what was said stays on record


def test_a_deleted_message_is_recorded_and_reopens_nothing(shop_wa: Shop) -> None:
    original = _received(shop_wa, wa.text("Nomor rekening saya 123", wamid="wamid.r1"))
    original.ticket.status = Status.PENDING
    original.ticket.save()
    revoked = _received(shop_wa, wa.revoke("wamid.r1"))

    assert revoked.meta["wa"]["revoke"] == {"original_message_id": "wamid.r1"}
    assert revoked.meta["automatic"] is True
    assert revoked.reply_to == original
    revoked.ticket.refresh_from_db()
    assert revoked.ticket.status == Status.PENDING


def test_a_username_sender_without_a_phone_number(shop_wa: Shop) -> None:
    message = _received(
        shop_wa,
        wa.text("Halo dari username", wamid="wamid.bsuid", sender=None, user_id=wa.DEWI_BSUID),
        contacts=[wa.contact(None, "Dewi", user_id=wa.DEWI_BSUID, username="dewi.batik")],
    )

    assert message.identity is not None
    assert (message.identity.kind, message.identity.value) == ("whatsapp_user", wa.DEWI_BSUID)
    assert message.meta["wa"]["user_id"] == wa.DEWI_BSUID
    assert message.meta["wa"]["username"] == "dewi.batik"


def test_the_username_and_the_number_later_land_on_one_customer(shop_wa: Shop) -> None:
    first = _received(
        shop_wa,
        wa.text("Halo", wamid="wamid.u1", sender=None, user_id=wa.DEWI_BSUID),
        contacts=[wa.contact(None, user_id=wa.DEWI_BSUID)],
    )
    second = _received(
        shop_wa,
        wa.text("Ini nomor saya", wamid="wamid.u2", user_id=wa.DEWI_BSUID),
        contacts=[wa.contact(wa.DEWI, user_id=wa.DEWI_BSUID)],
    )

    assert second.ticket.contact == first.ticket.contact
    assert second.ticket == first.ticket
    assert second.identity is not None
    assert second.identity.kind == "phone"
    assert set(
        Identity.objects.filter(contact=first.ticket.contact).values_list("kind", "value")
    ) == {("whatsapp_user", wa.DEWI_BSUID), ("phone", "+6281234567890")}
