"""Helpers for the ticket tests: a controllable clock and customers who write in."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from time_machine import TimeMachineFixture

from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.channels.models import Channel
from loket.channels.tests import loopback as loopback_plugin
from loket.conftest import Shop
from loket.core.tests.smtp import SmtpServer, running_smtp
from loket.tickets import services
from loket.tickets.models import Message

# Monday 2 March 2026, 08:00 in Jakarta.
MONDAY_MORNING = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

DEWI_WA_ID = "6281234567890"
DEWI = Sender("phone", DEWI_WA_ID, "Dewi Lestari", international=True)
RUDI = Sender("email", "Rudi@Contoh.co.id", "Rudi Hartono")

_ids = itertools.count(1)


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
    threading: str | None = None,
) -> Message:
    """A customer's message arrives on ``channel``; returns the stored message (threaded as
    mail on an email channel, as chat elsewhere, unless ``threading`` says otherwise)."""
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
            threading=threading or ("mail" if channel.kind == "email" else "chat"),
        ),
    )
    return received.message


# --- a real SMTP server on loopback ----------------------------------------------------------
@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


def smtp_config(port: int) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_timeout": 5,
    }


@pytest.fixture
def mail_channel(shop: Shop, smtp_server: SmtpServer) -> Channel:
    """The shop's email channel, sending through the test's SMTP server."""
    shop.email.config = smtp_config(smtp_server.port)
    shop.email.save(update_fields=["config"])
    return shop.email


@pytest.fixture
def loopback(db: None) -> Iterator[Channel]:
    """A channel of the test plug-in (statuses and sends without a provider)."""
    with loopback_plugin.installed():
        yield Channel.objects.create(kind=loopback_plugin.KIND, name="Loopback", address="loop")
