"""Inbound mail over SMTP or LMTP: the MTA hands mail to Loket, Loket keeps it raw, then says 250.

The envelope decides everything (lessons §12): an unknown recipient is refused at RCPT TO
(550, so nothing is bounced later to a forged sender), an oversized mail is refused with 552
(the SIZE extension announces the limit), and DATA is answered 250 only after the raw bytes
and the envelope are stored. When storing fails the answer is 451: the sending MTA keeps the
mail and tries again, so nothing is lost. Parsing is the task worker's job, as for IMAP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP
from django.db import close_old_connections, connections, transaction

from loket.channels.models import Channel, ChannelKind
from loket.channels.services import store_delivery

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_SIZE_LIMIT = 25 * 1024 * 1024  # bytes; the SIZE extension announces it

REFUSED = "550 5.1.1 No mailbox here by that name"
STORED = "250 2.0.0 Message stored"
TRY_LATER = "451 4.3.0 Message not stored; try again later"


def channels_for(address: str) -> list[Channel]:
    """The enabled email channels that serve ``address``: their address or one of their
    aliases, case-insensitive, with or without a +tag ("cs+1042@toko.id" is "cs@toko.id")."""
    wanted = address.strip().strip("<>").lower()
    local, _at, domain = wanted.rpartition("@")
    forms = {wanted, f"{local.split('+', 1)[0]}@{domain}"} if local else {wanted}
    found = []
    for channel in Channel.objects.filter(kind=ChannelKind.EMAIL, enabled=True).order_by("pk"):
        aliases = channel.config.get("aliases") or []
        if isinstance(aliases, str):
            aliases = aliases.replace(",", " ").split()
        served = {channel.address.lower(), *(str(a).lower() for a in aliases)}
        if served & forms:
            found.append(channel)
    return found


def _store(raw: bytes, mail_from: str, recipients: list[str]) -> int:
    """One stored delivery per matching channel, all of them or none (one transaction).

    Returns how many were stored: 0 when every channel was disabled since RCPT TO.
    """
    seen: set[int] = set()
    with transaction.atomic():
        for rcpt in recipients:
            for channel in channels_for(rcpt):
                if channel.pk in seen:
                    continue
                seen.add(channel.pk)
                store_delivery(
                    channel, raw, headers={"source": "smtp", "mail_from": mail_from, "rcpt": rcpt}
                )
    return len(seen)


class Inbox:
    """The aiosmtpd handler. With ``lmtp`` DATA gets one reply per recipient (RFC 2033)."""

    def __init__(self, *, lmtp: bool = False) -> None:
        self.lmtp = lmtp
        # Database work runs off the event loop, on one thread that owns its connection.
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loket-listener")

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            close_old_connections()  # a connection past its age or broken is replaced
            return work(*args)

        return await asyncio.get_running_loop().run_in_executor(self._database, run)

    def close(self) -> None:
        """Close the database connection the listener's thread holds, then the thread."""
        self._database.submit(connections.close_all).result()
        self._database.shutdown()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            known = await self._run(channels_for, address)
        except Exception:
            log.exception("looking up the recipient %s failed", address)
            return TRY_LATER
        if not known:
            return REFUSED
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        mail_from = str(envelope.mail_from or "")
        groups = [[rcpt] for rcpt in envelope.rcpt_tos] if self.lmtp else [list(envelope.rcpt_tos)]
        replies = []
        for recipients in groups:
            try:
                stored = await self._run(_store, raw, mail_from, recipients)
            except Exception:
                log.exception("storing mail from %s for %s failed", mail_from, recipients)
                replies.append(TRY_LATER)
            else:
                replies.append(STORED if stored else REFUSED)
        return "\r\n".join(replies)


class Listener(Controller):
    """An SMTP (or LMTP) server for inbound mail on ``hostname:port``, in its own thread."""

    def __init__(
        self,
        hostname: str,
        port: int,
        *,
        lmtp: bool = False,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        server_hostname: str | None = None,
    ) -> None:
        super().__init__(
            Inbox(lmtp=lmtp),
            hostname=hostname,
            port=port,
            data_size_limit=size_limit,
            server_hostname=server_hostname,
        )
        self.lmtp = lmtp

    def stop(self, *args: Any, **kwargs: Any) -> None:
        super().stop(*args, **kwargs)
        self.handler.close()

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)
