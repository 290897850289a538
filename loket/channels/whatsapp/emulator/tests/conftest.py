"""Fixtures: the emulator on a free port, a webhook receiver, and a Graph client for them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.server import running_emulator
from loket.channels.whatsapp.emulator.state import Knobs
from loket.channels.whatsapp.emulator.tests.receiver import Receiver, running_receiver

SECRET = "test-app-secret"
TOKEN = "test-token"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def emu(receiver: Receiver) -> Iterator[Emulator]:
    # Fast statuses; no early "sent" unless a test asks (it waits for the receiver).
    knobs = Knobs(
        delivered_after=0.05, read_after=0.1, early_sent_ratio=0.0, retry_delays=[0.05, 0.1]
    )
    with running_emulator(
        webhook_url=receiver.url, app_secret=SECRET, access_token=TOKEN, knobs=knobs
    ) as emulator:
        yield emulator


class Graph:
    """A bare Graph API client for the contract tests (Loket's own is graph.py)."""

    def __init__(self, emu: Emulator, token: str = TOKEN) -> None:
        self.emu = emu
        self.http = httpx.Client(
            base_url=f"{emu.base_url}/v23.0",
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=10,
        )

    def send(self, body: dict[str, Any]) -> httpx.Response:
        full = {"messaging_product": "whatsapp", "recipient_type": "individual", **body}
        return self.http.post(f"/{self.emu.config.phone_number_id}/messages", json=full)

    def text(self, to: str, text: str) -> httpx.Response:
        return self.send({"to": to, "type": "text", "text": {"body": text}})


@pytest.fixture
def graph(emu: Emulator) -> Iterator[Graph]:
    client = Graph(emu)
    yield client
    client.http.close()


def error_code(response: httpx.Response) -> int:
    code: int = response.json()["error"]["code"]
    return code
