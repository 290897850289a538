"""An inbound email on the ticket page: what the customer wrote now, the quoted history and the
signature one click away (email lessons §5; the stored message keeps the whole mail)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from loket.channels.email.trim import trim_text
from loket.channels.models import ChannelKind
from loket.tickets.models import Direction, Message, Ticket

# Longer texts are not trimmed on the page (the cost stays bounded): they show as they are,
# collapsed like any long message. ``trim_text`` itself reads at most 1,000 lines.
MAX_TRIM_CHARS = 100_000
# Trimming costs about 0.3 ms for a short mail and up to 3 ms for one with 1,000 quoted lines;
# the timeline is rebuilt on every poll, so each process keeps the latest results (a text's
# hash in the key: an edited text is trimmed again). Long replies are not kept.
CACHE_SIZE = 4000
CACHE_REPLY_CHARS = 20_000


@dataclass(frozen=True)
class EmailView:
    reply: str  # the customer's new words
    trimmed: bool  # a quote or signature was cut: the whole text sits behind <details>


def is_inbound_email(message: Message, ticket: Ticket) -> bool:
    """An inbound message that came by email (not WhatsApp, not one of ours)."""
    if message.direction != Direction.INBOUND or "wa" in message.meta:
        return False
    return ticket.channel.kind == ChannelKind.EMAIL or "message_id" in message.meta


def has_original(message: Message, ticket: Ticket) -> bool:
    """The raw mail is kept (and can be downloaded): the delivery an inbound email was read
    from, or the mail a reply was sent as."""
    if is_inbound_email(message, ticket):
        return isinstance(message.meta.get("delivery_id"), int)
    return message.direction == Direction.OUTBOUND and bool(message.meta.get("raw_path"))


def notes(message: Message, ticket: Ticket) -> list[str]:
    """What the agent should know about how an inbound mail arrived (email lessons §7, §14):
    sent by a machine, an absence notice, signs of a forged sender, fallbacks in reading it."""
    if not is_inbound_email(message, ticket):
        return []
    meta = message.meta
    found: list[str] = []
    if meta.get("out_of_office"):
        found.append(_("Out-of-office reply: it does not reopen the ticket."))
    elif meta.get("automatic"):
        found.append(_("Sent automatically: it does not reopen the ticket and gets no answer."))
    warnings = meta.get("sender_warnings") or {}
    sender = message.identity.value if message.identity else ""
    if warnings.get("display_address"):
        found.append(
            _("The sender's name shows %(shown)s, but the mail came from %(sender)s.")
            % {"shown": warnings["display_address"], "sender": sender}
        )
    if warnings.get("dmarc"):
        found.append(
            _(
                "The receiving server could not confirm that this mail came from the sender's "
                "domain (DMARC failed). Be careful with requests for payment or data."
            )
        )
    if warnings.get("reply_to"):
        found.append(
            _("The mail asks for replies to %(address)s; Loket answers the sender's own address.")
            % {"address": warnings["reply_to"]}
        )
    oversized = meta.get("oversized")
    if isinstance(oversized, dict):
        found.append(
            _(
                "This mail is %(size)s, more than the %(limit)s Loket takes in: only its "
                "sender, subject and other headers were read. The whole mail is still in the "
                "mailbox (%(folder)s)."
            )
            % {
                "size": filesizeformat(int(oversized.get("size") or 0)),
                "limit": filesizeformat(settings.LOKET_EMAIL_MAX_BYTES),
                "folder": oversized.get("folder") or "INBOX",
            }
        )
    if meta.get("parse_problems"):
        found.append(
            _("Parts of this mail were damaged and read as well as possible (%(problems)s).")
            % {"problems": ", ".join(str(p) for p in meta["parse_problems"][:5])}
        )
    return found


def view(message: Message, ticket: Ticket) -> EmailView | None:
    """The trimmed reply of an inbound email; ``None`` for other messages."""
    if not is_inbound_email(message, ticket) or not message.text:
        return None
    if len(message.text) > MAX_TRIM_CHARS:
        return EmailView(reply=message.text, trimmed=False)
    key = (message.pk, hash(message.text))
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    found = trim_text(message.text)
    shown = EmailView(reply=found.reply, trimmed=found.trimmed)
    if len(shown.reply) <= CACHE_REPLY_CHARS:
        with _lock:
            _cache[key] = shown
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return shown


_cache: OrderedDict[tuple[int, int], EmailView] = OrderedDict()
_lock = threading.Lock()
