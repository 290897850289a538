"""API test helpers: a bearer-token client per persona and a way to make many tickets."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loket.accounts import tokens
from loket.accounts.models import User
from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.tickets import services
from loket.tickets.models import Ticket

_serial = itertools.count(1)


class Api:
    """A test client that sends one agent's bearer token with every request."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.token = tokens.create_token(user, "test")
        self.client = Client(headers={"Authorization": f"Bearer {self.token}"})
        # The first use records last_used_at (one extra UPDATE); do it now so the query
        # counts the tests pin are those of every later request.
        assert self.get("/me").status_code == 200

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get("/api/v1" + path, params)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post("/api/v1" + path, body, content_type="application/json")

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch("/api/v1" + path, body, content_type="application/json")


@pytest.fixture
def api_as(shop: Shop) -> Callable[[User], Api]:
    return Api


def customer_writes(
    channel: Channel,
    text: str = "Halo kak, stoknya ada?",
    *,
    email: str | None = None,
    attachments: list[InboundAttachment] | None = None,
) -> Ticket:
    """A new customer writes to ``channel`` (by email address, so any channel kind works)."""
    n = next(_serial)
    received = services.receive(
        channel,
        InboundMessage(
            external_id=f"test-{n}@pelanggan.id",
            sender=Sender("email", email or f"pelanggan{n}@contoh.co.id", f"Pelanggan {n}"),
            subject=f"Pertanyaan {n}",
            text=text,
            attachments=attachments or [],
        ),
    )
    return received.message.ticket


@pytest.fixture
def many_tickets(shop: Shop) -> Callable[[int, Channel | None], list[Ticket]]:
    def make(count: int, channel: Channel | None = None) -> list[Ticket]:
        return [customer_writes(channel or shop.whatsapp) for _ in range(count)]

    return make
