"""The shared contact reads: one customer with the tickets the agent may see, and search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loket.channels.items import InboundMessage, Sender
from loket.conftest import Shop
from loket.contacts import selectors
from loket.tickets import services

pytestmark = pytest.mark.django_db

AssertNumQueries = Callable[[int], Any]


def test_newest_tickets_first_and_whether_there_are_more(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: AssertNumQueries
) -> None:
    monkeypatch.setattr(selectors, "CONTACT_TICKETS", 3)
    numbers = []
    for n in range(5):
        ticket = shop.whatsapp_from_dewi(f"Pesanan {n}", wamid=f"wamid.dewi.{n}")
        services.set_status(ticket, "closed", actor=shop.sari)  # the next message opens a new one
        numbers.append(ticket.number)
    contact_id = ticket.contact_id
    with django_assert_num_queries(5):
        detail = selectors.contact_detail(shop.budi, contact_id)
        assert detail is not None
        for t in detail.tickets:
            (t.channel.kind, t.assignee, t.team, list(t.tags.all()))
    assert [t.number for t in detail.tickets] == numbers[::-1][:3]
    assert detail.more_tickets is True
    assert [i.value for i in detail.identities] == ["+6281234567890"]
    # Wati (Pengiriman) finds the customer but none of the Penjualan tickets.
    for_wati = selectors.contact_detail(shop.wati, contact_id)
    assert for_wati is not None
    assert (for_wati.tickets, for_wati.more_tickets) == ([], False)
    assert selectors.contact_detail(shop.wati, 987654) is None


def test_search_by_any_form_of_a_phone_number(shop: Shop) -> None:
    services.receive(
        shop.whatsapp,
        InboundMessage(
            external_id="wamid.ani.1",
            sender=Sender("phone", "6285712345678", "Ani", international=True),
            text="Halo",
        ),
    )
    for q in ["085712345678", "0857-1234-5678", "+62 857 1234 5678", "62857 1234 5678", "5712345"]:
        found = selectors.contact_search(shop.budi, q).contacts
        assert [c.name for c in found] == ["Ani"], q
    assert selectors.contact_search(shop.budi, "0857-9999-0000").contacts == []
