"""Helpers for the ticket tests: a controllable clock and customers who write in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from time_machine import TimeMachineFixture

from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.channels.models import Channel
from loket.tickets import services
from loket.tickets.models import Message

# Monday 2 March 2026, 08:00 in Jakarta.
MONDAY_MORNING = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

DEWI_WA_ID = "6281234567890"
DEWI = Sender("phone", DEWI_WA_ID, "Dewi Lestari", international=True)
RUDI = Sender("email", "Rudi@Contoh.co.id", "Rudi Hartono")

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The personas' passwords are hashed once per test; PBKDF2 would spend seconds on it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    """The clock stands still on a Monday morning until a test moves it."""
    time_machine.move_to(MONDAY_MORNING, tick=False)
    return time_machine


def writes(
    channel: Channel,
    sender: Sender,
    text: str = "Kak, stok batik tulis motif parang masih ada?",
    *,
    external_id: str | None = None,
    subject: str = "",
    reply_to: str = "",
    references: list[str] | None = None,
    ticket_number: int | None = None,
    automatic: bool = False,
    attachments: list[InboundAttachment] | None = None,
    html: str = "",
) -> Message:
    """A customer's message arrives on ``channel``; returns the stored message."""
    received = services.receive(
        channel,
        InboundMessage(
            external_id=external_id or f"ext-{next(_ids)}@contoh.co.id",
            sender=sender,
            text=text,
            html=html,
            subject=subject,
            reply_to_external_id=reply_to,
            thread_external_ids=references or [],
            ticket_number=ticket_number,
            automatic=automatic,
            attachments=attachments or [],
        ),
    )
    return received.message
