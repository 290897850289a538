"""Inbound mail over SMTP or LMTP: the MTA hands mail to Loket, Loket keeps it raw, then says 250.

The envelope decides everything (lessons §12): an unknown recipient is refused at RCPT TO
(550, so nothing is bounced later to a forged sender), an oversized mail is refused with 552
(the SIZE extension announces the limit), and DATA is answered 250 only after the raw bytes
and the envelope are stored. When storing fails the answer is 451: the sending MTA keeps the
mail and tries again, so nothing is lost. Parsing is the task worker's job, as for IMAP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP
from asgiref.sync import sync_to_async
from django.db import close_old_connections, transaction

from loket.channels.models import Channel, ChannelKind
from loket.channels.services import store_delivery

log = logging.getLogger(__name__)

DEFAULT_SIZE_LIMIT = 25 * 1024 * 1024  # bytes; the SIZE extension announces it

REFUSED = "550 5.1.1 No mailbox here by that name"
STORED = "250 2.0.0 Message stored"
TRY_LATER = "451 4.3.0 Message not stored; try again later"


def channels_for(address: str) -> list[Channel]:
    """The enabled email channels whose address is ``address`` (case-insensitive)."""
    return list(
        Channel.objects.filter(
            kind=ChannelKind.EMAIL, enabled=True, address__iexact=address.strip()
        )
    )


def _database(work: Callable[..., Any]) -> Callable[..., Any]:
    """``work`` run off the event loop, on fresh database connections when they expired."""

    def run(*args: Any) -> Any:
        close_old_connections()
        try:
            return work(*args)
        finally:
            close_old_connections()

    return sync_to_async(run)


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

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            known = await _database(channels_for)(address)
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
                stored = await _database(_store)(raw, mail_from, recipients)
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

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)
