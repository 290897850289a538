"""The shared ticket reads: keyset pages that never skip or repeat a ticket, the same
visibility as accounts.permissions, and fixed query counts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from loket.accounts.models import User
from loket.accounts.permissions import visible_tickets
from loket.channels.items import InboundMessage, Sender
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.tickets import selectors, services
from loket.tickets.models import Ticket
from loket.tickets.selectors import InvalidCursor, TicketFilters, encode_cursor, ticket_list

pytestmark = pytest.mark.django_db

START = datetime(2026, 4, 6, 2, 0, tzinfo=UTC)
_serial = itertools.count(1)
AssertNumQueries = Callable[[int], Any]


def write(channel: Channel, text: str = "Halo kak") -> Ticket:
    n = next(_serial)
    return services.receive(
        channel,
        InboundMessage(
            external_id=f"sel-{n}",
            sender=Sender("email", f"sel{n}@contoh.co.id", f"Pelanggan {n}"),
            subject=f"Tanya {n}",
            text=text,
        ),
    ).message.ticket


def all_pages(user: User, filters: TicketFilters, per_page: int) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = ticket_list(user, filters, cursor=cursor, per_page=per_page)
        pages.append([t.number for t in page.tickets])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


@pytest.fixture
def crowd(shop: Shop) -> list[Ticket]:
    """Twenty tickets in four bursts of five that share one timestamp each (ties on the sort
    key), some answered (waiting_since null), some team-less, some assigned across teams."""
    made: list[Ticket] = []
    for burst in range(4):
        with time_machine.travel(START + timedelta(minutes=burst), tick=False):
            for n in range(5):
                made.append(write(shop.whatsapp if n % 2 else shop.email))
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        for ticket in made[::3]:
            services.reply(ticket, shop.sari, "Sudah dijawab")
    for ticket in made[1::4]:
        services.set_team(ticket, None, actor=shop.sari)
    services.assign(made[2], shop.budi, actor=shop.sari)  # an email (Pengiriman) ticket
    return made


NARROWER: list[dict[str, Any]] = [
    {},
    {"status": ["new", "open"]},
    {"status": ["open", "new", "solved", "pending"]},
    {"team": "none"},
    {"assignee": "none", "status": ["new"]},
    {"channel": "email"},
]


def matches(ticket: Ticket, user: User, narrower: dict[str, Any]) -> bool:
    if "status" in narrower and ticket.status not in narrower["status"]:
        return False
    if narrower.get("team") == "none" and ticket.team_id is not None:
        return False
    if narrower.get("assignee") == "none" and ticket.assignee_id is not None:
        return False
    return narrower.get("channel") in (None, ticket.channel.kind)


@pytest.mark.parametrize("order", ["activity", "waiting"])
def test_pages_cover_every_visible_ticket_once_in_order(
    shop: Shop, crowd: list[Ticket], order: str
) -> None:
    # Some statuses so the per-status parts of the query have something to merge.
    for n, ticket in enumerate(crowd):
        if n % 4 == 1:
            services.set_status(ticket, ["open", "pending", "solved"][n % 3], actor=shop.sari)
    for persona, per_page, narrower in itertools.product(
        ["sari", "budi", "wati"], [1, 3, 7, 100], NARROWER
    ):
        check_pages(getattr(shop, persona), order, per_page, narrower)


def check_pages(user: User, order: str, per_page: int, narrower: dict[str, Any]) -> None:
    filters = TicketFilters(order=order, **narrower)  # type: ignore[arg-type]
    pages = all_pages(user, filters, per_page)
    walked = [n for page in pages for n in page]
    expected_set = {
        t.number
        for t in visible_tickets(user, Ticket.objects.select_related("channel"))
        if matches(t, user, narrower)
    }
    context = (user.name, order, per_page, narrower)
    assert len(walked) == len(set(walked)), context
    assert set(walked) == expected_set, context
    assert all(len(p) == per_page for p in pages[:-1])
    by_number = {t.number: t for t in Ticket.objects.all()}
    if order == "activity":
        keys = [(by_number[n].last_activity_at, by_number[n].pk) for n in walked]
        assert keys == sorted(keys, reverse=True)
    else:
        waiting = [by_number[n].waiting_since for n in walked]
        nulls = waiting.index(None) if None in waiting else len(waiting)
        assert all(w is None for w in waiting[nulls:]), "answered tickets last"
        waited = [(by_number[n].waiting_since or START, by_number[n].pk) for n in walked[:nulls]]
        assert waited == sorted(waited)
        assert [by_number[n].pk for n in walked[nulls:]] == sorted(
            by_number[n].pk for n in walked[nulls:]
        )


def test_a_ticket_moving_between_pages_is_not_shown_twice(shop: Shop, crowd: list[Ticket]) -> None:
    first = ticket_list(shop.sari, per_page=5)
    # The newest ticket gets newer activity while the agent reads page 1.
    services.reply(Ticket.objects.get(number=first.tickets[0].number), shop.sari, "Lagi")
    second = ticket_list(shop.sari, cursor=first.next_cursor, per_page=5)
    assert not {t.number for t in first.tickets} & {t.number for t in second.tickets}


def test_page_size_is_clamped(shop: Shop, crowd: list[Ticket]) -> None:
    assert len(ticket_list(shop.sari, per_page=0).tickets) == 1
    assert len(ticket_list(shop.sari, per_page=10_000).tickets) == 20
    assert selectors.MAX_PER_PAGE == 100


def test_cursors_that_were_not_handed_out(shop: Shop, crowd: list[Ticket]) -> None:
    good = ticket_list(shop.sari, per_page=2).next_cursor
    assert good is not None
    bad = [
        "",  # empty means "first page", not an error
        "!!!",
        good[:-3],
        encode_cursor({"order": "activity"}),  # type: ignore[arg-type]
        encode_cursor(["activity", None, 1]),
        encode_cursor(["activity", "2026-04-06T02:00:00", 1]),  # no time zone
        encode_cursor(["activity", "kemarin", 1]),
        encode_cursor(["activity", "2026-04-06T02:00:00+00:00", "1"]),
        encode_cursor(["activity", "2026-04-06T02:00:00+00:00", True]),
        encode_cursor(["waiting", "2026-04-06T02:00:00+00:00", 1]),  # another order
        "A" * 500,
    ]
    assert ticket_list(shop.sari, cursor=bad[0]).tickets
    for cursor in bad[1:]:
        with pytest.raises(InvalidCursor):
            ticket_list(shop.sari, cursor=cursor)
    waiting_end = encode_cursor(["waiting", None, 0])
    assert ticket_list(shop.sari, TicketFilters(order="waiting"), cursor=waiting_end).tickets


def test_an_inactive_agent_sees_nothing(shop: Shop, crowd: list[Ticket]) -> None:
    shop.budi.is_active = False
    assert ticket_list(shop.budi).tickets == []
    assert selectors.ticket_detail(shop.budi, crowd[0].number) is None


def test_text_search(shop: Shop) -> None:
    wanted = write(shop.whatsapp, "Apakah kain songket Palembang ready?")
    write(shop.whatsapp, "Mau tanya ongkir")
    found = ticket_list(shop.sari, TicketFilters(q="songket")).tickets
    assert [t.number for t in found] == [wanted.number]
    assert ticket_list(shop.sari, TicketFilters(q="   ")).tickets  # blank: no filter


def test_detail_in_time_order_with_ties(shop: Shop) -> None:
    with time_machine.travel(START, tick=False):
        ticket = shop.whatsapp_from_dewi("Pertama")
    with time_machine.travel(START + timedelta(hours=20), tick=False):
        services.add_note(ticket, shop.budi, "Kedua")
        services.reply(ticket, shop.budi, "Ketiga")
        services.add_note(ticket, shop.joko, "Keempat")
    detail = selectors.ticket_detail(shop.budi, ticket.number)
    assert detail is not None
    assert [m.text for m in detail.messages.all()] == ["Pertama", "Kedua", "Ketiga", "Keempat"]
    assert selectors.ticket_detail(shop.wati, ticket.number) is None
    assert selectors.ticket_detail(shop.sari, 424242) is None


def test_fixed_query_counts(
    shop: Shop, crowd: list[Ticket], django_assert_num_queries: AssertNumQueries
) -> None:
    for ticket in crowd:
        services.set_tags(ticket, ["a", "b", f"c{ticket.pk}"], actor=shop.sari)
        services.assign(ticket, shop.budi, actor=shop.sari)
    with django_assert_num_queries(2):
        page = ticket_list(shop.sari, per_page=100)
        rows = [
            (t.contact.name, t.channel.kind, t.team, t.assignee, list(t.tags.all()))
            for t in page.tickets
        ]
    assert len(rows) == 20
    with django_assert_num_queries(3):
        ticket_list(shop.budi, TicketFilters(assignee="me", tag="a", status=["new", "open"]))
    target = crowd[0]
    for n in range(5):
        services.add_note(target, shop.joko, f"catatan {n}")
    with django_assert_num_queries(7):
        detail = selectors.ticket_detail(shop.budi, target.number)
        assert detail is not None
        shown = [
            detail.contact.identities.all(),
            [(m.author, m.identity, list(m.attachments.all())) for m in detail.messages.all()],
            list(detail.tags.all()),
            detail.visible_related,  # type: ignore[attr-defined]
        ]
    assert len(shown[1]) == 7  # the question, our answer, five notes
