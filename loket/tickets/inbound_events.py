"""Inbound news that is not a message: reactions, a customer's changed number.

Both can be replayed (a delivery is read again after a fix, or retried for a status that came
early), so both are idempotent: a reaction is keyed on its sender, a number change on the
provider id of the system message that announced it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from loket.audit import services as audit
from loket.channels.items import IdentityChange, InboundMessage, Reaction, Sender
from loket.channels.models import Channel
from loket.contacts import services as contacts
from loket.contacts.models import Identity
from loket.core import clock
from loket.tickets import services as tickets
from loket.tickets.models import Message, Status, Ticket
from loket.tickets.status import ACTIVE

log = logging.getLogger(__name__)


def apply_reaction(channel: Channel, reaction: Reaction) -> bool:
    """Show the customer's reaction on the message it reacts to (empty emoji: removed).

    ``Message.meta["reactions"]`` holds one entry per sender (docs/adr/0004-whatsapp.md); a
    newer reaction replaces the sender's entry, a removal deletes it, and older news (a
    replay, a late retry) changes nothing. Returns False when the message reacted to is not
    here (written before Loket, or from the phone app): that reaction is logged and dropped,
    since no later delivery can make it appear.
    """
    at = reaction.at or clock.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("ticket")
            .filter(channel=channel, external_id=reaction.target_external_id)
            .first()
        )
        if message is None:
            log.info(
                "whatsapp: reaction %s to unknown message %s ignored",
                reaction.external_id,
                reaction.target_external_id,
            )
            return False
        entries: list[dict[str, Any]] = [
            r for r in message.meta.get("reactions", []) if isinstance(r, dict)
        ]
        mine = next(
            (
                r
                for r in entries
                if r.get("by") == "customer" and r.get("sender") == reaction.sender.value
            ),
            None,
        )
        if mine is not None and (
            mine.get("id") == reaction.external_id or _later(mine.get("at"), at)
        ):
            return True  # already shown, or older than what is shown
        entries = [r for r in entries if r is not mine]
        if reaction.emoji:
            entries.append(
                {
                    "emoji": reaction.emoji,
                    "by": "customer",
                    "sender": reaction.sender.value,
                    "at": at.isoformat(),
                    "id": reaction.external_id,
                }
            )
        elif mine is None:
            return True  # removing what is not there
        message.meta = {**message.meta, "reactions": entries}
        message.save(update_fields=["meta"])
        audit.append(
            "message.reacted",
            actor=audit.Actor(None, f"contact:{message.ticket.contact_id}"),
            subject_type="message",
            subject_id=message.pk,
            ticket_id=message.ticket_id,
            data={"emoji": reaction.emoji, "removed": not reaction.emoji},
        )
    return True


def _later(stored: Any, at: datetime) -> bool:
    """Whether the stored reaction is newer than ``at``."""
    try:
        return datetime.fromisoformat(str(stored)) > at
    except (TypeError, ValueError):
        return False


def apply_identity_change(channel: Channel, change: IdentityChange) -> None:
    """The customer's number changed: their identity follows, and their ticket says so.

    The notice becomes an automatic inbound message (``meta["wa"]["system"]``) on the
    customer's open or solved ticket on this channel: it never reopens one, and it is stored
    once however often the delivery is read (its provider id is the system message's wamid).
    Without such a ticket the change is only recorded on the contact (``contact.identity_changed``).
    When the new number already belongs to another customer, the old identity stays (an agent
    merges the two) and the line goes to the old customer's ticket.
    """
    try:
        identity = contacts.change_identity(
            change.old.kind, change.old.value, change.new.value, international=True
        )
    except contacts.InvalidIdentity as exc:
        log.warning("whatsapp: number change %s not applied: %s", change.external_id, exc)
        return
    if identity is None:
        log.info("whatsapp: number change %s for an unknown customer", change.external_id)
        return
    old_value = contacts.normalize(change.old.kind, change.old.value, international=True)
    old_identity = Identity.objects.filter(kind=change.old.kind, value=old_value).first()
    holder = old_identity or identity
    if not Ticket.objects.filter(
        contact_id=holder.contact_id, channel=channel, status__in=[*ACTIVE, Status.SOLVED]
    ).exists():
        return
    tickets.receive(
        channel,
        InboundMessage(
            external_id=change.external_id,
            sender=Sender(holder.kind, holder.value, international=True),
            text=change.text,
            sent_at=change.at,
            automatic=True,
            meta={
                "wa": {
                    "type": "system",
                    "system": {
                        "type": "user_changed_number",
                        "body": change.text,
                        "old_wa_id": change.old.value,
                        "new_wa_id": change.new.value,
                    },
                }
            },
        ),
    )
