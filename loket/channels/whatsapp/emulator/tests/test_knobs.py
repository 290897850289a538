"""The knobs: window closed, undeliverable, rate limits, retries, order, batching, duplicates."""

from __future__ import annotations

import httpx

from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.tests.conftest import Graph, error_code
from loket.channels.whatsapp.emulator.tests.receiver import Receiver

DEWI = "6281234567890"


def test_a_closed_window_fails_free_text_after_the_200(
    emu: Emulator, graph: Graph, receiver: Receiver
) -> None:
    emu.set_window_closed(DEWI)

    response = graph.text(DEWI, "Halo lagi")

    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    emu.wait_for(receiver.statuses)
    assert receiver.statuses() == [(wamid, "failed")]
    failed = receiver.status_objects()[0]
    assert failed["errors"][0]["code"] == 131047
    assert failed["errors"][0]["title"] == "Re-engagement message"
    assert "24 hours" in failed["errors"][0]["error_data"]["details"]
    assert emu.wait_for(lambda: emu.status_of(wamid) == "failed")


def test_a_customer_message_reopens_the_window(emu: Emulator) -> None:
    emu.set_window_closed(DEWI)
    emu.customer_says(DEWI, "Halo kak")
    assert emu.knobs.window_closed == []


def test_an_undeliverable_number_fails_with_131026(
    emu: Emulator, graph: Graph, receiver: Receiver
) -> None:
    emu.set_undeliverable("628999")
    emu.set_undeliverable(DEWI)

    wamid = graph.text(DEWI, "Halo").json()["messages"][0]["id"]

    emu.wait_for(receiver.statuses)
    assert receiver.statuses() == [(wamid, "failed")]
    assert receiver.status_objects()[0]["errors"][0]["code"] == 131026


def test_rate_limits_are_synchronous_errors(emu: Emulator, graph: Graph) -> None:
    emu.set_rate_limited(count=1)
    throttled = graph.text(DEWI, "1")
    assert throttled.status_code == 429
    assert error_code(throttled) == 130429
    assert graph.text(DEWI, "2").status_code == 200

    emu.set_pair_limited(DEWI, count=1)
    pair = graph.text(DEWI, "3")
    assert pair.status_code == 400
    assert error_code(pair) == 131056
    assert graph.text(DEWI, "4").status_code == 200
    assert [b["text"]["body"] for b in emu.sent] == ["2", "4"]
    assert [r["code"] for r in emu.state.refused] == [130429, 131056]


def test_a_failed_webhook_is_retried(emu: Emulator, receiver: Receiver) -> None:
    receiver.answers = [500, 503]

    wamid = emu.customer_says(DEWI, "Halo")

    assert [m["id"] for m in receiver.messages()] == [wamid]
    assert [a.status for a in emu.webhook_log] == [500, 503, 200]
    assert len({a.body for a in emu.webhook_log}) == 1


def test_retries_give_up_after_the_last_delay(emu: Emulator, receiver: Receiver) -> None:
    receiver.answers = [500, 500, 500, 500]
    emu.customer_says(DEWI, "Halo")
    assert [a.status for a in emu.webhook_log] == [500, 500, 500]
    assert receiver.messages() == []


def test_out_of_order_statuses(emu: Emulator, graph: Graph, receiver: Receiver) -> None:
    emu.set_knobs(out_of_order=True)
    wamid = graph.text(DEWI, "Halo").json()["messages"][0]["id"]
    emu.wait_for(lambda: len(receiver.statuses()) == 3)
    assert receiver.statuses() == [(wamid, "read"), (wamid, "delivered"), (wamid, "sent")]


def test_skip_delivered(emu: Emulator, graph: Graph, receiver: Receiver) -> None:
    emu.set_knobs(skip_delivered=True)
    wamid = graph.text(DEWI, "Halo").json()["messages"][0]["id"]
    emu.wait_for(lambda: len(receiver.statuses()) == 2)
    assert receiver.statuses() == [(wamid, "sent"), (wamid, "read")]


def test_batched_statuses_use_several_entries(
    emu: Emulator, graph: Graph, receiver: Receiver
) -> None:
    emu.set_knobs(batch_statuses=True)
    wamid = graph.text(DEWI, "Halo").json()["messages"][0]["id"]
    emu.wait_for(receiver.statuses)
    assert len(receiver.received) == 1
    assert len(receiver.received[0].payload["entry"]) == 2
    assert receiver.statuses() == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]


def test_duplicates(emu: Emulator, receiver: Receiver) -> None:
    emu.set_knobs(duplicates=True)
    wamid = emu.customer_says(DEWI, "Halo")
    emu.wait_for(lambda: len(receiver.messages()) == 2)
    assert [m["id"] for m in receiver.messages()] == [wamid, wamid]


def test_read_waits_for_the_phone_page_without_auto_read(
    emu: Emulator, graph: Graph, receiver: Receiver
) -> None:
    emu.set_knobs(auto_read=False)
    wamid = graph.text(DEWI, "Halo").json()["messages"][0]["id"]
    emu.wait_for(lambda: emu.status_of(wamid) == "delivered")

    emu.chat_view(DEWI, seen=True)
    emu.chat_view(DEWI, seen=True)
    emu.customer_says(DEWI, "Oke")  # queued after the reads: they are done when it is

    assert receiver.statuses().count((wamid, "read")) == 1


def test_knobs_over_http(emu: Emulator) -> None:
    url = f"{emu.base_url}/_emulator/knobs"
    changed = httpx.post(url, json={"window_closed": [DEWI], "rate_limited": 2})
    assert changed.status_code == 200
    assert changed.json()["window_closed"] == [DEWI]
    assert emu.knobs.rate_limited == 2
    assert httpx.post(url, json={"no_such_knob": 1}).status_code == 400
    assert httpx.post(url, json={"auto_read": "ya"}).status_code == 400
    assert httpx.get(url).json()["rate_limited"] == 2
