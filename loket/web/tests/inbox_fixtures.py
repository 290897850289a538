"""Conversations for the inbox tests, on top of the ``shop`` personas.

WhatsApp tickets belong to team Penjualan (the channel's team), email tickets to Pengiriman.
"""

from __future__ import annotations

from loket.channels.items import InboundMessage, Sender
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import Ticket


def whatsapp(shop: Shop, n: int, text: str = "Halo kak, mau tanya stok") -> Ticket:
    """A new WhatsApp conversation from customer number ``n`` (team Penjualan)."""
    received = tickets.receive(
        shop.whatsapp,
        InboundMessage(
            external_id=f"wamid.test.{n}",
            sender=Sender("phone", f"62813000{n:05d}", f"Pelanggan WA {n}", international=True),
            text=text,
        ),
    )
    return received.message.ticket


def email(shop: Shop, n: int, subject: str = "Pesanan belum sampai") -> Ticket:
    """A new email conversation from customer ``n`` (team Pengiriman)."""
    received = tickets.receive(
        shop.email,
        InboundMessage(
            external_id=f"m{n}@pelanggan.id",
            sender=Sender("email", f"pelanggan{n}@pelanggan.id", f"Pelanggan Email {n}"),
            subject=subject,
            text="Mohon dicek ya.",
        ),
    )
    return received.message.ticket


def rows(html: str) -> list[int]:
    """The ticket numbers of the inbox rows, in order."""
    import re

    return [int(n) for n in re.findall(r'data-ticket-row="(\d+)"', html)]
