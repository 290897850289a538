"""Query-count baselines of the read endpoints: they must not grow with tickets or messages.

Counts include the token lookup (1 query). For an agent or supervisor the permission scope
reads their teams (1 query); an admin has no scope query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loket.accounts.models import User
from loket.api.tests.conftest import Api, customer_writes
from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.conftest import Shop
from loket.tickets import services
from loket.tickets.models import Ticket

pytestmark = pytest.mark.django_db

AssertNumQueries = Callable[[int], Any]

# Pinned baselines: token + (teams) + tickets + tags.
LIST_AGENT, LIST_ADMIN = 4, 3
# token + (teams) + ticket + tags + identities + messages + attachments + related.
DETAIL_AGENT, DETAIL_ADMIN = 8, 7
# token + contact + identities + (teams) + tickets + tags.
CONTACT_AGENT = 6
# token + contacts + identities.
CONTACT_SEARCH = 3


def busy_tickets(shop: Shop, count: int) -> list[Ticket]:
    """Tickets with everything an inbox row shows: tags, assignees, teams, two channels."""
    made = []
    for n in range(count):
        ticket = customer_writes(shop.whatsapp if n % 2 else shop.email)
        services.set_tags(ticket, [f"tag{n}", "grosir"], actor=shop.sari)
        services.assign(ticket, [shop.budi, shop.joko, shop.wati][n % 3], actor=shop.sari)
        if n % 5 == 0:
            services.set_team(ticket, None, actor=shop.sari)
        made.append(ticket)
    return made


def conversation(shop: Shop, ticket: Ticket, rounds: int) -> None:
    """Customer messages with attachments, notes and replies by different agents."""
    start = ticket.messages.count()
    for n in range(start, start + rounds):
        services.receive(
            shop.whatsapp,
            InboundMessage(
                external_id=f"wamid.busy.{ticket.pk}.{n}",
                sender=Sender("phone", "6281234567890", "Dewi Lestari", international=True),
                text=f"Pesan ke-{n}",
                attachments=[
                    InboundAttachment(f"foto{n}.jpg", "image/jpeg", f"foto {n}".encode()),
                    InboundAttachment(f"nota{n}.pdf", "application/pdf", f"nota {n}".encode()),
                ],
            ),
        )
        services.add_note(ticket, [shop.budi, shop.joko][n % 2], f"Catatan {n}")
        services.reply(ticket, [shop.joko, shop.budi][n % 2], f"Balasan {n}")
        related = customer_writes(shop.whatsapp)
        services.link(ticket, related, actor=shop.sari)


@pytest.mark.parametrize(("persona", "expected"), [("budi", LIST_AGENT), ("sari", LIST_ADMIN)])
def test_ticket_list(
    shop: Shop,
    api_as: Callable[[User], Api],
    django_assert_num_queries: AssertNumQueries,
    persona: str,
    expected: int,
) -> None:
    api = api_as(getattr(shop, persona))
    busy_tickets(shop, 3)
    with django_assert_num_queries(expected):
        small = api.get("/tickets")
    busy_tickets(shop, 40)
    with django_assert_num_queries(expected):
        large = api.get("/tickets", limit=100)
    assert len(large.json()["items"]) > len(small.json()["items"]) >= 2
    with django_assert_num_queries(expected):
        page = api.get("/tickets", limit=10)
    with django_assert_num_queries(expected):
        api.client.get(page.json()["next"])
    with django_assert_num_queries(expected):
        filtered = api.get(
            "/tickets",
            status="new,open",
            channel="whatsapp",
            assignee=str(shop.budi.pk),
            tag="grosir",
            order="waiting",
            updated_since="2020-01-01T00:00:00+07:00",
        )
    assert filtered.json()["items"]


def test_ticket_list_with_text_search_does_not_grow(
    shop: Shop, api_as: Callable[[User], Api]
) -> None:
    api = api_as(shop.budi)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/tickets", q="Halo").status_code == 200
        return len(queries)

    busy_tickets(shop, 2)
    small = count()
    busy_tickets(shop, 30)
    assert count() == small


@pytest.mark.parametrize(("persona", "expected"), [("budi", DETAIL_AGENT), ("sari", DETAIL_ADMIN)])
def test_ticket_detail(
    shop: Shop,
    api_as: Callable[[User], Api],
    django_assert_num_queries: AssertNumQueries,
    persona: str,
    expected: int,
) -> None:
    api = api_as(getattr(shop, persona))
    ticket = shop.whatsapp_from_dewi("Halo kak")
    conversation(shop, ticket, 1)
    with django_assert_num_queries(expected):
        small = api.get(f"/tickets/{ticket.number}")
    conversation(shop, ticket, 12)
    with django_assert_num_queries(expected):
        large = api.get(f"/tickets/{ticket.number}")
    assert len(large.json()["messages"]) == 1 + 13 * 3 > len(small.json()["messages"])
    assert sum(len(m["attachments"]) for m in large.json()["messages"]) == 26


def test_contact_detail_and_search(
    shop: Shop, api_as: Callable[[User], Api], django_assert_num_queries: AssertNumQueries
) -> None:
    api = api_as(shop.budi)
    dewi = shop.whatsapp_from_dewi("Halo").contact
    with django_assert_num_queries(CONTACT_AGENT):
        api.get(f"/contacts/{dewi.pk}")
    with django_assert_num_queries(CONTACT_SEARCH):
        api.get("/contacts", q="dewi")
    for n in range(12):
        ticket = customer_writes(shop.whatsapp, email="dewi@contoh.co.id")
        services.set_tags(ticket, [f"t{n}"], actor=shop.sari)
        services.set_status(ticket, "closed", actor=shop.sari)
        customer_writes(shop.email, email=f"dewi{n}@contoh.co.id")
    with django_assert_num_queries(CONTACT_AGENT):
        api.get(f"/contacts/{dewi.pk}")
    with django_assert_num_queries(CONTACT_SEARCH):
        found = api.get("/contacts", q="dewi")
    assert len(found.json()["items"]) == 14
