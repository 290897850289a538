"""POST /{phone_number_id}/messages: the documented answers, errors and status webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.tests.conftest import SECRET, Graph, error_code
from loket.channels.whatsapp.emulator.tests.receiver import Receiver

DEWI = "6281234567890"


def test_a_text_is_accepted_then_sent_delivered_and_read_arrive_signed(
    emu: Emulator, graph: Graph, receiver: Receiver
) -> None:
    response = graph.send(
        {
            "to": "+62 812-3456-7890",
            "type": "text",
            "text": {"body": "Halo Kak Dewi 😊 pesanan sudah dikirim", "preview_url": False},
            "biz_opaque_callback_data": "ticket:42",
        }
    )

    assert response.status_code == 200
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "+62 812-3456-7890", "wa_id": DEWI}]
    wamid = answer["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    assert "message_status" not in answer["messages"][0]  # only templates carry it
    emu.wait_for(lambda: len(receiver.statuses()) == 3)
    assert receiver.statuses() == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]
    assert receiver.all_signed(SECRET)
    sent = receiver.status_objects()[0]
    assert sent["recipient_id"] == DEWI
    assert sent["biz_opaque_callback_data"] == "ticket:42"
    assert sent["pricing"]["pricing_model"] == "PMP"
    assert sent["timestamp"].isdigit()
    first = receiver.received[0]
    assert first.payload["object"] == "whatsapp_business_account"
    value = first.values()[0]
    assert value["metadata"]["phone_number_id"] == emu.config.phone_number_id
    assert first.payload["entry"][0]["id"] == emu.config.waba_id
    assert emu.sent[0]["text"]["body"].startswith("Halo Kak Dewi")
    assert emu.status_of(wamid) == "read"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "text", "text": {"body": "tanpa tujuan"}}, 131008),
        ({"to": DEWI, "type": "text", "text": {}}, 131008),
        ({"to": DEWI, "type": "text"}, 131008),
        ({"to": DEWI, "type": "text", "text": {"body": "x" * 4097}}, 131009),
        ({"to": DEWI, "type": "poll", "poll": {}}, 100),
        ({"to": DEWI, "type": "image", "image": {"caption": "tanpa id"}}, 131008),
        ({"to": DEWI, "type": "image", "image": {"id": "123", "link": "https://x.test/a"}}, 131008),
        ({"to": DEWI, "type": "image", "image": {"id": "99999"}}, 131009),
        ({"to": DEWI, "type": "audio", "audio": {"link": "https://x.t/a", "caption": "c"}}, 131009),
        ({"to": DEWI, "type": "location", "location": {"latitude": 1}}, 131008),
        ({"to": DEWI, "type": "contacts", "contacts": [{"phones": []}]}, 131008),
        ({"to": DEWI, "type": "reaction", "reaction": {"emoji": "👍"}}, 131008),
        ({"to": DEWI, "type": "template", "template": {"name": "status_pesanan"}}, 131008),
        ({"to": DEWI, "context": {"message_id": 5}, "text": {"body": "x"}}, 131009),
    ],
)
def test_bad_bodies_get_the_graph_error_object(
    graph: Graph, emu: Emulator, body: dict[str, Any], code: int
) -> None:
    response = graph.send(body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["message"].startswith(f"(#{code})")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"]
    assert error["fbtrace_id"]
    assert emu.sent == []


def test_messaging_product_is_required(graph: Graph) -> None:
    response = graph.http.post(
        f"/{graph.emu.config.phone_number_id}/messages",
        json={"to": DEWI, "type": "text", "text": {"body": "hai"}},
    )
    assert error_code(response) == 100


def test_not_json_is_error_100(graph: Graph) -> None:
    response = graph.http.post(
        f"/{graph.emu.config.phone_number_id}/messages",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert error_code(response) == 100


def test_an_unknown_phone_number_id_is_error_100(graph: Graph) -> None:
    response = graph.http.post("/123/messages", json={"messaging_product": "whatsapp"})
    assert error_code(response) == 100


@pytest.mark.parametrize(
    "interactive",
    [
        {
            "type": "button",
            "body": {"text": "Sudah sampai?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "ya", "title": "Sudah"}},
                    {"type": "reply", "reply": {"id": "tidak", "title": "Belum"}},
                ]
            },
        },
        {
            "type": "list",
            "body": {"text": "Pilih topik"},
            "action": {
                "button": "Topik",
                "sections": [{"title": "Pesanan", "rows": [{"id": "st", "title": "Status"}]}],
            },
        },
        {
            "type": "cta_url",
            "body": {"text": "Lacak paket"},
            "action": {
                "name": "cta_url",
                "parameters": {"display_text": "Lacak", "url": "https://jne.test/x"},
            },
        },
    ],
)
def test_interactive_messages_are_accepted(graph: Graph, interactive: dict[str, Any]) -> None:
    response = graph.send({"to": DEWI, "type": "interactive", "interactive": interactive})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "action",
    [
        {"buttons": []},
        {"buttons": [{"type": "reply", "reply": {"id": str(i), "title": "x"}} for i in range(4)]},
        {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]},
    ],
)
def test_interactive_limits(graph: Graph, action: dict[str, Any]) -> None:
    response = graph.send(
        {
            "to": DEWI,
            "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "?"}, "action": action},
        }
    )
    assert error_code(response) == 131009


def test_other_types_are_accepted(graph: Graph) -> None:
    bodies: list[dict[str, Any]] = [
        {"type": "image", "image": {"link": "https://cdn.test/a.jpg", "caption": "Motif"}},
        {"type": "location", "location": {"latitude": -7.79, "longitude": 110.36, "name": "Toko"}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Sari"}, "phones": []}]},
        {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "👍"}},
        {"type": "text", "text": {"body": "kutip"}, "context": {"message_id": "wamid.x"}},
    ]
    for body in bodies:
        response = graph.send({"to": DEWI, **body})
        assert response.status_code == 200, response.text


def test_mark_as_read_and_typing_indicator(emu: Emulator, graph: Graph) -> None:
    wamid = emu.customer_says(DEWI, "Halo")
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}

    assert graph.http.post(f"/{emu.config.phone_number_id}/messages", json=read).json() == {
        "success": True
    }
    typing = {**read, "typing_indicator": {"type": "text"}}
    response = graph.http.post(f"/{emu.config.phone_number_id}/messages", json=typing)
    assert response.json() == {"success": True}
    no_id = {"messaging_product": "whatsapp", "status": "read"}
    response = graph.http.post(f"/{emu.config.phone_number_id}/messages", json=no_id)
    assert error_code(response) == 131008
    assert emu.state.marked_read == [wamid, wamid]
    view = emu.chat_view(DEWI, seen=False)
    assert view["messages"][0]["status"] == "read"
    assert view["typing"]  # until a message comes, or 25 s
    graph.text(DEWI, "Halo kak")
    assert not emu.chat_view(DEWI, seen=False)["typing"]
    assert [b["text"]["body"] for b in emu.sent] == ["Halo kak"]  # the marks are not messages


def test_early_sent_is_delivered_before_the_http_response(
    emu: Emulator, graph: Graph, receiver: Receiver
) -> None:
    emu.set_knobs(early_sent_ratio=1.0, delivered_after=30.0, read_after=60.0)

    wamid = graph.text(DEWI, "cepat").json()["messages"][0]["id"]

    assert receiver.statuses() == [(wamid, "sent")]  # already there, nothing waited for
