"""A minimal channel plug-in for testing the channel contract itself.

It speaks a tiny JSON dialect, so tests can write deliveries by hand: messages that come in,
status news about messages that went out, and a ``"broken": true`` delivery that cannot be
read. Sending always succeeds and returns the provider id ``loop.<message id>``. Real
channels (email, WhatsApp) have their own tests against their real or emulated servers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from loket.channels import registry
from loket.channels.items import (
    DeliveryError,
    InboundMessage,
    Item,
    Sender,
    SendResult,
    StatusUpdate,
)
from loket.channels.models import Channel, Delivery
from loket.tickets.models import Message

KIND = "loopback"


class UnreadableDelivery(ValueError):
    pass


class LoopbackAdapter:
    def parse(self, channel: Channel, delivery: Delivery) -> list[Item]:
        payload = json.loads(bytes(delivery.body))
        if payload.get("broken"):
            raise UnreadableDelivery("the delivery says it is broken")
        items: list[Item] = [
            InboundMessage(
                external_id=str(m["id"]),
                sender=Sender(KIND, str(m["from"]), str(m.get("name", ""))),
                text=str(m.get("text", "")),
            )
            for m in payload.get("messages", [])
        ]
        items += [
            StatusUpdate(
                external_id=str(s["id"]),
                status=str(s["status"]),
                error_code=str(s.get("code", "")),
                error_reason=str(s.get("reason", "")),
            )
            for s in payload.get("statuses", [])
        ]
        return items

    # Errors the next sends raise, in order (a test sets them to play a provider's refusals).
    next_errors: ClassVar[list[DeliveryError]] = []

    def send(self, channel: Channel, message: Message) -> SendResult:
        if self.next_errors:
            raise self.next_errors.pop(0)
        return SendResult(external_id=f"loop.{message.pk}")


def body(**payload: Any) -> bytes:
    return json.dumps(payload).encode()


@contextmanager
def installed() -> Iterator[None]:
    """Register the plug-in for the duration of a test."""
    registry.ADAPTERS[KIND] = f"{__name__}.LoopbackAdapter"
    registry.adapter_for.cache_clear()
    try:
        yield
    finally:
        LoopbackAdapter.next_errors.clear()
        del registry.ADAPTERS[KIND]
        registry.adapter_for.cache_clear()
