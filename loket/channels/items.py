"""The contract between channels and the domain: normalised items and the adapter protocol.

A channel's ``inbound.py`` turns a raw delivery into these items; ``tickets.services`` takes
them without knowing which channel they came from. ``transport.py`` implements ``Adapter.send``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from loket.channels.models import Channel, Delivery
    from loket.tickets.models import Message


@dataclass(frozen=True)
class Sender:
    """The customer's address as the channel gives it (normalised later by contacts)."""

    kind: str  # contacts.IdentityKind value
    value: str
    name: str = ""
    # The value carries a country code even without "+" (a WhatsApp wa_id).
    international: bool = False


@dataclass
class InboundAttachment:
    name: str
    content_type: str
    data: bytes | None
    content_id: str = ""
    # Why ``data`` is missing (too large, could not be fetched).
    note: str = ""
    # Channel facts kept with the file (WhatsApp media id, sha256, voice note flag).
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class InboundMessage:
    external_id: str
    sender: Sender
    text: str = ""
    html: str = ""
    subject: str = ""
    sent_at: datetime | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)
    # Provider id of the message this one answers (WhatsApp context.id, email In-Reply-To).
    reply_to_external_id: str = ""
    # Further provider ids that identify the conversation (email References).
    thread_external_ids: list[str] = field(default_factory=list)
    # A ticket number the customer quoted ("[#1042]" in a subject).
    ticket_number: int | None = None
    # Automatic mail (RFC 3834) or a system notice: stored, but never reopens a ticket.
    automatic: bool = False
    # How a message without thread evidence (reply headers, a quoted number) is threaded.
    # "chat": it joins the contact's open ticket on the channel. "mail": a new mail is a new
    # topic; it joins the contact's open ticket only when its subject is the same.
    threading: str = "chat"
    # Channel-specific facts, shown by the ticket page (see docs/adr/0004-whatsapp.md).
    meta: dict[str, Any] = field(default_factory=dict)
    # Further addresses of the same sender (a WhatsApp username beside the phone number):
    # added to the sender's contact when missing.
    other_senders: list[Sender] = field(default_factory=list)


@dataclass
class StatusUpdate:
    """The provider's news about one of our outbound messages."""

    external_id: str
    status: str  # tickets.DeliveryStatus: sent, delivered, read, failed
    at: datetime | None = None
    error_code: str = ""
    error_reason: str = ""


@dataclass
class Reaction:
    """A customer reacted to a message (``emoji`` empty: the reaction was removed)."""

    external_id: str
    sender: Sender
    target_external_id: str
    emoji: str = ""
    at: datetime | None = None


@dataclass
class IdentityChange:
    """The customer's address changed (WhatsApp "user changed number")."""

    external_id: str
    old: Sender
    new: Sender
    text: str = ""
    at: datetime | None = None


@dataclass
class Notice:
    """News about the channel itself, not about a conversation: a template's status, an
    error the provider reported without a message, a marketing opt-out. Logged and recorded
    as an event; ``kind`` names it (``template_status``, ``error``, ``user_preferences``...)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


Item = InboundMessage | StatusUpdate | Reaction | IdentityChange | Notice


@dataclass(frozen=True)
class SendResult:
    external_id: str
    meta: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """Sending failed. ``retryable`` failures are tried again with backoff.

    ``retry_after`` (seconds) replaces the backoff when the provider or our own limiter
    says when to try again. ``deferred`` means nothing was attempted (our rate limiter held
    the message back): it does not count towards the attempt limit.
    """

    def __init__(
        self,
        code: str,
        reason: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        deferred: bool = False,
    ) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.retryable = retryable or deferred
        self.retry_after = retry_after
        self.deferred = deferred


class Adapter(Protocol):
    def parse(self, channel: Channel, delivery: Delivery) -> list[Item]:
        """Turn one raw delivery into items. Raises on a delivery that cannot be read."""

    def send(self, channel: Channel, message: Message) -> SendResult:
        """Hand one outbound message to the provider. Raises DeliveryError."""
