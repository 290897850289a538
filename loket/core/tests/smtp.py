"""A real SMTP server on loopback for tests (aiosmtpd): outbound mail lands here."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from loket.core.tests.processes import free_port


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


@contextmanager
def running_smtp() -> Iterator[SmtpServer]:
    """An SmtpServer listening on a free loopback port until the block ends."""
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
