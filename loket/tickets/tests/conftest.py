"""Helpers for the ticket tests: a controllable clock and customers who write in."""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from time_machine import TimeMachineFixture

from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.channels.models import Channel
from loket.channels.tests import loopback as loopback_plugin
from loket.conftest import Shop
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


# --- a real SMTP server on loopback ----------------------------------------------------------
def free_port() -> int:
    """A loopback port nobody listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class SmtpServer:
    """What an aiosmtpd server received; addresses in ``refuse`` get a 550.

    A test can hold the server in the middle of a mail: set ``hold``, wait for ``arrived``,
    then ``release``.
    """

    port: int = 0
    mails: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    hold: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold:
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    for _attempt in range(5):
        server.port = free_port()
        controller = Controller(server, hostname="127.0.0.1", port=server.port)
        try:
            controller.start()
        except (OSError, RuntimeError):  # the port was taken in between; pick another
            continue
        break
    else:
        raise RuntimeError("no free port for the SMTP server")
    try:
        yield server
    finally:
        controller.stop()


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
