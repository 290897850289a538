"""GET /tickets/{number} and GET /attachments/{id}: the conversation and its files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings

from loket.accounts.models import User
from loket.api.tests.conftest import Api, customer_writes
from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.conftest import Shop
from loket.tickets import services
from loket.tickets.models import Attachment

pytestmark = pytest.mark.django_db

PHOTO = b"\x89PNG\r\n\x1a\n" + b"batik parang" * 100


def test_the_whole_conversation_in_order(shop: Shop, api_as: Callable[[User], Api]) -> None:
    ticket = shop.whatsapp_from_dewi("Kak, kain batik parang ada?")
    services.receive(
        shop.whatsapp,
        InboundMessage(
            external_id="wamid.dewi.2",
            sender=Sender("phone", "6281234567890", "Dewi Lestari", international=True),
            text="Ini fotonya",
            attachments=[InboundAttachment("parang.png", "image/png", PHOTO)],
        ),
    )
    services.add_note(ticket, shop.budi, "Cek gudang dulu")
    services.reply(ticket, shop.budi, "Ada kak, stok 3")
    services.set_tags(ticket, ["batik"], actor=shop.budi)

    response = api_as(shop.budi).get(f"/tickets/{ticket.number}")
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == ticket.number
    assert body["status"] == "open"
    assert body["tags"] == ["batik"]
    assert body["contact"]["name"] == "Dewi Lestari"
    assert body["contact"]["identities"] == [
        {
            "id": ticket.contact.identities.get().pk,
            "kind": "phone",
            "value": "+6281234567890",
            "display_name": "Dewi Lestari",
        }
    ]
    messages = body["messages"]
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("in", "Kak, kain batik parang ada?"),
        ("in", "Ini fotonya"),
        ("note", "Cek gudang dulu"),
        ("out", "Ada kak, stok 3"),
    ]
    assert messages[0]["identity"]["value"] == "+6281234567890"
    assert messages[0]["author"] is None
    assert messages[0]["delivery_status"] == "received"
    assert messages[2]["author"] == {
        "id": shop.budi.pk,
        "name": "Budi Santoso",
        "email": "budi@batiksari.id",
    }
    assert messages[2]["delivery_status"] == ""
    assert messages[3]["delivery_status"] == "queued"
    assert messages[3]["identity"]["value"] == "+6281234567890"

    [photo] = messages[1]["attachments"]
    assert photo["name"] == "parang.png"
    assert photo["content_type"] == "image/png"
    assert photo["size"] == len(PHOTO)
    assert photo["sha256"] == hashlib.sha256(PHOTO).hexdigest()
    assert photo["url"] == f"http://testserver/api/v1/attachments/{photo['id']}"

    download = api_as(shop.budi).client.get(photo["url"])
    assert download.status_code == 200
    assert download.getvalue() == PHOTO
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == 'attachment; filename="parang.png"'


def test_linked_tickets_you_may_see(shop: Shop, api_as: Callable[[User], Api]) -> None:
    ticket = shop.whatsapp_from_dewi("Pesanan kedua")
    elsewhere = shop.email_from_rudi("Retur")
    teamless = customer_writes(shop.whatsapp)
    services.set_team(teamless, None, actor=shop.sari)
    services.link(ticket, elsewhere, actor=shop.sari)
    services.link(ticket, teamless, actor=shop.sari)
    related = api_as(shop.budi).get(f"/tickets/{ticket.number}").json()["related"]
    assert [r["number"] for r in related] == [teamless.number]  # not Rudi's shipping ticket
    related = api_as(shop.sari).get(f"/tickets/{ticket.number}").json()["related"]
    assert sorted(r["number"] for r in related) == sorted([elsewhere.number, teamless.number])


def test_a_ticket_you_may_not_see_does_not_exist(shop: Shop, api_as: Callable[[User], Api]) -> None:
    shipping = shop.email_from_rudi("Foto paket rusak", subject="Rusak")
    services.receive(
        shop.email,
        InboundMessage(
            external_id="m2@contoh.co.id",
            sender=Sender("email", "rudi@contoh.co.id", "Rudi Hartono"),
            text="Lampiran",
            attachments=[InboundAttachment("rusak.jpg", "image/jpeg", b"jpeg bytes")],
        ),
    )
    attachment = Attachment.objects.get(message__ticket=shipping)
    budi = api_as(shop.budi)
    for path in [
        f"/tickets/{shipping.number}",
        "/tickets/999999",
        f"/attachments/{attachment.pk}",
        "/attachments/999999",
    ]:
        response = budi.get(path)
        assert response.status_code == 404, path
        assert response.json() == {
            "code": "not_found",
            "message": "Tidak ditemukan.",
            "details": None,
        }
    assert api_as(shop.wati).get(f"/attachments/{attachment.pk}").status_code == 200


def test_an_attachment_that_was_not_stored(shop: Shop, api_as: Callable[[User], Api]) -> None:
    with override_settings(LOKET_MAX_ATTACHMENT_BYTES=1024 * 1024):
        ticket = shop.email_from_rudi("Video unboxing")
        services.receive(
            shop.email,
            InboundMessage(
                external_id="m3@contoh.co.id",
                sender=Sender("email", "rudi@contoh.co.id"),
                text="videonya",
                attachments=[InboundAttachment("video.mp4", "video/mp4", b"0" * (1024 * 1024 + 1))],
            ),
        )
    wati = api_as(shop.wati)
    [message] = [
        m for m in wati.get(f"/tickets/{ticket.number}").json()["messages"] if m["attachments"]
    ]
    [video] = message["attachments"]
    assert video["url"] is None
    assert video["note"]
    response = wati.get(f"/attachments/{video['id']}")
    assert response.status_code == 404
    assert response.json()["code"] == "attachment_not_stored"
    assert response.json()["message"] == video["note"]


def test_a_stored_file_gone_from_storage(shop: Shop, api_as: Callable[[User], Api]) -> None:
    ticket = shop.email_from_rudi("Nota")
    services.receive(
        shop.email,
        InboundMessage(
            external_id="m4@contoh.co.id",
            sender=Sender("email", "rudi@contoh.co.id"),
            text="nota terlampir",
            attachments=[InboundAttachment("nota.pdf", "application/pdf", b"%PDF-1.4 nota hilang")],
        ),
    )
    attachment = Attachment.objects.get(message__ticket=ticket)
    default_storage.delete(str(attachment.file.name))
    response = api_as(shop.wati).get(f"/attachments/{attachment.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "attachment_not_stored"
