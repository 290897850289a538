"""The WhatsApp customer service window: 24 hours from the customer's last message.

Inside it any message may be sent; outside it only an approved template reaches the
customer (Meta answers free text with a late 131047 failure). Our own messages never
extend it. Meta's 131047 stays the final word; this is what the composer shows and what
``tickets.services.reply`` enforces before a message is queued.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max

from loket.channels.models import Channel
from loket.tickets.models import Direction, Message

WINDOW = timedelta(hours=24)


def last_customer_message_at(channel: Channel, contact_id: int) -> datetime | None:
    """When the customer last wrote to this number (any of their tickets).

    Automatic inbound messages (a number change, a revoked message) are WhatsApp telling us
    something, not the customer writing: they open no window.
    """
    latest: datetime | None = (
        Message.objects.filter(
            ticket__contact_id=contact_id, channel=channel, direction=Direction.INBOUND
        )
        .exclude(meta__has_key="automatic")
        .aggregate(at=Max("created_at"))["at"]
    )
    return latest


def closes_at(channel: Channel, contact_id: int) -> datetime | None:
    """When the window closes (or closed); None when the customer never wrote."""
    last = last_customer_message_at(channel, contact_id)
    return None if last is None else last + WINDOW


def is_open(channel: Channel, contact_id: int, now: datetime) -> bool:
    closes = closes_at(channel, contact_id)
    return closes is not None and now < closes
