"""The customer's side: the phone page and its actions, each a signed webhook of §1.5/1.6."""

from __future__ import annotations

import hashlib
import json

import httpx

from loket.channels.whatsapp.emulator import wire
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.tests.conftest import SECRET, Graph
from loket.channels.whatsapp.emulator.tests.receiver import Receiver

DEWI = "6281234567890"


def test_a_customer_text_arrives_in_the_documented_envelope(
    emu: Emulator, receiver: Receiver
) -> None:
    wamid = emu.customer_says(
        DEWI, "Kak, kainnya 100% katun? Cek https://batik.test/a", name="Dewi Lestari"
    )

    [received] = receiver.received
    value = received.values()[0]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {
        "display_phone_number": emu.config.display_phone_number,
        "phone_number_id": emu.config.phone_number_id,
    }
    assert value["contacts"] == [{"profile": {"name": "Dewi Lestari"}, "wa_id": DEWI}]
    [message] = value["messages"]
    assert message["from"] == DEWI
    assert message["id"] == wamid
    assert message["type"] == "text"
    assert message["timestamp"].isdigit()
    assert message["text"] == {"body": "Kak, kainnya 100% katun? Cek https://batik.test/a"}


def test_the_body_is_escaped_like_meta_and_signed_over_its_bytes(
    emu: Emulator, receiver: Receiver
) -> None:
    emu.customer_says(DEWI, "Ongkir ke Jogja/Solo? Makasih 🙏 é", name="Dewi")

    [received] = receiver.received
    assert received.body.isascii()
    assert b"Jogja\\/Solo" in received.body
    assert b"\\ud83d\\ude4f" in received.body  # lowercase hex, surrogate pair
    assert received.headers["X-Hub-Signature-256"] == wire.sign(received.body, SECRET)
    reserialised = json.dumps(received.payload).encode()
    assert wire.sign(reserialised, SECRET) != received.headers["X-Hub-Signature-256"]
    assert received.headers["Content-Type"] == "application/json"


def test_media_location_tap_and_reaction(emu: Emulator, graph: Graph, receiver: Receiver) -> None:
    buttons = {
        "type": "button",
        "body": {"text": "Paketnya sudah sampai?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "sampai", "title": "Sudah"}},
                {"type": "reply", "reply": {"id": "belum", "title": "Belum"}},
            ]
        },
    }
    ours = graph.send({"to": DEWI, "type": "interactive", "interactive": buttons})
    ours_id = ours.json()["messages"][0]["id"]
    doc = b"%PDF bukti transfer"

    emu.customer_sends_media(
        DEWI, doc, "application/pdf", caption="Bukti", kind="document", filename="bukti.pdf"
    )
    emu.customer_shares_location(DEWI, -7.79, 110.36, place="Rumah", address="Jl. Kaliurang")
    emu.customer_taps(DEWI, ours_id, "belum")
    emu.customer_reacts(DEWI, ours_id, "👍")
    emu.customer_reacts(DEWI, ours_id, "")

    document, location, tap, react, unreact = receiver.messages()
    assert document["document"] == {
        "id": document["document"]["id"],
        "mime_type": "application/pdf",
        "sha256": hashlib.sha256(doc).hexdigest(),
        "caption": "Bukti",
        "filename": "bukti.pdf",
    }
    assert location["location"] == {
        "latitude": -7.79,
        "longitude": 110.36,
        "name": "Rumah",
        "address": "Jl. Kaliurang",
    }
    assert tap["type"] == "interactive"
    assert tap["context"] == {"from": emu.config.display_phone_number, "id": ours_id}
    assert tap["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "belum", "title": "Belum"},
    }
    assert react["reaction"] == {"message_id": ours_id, "emoji": "👍"}
    assert unreact["reaction"] == {"message_id": ours_id}  # removal: no emoji key


def test_the_phone_page_is_served_with_a_strict_policy(emu: Emulator) -> None:
    page = httpx.get(f"{emu.base_url}/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert 'src="/_emulator/static/phone.js"' in page.text
    assert "<script>" not in page.text
    assert " on" + "click=" not in page.text
    script = httpx.get(f"{emu.base_url}/_emulator/static/phone.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert httpx.get(f"{emu.base_url}/_emulator/static/../server.py").status_code in (400, 404)


def test_the_phone_page_actions_become_webhooks(
    emu: Emulator, graph: Graph, receiver: Receiver
) -> None:
    action = f"{emu.base_url}/_emulator/customer"
    said = httpx.post(
        action,
        json={"wa_id": "+62 812-3456-7890", "name": "Dewi", "action": "text", "text": "Halo"},
    )
    photo = httpx.post(
        action,
        data={"wa_id": DEWI, "name": "Dewi", "caption": "Fotonya"},
        files={"file": ("kain.png", b"\x89PNG foto", "image/png")},
    )
    graph.text(DEWI, "Baik kak")

    assert said.status_code == 200
    assert photo.status_code == 200
    emu.wait_for(lambda: len(receiver.messages()) == 2)
    text, image = receiver.messages()
    assert text["text"]["body"] == "Halo"
    assert image["type"] == "image"
    assert image["image"]["caption"] == "Fotonya"
    view = httpx.get(f"{emu.base_url}/_emulator/chat", params={"wa_id": DEWI}).json()
    assert [m["direction"] for m in view["messages"]] == ["in", "in", "out"]
    assert view["messages"][1]["media"].startswith("/_emulator/media/")
    assert httpx.get(emu.base_url + view["messages"][1]["media"]).content == b"\x89PNG foto"
    assert view["messages"][2]["content"] == {"body": "Baik kak"}
    assert view["default"] == {"name": "Dewi Lestari", "wa_id": DEWI}


def test_bad_phone_page_actions_are_refused_plainly(emu: Emulator, receiver: Receiver) -> None:
    action = f"{emu.base_url}/_emulator/customer"
    assert (
        httpx.post(action, json={"wa_id": "12", "action": "text", "text": "x"}).status_code == 400
    )
    assert httpx.post(action, json={"wa_id": DEWI, "action": "dance"}).status_code == 400
    assert (
        httpx.post(
            action, json={"wa_id": DEWI, "action": "tap", "message_id": "x", "reply_id": "y"}
        ).status_code
        == 400
    )
    assert httpx.post(action, content=b"[1]").status_code == 400
    assert receiver.received == []


def test_a_tap_on_a_template_quick_reply(emu: Emulator, graph: Graph, receiver: Receiver) -> None:
    sent = graph.send(
        {
            "to": DEWI,
            "type": "template",
            "template": {
                "name": "status_pesanan",
                "language": {"code": "id"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": p} for p in ("Dewi", "#1", "ok")],
                    },
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "0",
                        "parameters": [{"type": "payload", "payload": "T1_THANKS"}],
                    },
                ],
            },
        }
    )
    wamid = sent.json()["messages"][0]["id"]

    emu.customer_taps(DEWI, wamid, "T1_THANKS")

    [tap] = receiver.messages()
    assert tap["type"] == "button"
    assert tap["button"] == {"payload": "T1_THANKS", "text": "Terima kasih"}
    assert tap["context"]["id"] == wamid


def test_the_handshake_needs_an_endpoint_that_echoes(emu: Emulator) -> None:
    assert not emu.subscribe()  # the receiver answers GET with 501


def test_any_other_documented_type(emu: Emulator, receiver: Receiver) -> None:
    card = [{"name": {"formatted_name": "Rina"}, "phones": [{"phone": "+62 811", "type": "CELL"}]}]
    referral = {"source_type": "ad", "source_id": "1202", "headline": "Batik tulis"}

    emu.customer_sends(DEWI, "contacts", card, extra={"referral": referral})

    [message] = receiver.messages()
    assert message["type"] == "contacts"
    assert message["contacts"] == card
    assert message["referral"] == referral
