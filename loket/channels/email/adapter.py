"""The email channel's adapter: RFC 822 in, SMTP out."""

from __future__ import annotations

from loket.channels.email import inbound, transport
from loket.channels.items import Item, SendResult
from loket.channels.models import Channel, Delivery
from loket.tickets.models import Message


class EmailAdapter:
    def parse(self, channel: Channel, delivery: Delivery) -> list[Item]:
        return inbound.items(channel, bytes(delivery.body), delivery.headers or {})

    def send(self, channel: Channel, message: Message) -> SendResult:
        return transport.send(channel, message)
