"""The live feed: an agent's stream carries the events about tickets they may see, after
their cursor, and nothing about the rest; it resumes where a dropped connection left off."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test import AsyncClient, Client

from loket.accounts import services as accounts
from loket.accounts.models import User
from loket.audit import services as audit
from loket.audit.services import events_after
from loket.conftest import Shop
from loket.web.live import feed


@pytest.fixture(autouse=True)
def _sealed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL events get their ``seq`` when sealed right after commit; a test's
    transaction never commits, so seal each event as it is written (what commit would do).
    On SQLite events are sealed at insert anyway."""
    if connection.vendor != "postgresql":
        return
    write = audit._write

    def write_and_seal(events: list[Any]) -> None:
        write(events)
        audit.seal()

    monkeypatch.setattr(audit, "_write", write_and_seal)


@pytest.fixture(autouse=True)
def _short_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams opened through the view poll fast and end soon, so a failing test fails fast."""
    monkeypatch.setattr(feed, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(feed, "MAX_SECONDS", 5.0)


@dataclass
class Message:
    id: str | None
    event: str | None
    data: dict[str, Any] | None
    comment: str | None


def parse(text: str) -> list[Message]:
    """Split Server-Sent Events text into messages, as a browser's EventSource reads it."""
    messages = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields: dict[str, str] = {}
        comment = None
        for line in block.split("\n"):
            if line.startswith(":"):
                comment = line[1:].strip()
            elif ": " in line:
                name, value = line.split(": ", 1)
                fields[name] = value
        data = json.loads(fields["data"]) if "data" in fields else None
        messages.append(Message(fields.get("id"), fields.get("event"), data, comment))
    return messages


class FakeTime:
    """Time that passes only when the stream sleeps: polls are counted, never waited for.

    ``between`` runs (in the test's thread and transaction) during the first pause, to make
    things happen while the stream is open.
    """

    def __init__(self, between: Callable[[], object] | None = None) -> None:
        self.now = 0.0
        self.between = between

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.between is not None:
            between, self.between = self.between, None
            await sync_to_async(between)()
        self.now += seconds


def run_stream(
    user: User,
    cursor: int | None,
    *,
    polls: int = 3,
    heartbeat: float = 100.0,
    between: Callable[[], object] | None = None,
) -> list[Message]:
    """Everything one stream sends during ``polls`` polls (one second apart, fake time)."""
    fake = FakeTime(between)

    async def consume() -> str:
        stream = feed.stream(
            user.pk,
            cursor,
            poll=1.0,
            heartbeat=heartbeat,
            max_duration=float(polls),
            sleep=fake.sleep,
            clock=fake.clock,
        )
        return "".join([chunk async for chunk in stream])

    return parse(async_to_sync(consume)())


def head() -> int:
    return feed.head()


def ticket_events(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m.data and "ticket_id" in m.data]


def test_a_fresh_stream_starts_at_the_head_and_carries_what_happens_next(shop: Shop) -> None:
    old = shop.whatsapp_from_dewi("Kemarin saya pesan batik", wamid="wamid.old")
    top = events_after(0, limit=10_000)[-1].seq
    messages = run_stream(shop.budi, None, between=lambda: shop.whatsapp_from_dewi("Halo kak"))

    assert (messages[0].event, messages[0].id) == ("ready", str(top))
    events = ticket_events(messages)
    assert {m.event for m in events} >= {"message.received"}
    # Only what happened after the stream opened: the old ticket's creation is not replayed.
    assert all(m.data is not None and m.data["kind"] != "ticket.created" for m in events)
    received = next(m for m in events if m.event == "message.received")
    assert received.data == {
        "kind": "message.received",
        "ticket_id": old.pk,
        "ticket_number": old.number,
        "assignee_id": None,
    }
    assert received.id is not None
    assert int(received.id) > int(messages[0].id or 0)


def test_the_stream_carries_ids_never_message_text_or_customer_data(shop: Shop) -> None:
    cursor = head()
    shop.whatsapp_from_dewi("Alamat saya Jl. Melati 5, Bandung")
    text = "\n".join(str(m) for m in run_stream(shop.sari, cursor))
    assert "Melati" not in text
    assert "Dewi" not in text
    assert "6281234567890" not in text
    assert "message.received" in text


def test_events_after_the_cursor_oldest_first_with_ids_in_order(shop: Shop) -> None:
    cursor = head()
    ticket = shop.whatsapp_from_dewi("Halo")
    shop.whatsapp_from_dewi("Masih ada stok?", wamid="wamid.dewi.2")
    events = ticket_events(run_stream(shop.budi, cursor, polls=1))
    assert [m.event for m in events] == ["ticket.created", "message.received", "message.received"]
    ids = [int(m.id or 0) for m in events]
    assert ids == sorted(ids)
    assert ids[0] > cursor
    assert {m.data["ticket_number"] for m in events if m.data} == {ticket.number}


def test_an_agent_gets_only_the_tickets_of_their_teams(shop: Shop) -> None:
    cursor = head()
    sales_ticket = shop.whatsapp_from_dewi("Halo")  # WhatsApp belongs to Penjualan
    shipping_ticket = shop.email_from_rudi("Paket saya belum sampai")  # email: Pengiriman

    def numbers(user: User) -> set[int]:
        return {
            m.data["ticket_number"]
            for m in ticket_events(run_stream(user, cursor, polls=1))
            if m.data
        }

    assert numbers(shop.wati) == {shipping_ticket.number}
    assert numbers(shop.budi) == {sales_ticket.number}
    assert numbers(shop.joko) == {sales_ticket.number}
    assert numbers(shop.sari) == {sales_ticket.number, shipping_ticket.number}


def test_a_ticket_assigned_to_an_agent_outside_its_team_reaches_them(shop: Shop) -> None:
    from loket.tickets import services as tickets

    ticket = shop.whatsapp_from_dewi("Halo")
    cursor = head()
    tickets.assign(ticket, shop.wati, actor=shop.joko)
    events = ticket_events(run_stream(shop.wati, cursor, polls=1))
    assert [m.event for m in events] == ["ticket.assigned"]
    assert events[0].data is not None
    assert events[0].data["assignee_id"] == shop.wati.pk


def test_the_cursor_moves_past_events_the_agent_may_not_see(shop: Shop) -> None:
    cursor = head()
    shop.whatsapp_from_dewi("Halo")
    messages = run_stream(shop.wati, cursor, polls=1)
    assert ticket_events(messages) == []
    # The last message sets the cursor past the hidden events: a reconnect does not rescan.
    assert messages[-1].id == str(head())


def test_resumes_from_last_event_id(shop: Shop) -> None:
    cursor = head()
    shop.whatsapp_from_dewi("Halo")
    first = ticket_events(run_stream(shop.budi, cursor, polls=1))
    assert [m.event for m in first] == ["ticket.created", "message.received"]

    # The connection dropped after the first event; the browser resumes with its id.
    resumed = ticket_events(run_stream(shop.budi, int(first[0].id or 0), polls=1))
    assert [(m.id, m.event) for m in resumed] == [(first[1].id, "message.received")]


def test_a_cursor_far_behind_or_from_another_database_resyncs_at_the_head(shop: Shop) -> None:
    shop.whatsapp_from_dewi("Halo")
    top = head()
    ahead = run_stream(shop.budi, top + 1000, polls=1)
    assert (ahead[0].event, ahead[0].id) == ("resync", str(top))

    behind = run_stream(shop.budi, 0, polls=1)
    assert behind[0].event == "ready"  # within reach: fed, not reset
    assert top < feed.MAX_CATCHUP


def test_heartbeat_comments_keep_the_connection_alive(shop: Shop) -> None:
    messages = run_stream(shop.budi, None, polls=5, heartbeat=2.0)
    beats = [m for m in messages if m.comment == "heartbeat"]
    assert len(beats) == 2  # at 2 s and 4 s of a 5 s stream
    assert all(b.id == str(head()) for b in beats)


def test_the_stream_ends_and_a_deactivated_agent_is_dropped(shop: Shop) -> None:
    def deactivate() -> None:
        User.objects.filter(pk=shop.budi.pk).update(is_active=False)

    messages = run_stream(shop.budi, None, polls=100, heartbeat=2.0, between=deactivate)
    # Dropped at the first heartbeat after the deactivation, long before the 100 s are up.
    assert len([m for m in messages if m.comment == "heartbeat"]) == 1


def test_supervisors_see_availability_changes_agents_do_not(shop: Shop) -> None:
    cursor = head()
    accounts.set_availability(shop.budi, "online")

    def kinds(user: User) -> list[tuple[str | None, Any]]:
        return [(m.event, m.data) for m in run_stream(user, cursor, polls=1) if m.data]

    change = {
        "kind": "agent.availability_changed",
        "agent_id": shop.budi.pk,
        "availability": "online",
    }
    assert ("agent.availability_changed", change) in kinds(shop.joko)
    assert ("agent.availability_changed", change) in kinds(shop.sari)
    assert all(kind != "agent.availability_changed" for kind, _ in kinds(shop.wati))


def test_reading_a_backlog_in_windows(shop: Shop) -> None:
    cursor = head()
    shop.whatsapp_from_dewi("Halo")
    shop.whatsapp_from_dewi("Lagi", wamid="wamid.dewi.2")
    who = feed.viewer(shop.budi.pk)
    assert who is not None
    seen = []
    steps = 0
    while True:
        batch = feed.visible_after(who, cursor, limit=2, window=3)
        seen += [e.kind for e in batch.events]
        cursor = batch.cursor
        steps += 1
        if not batch.more:
            break
    assert seen == ["ticket.created", "message.received", "message.received"]
    assert cursor == head()
    assert steps >= 2


def test_an_idle_poll_is_one_query_and_a_busy_one_two(
    shop: Shop, django_assert_num_queries: Any
) -> None:
    cursor = head()
    who = feed.viewer(shop.wati.pk)
    assert who is not None
    with django_assert_num_queries(1):
        assert feed.visible_after(who, cursor).events == []
    shop.email_from_rudi("Paket")
    shop.whatsapp_from_dewi("Halo")
    with django_assert_num_queries(2):
        batch = feed.visible_after(who, cursor)
    assert {e.kind for e in batch.events} == {"ticket.created", "message.received"}


# --- the view ---------------------------------------------------------------------------------
def test_the_endpoint_needs_a_signed_in_agent(shop: Shop) -> None:
    response = Client().get("/live/events")
    assert response.status_code == 401


def test_the_endpoint_streams_with_headers_for_proxies(shop: Shop, settings: Any) -> None:
    shop.whatsapp_from_dewi("Halo")
    cursor = head()
    shop.whatsapp_from_dewi("Masih ada?", wamid="wamid.dewi.2")
    client = AsyncClient()

    async def read() -> tuple[Any, str]:
        await client.aforce_login(shop.budi)
        response = await client.get("/live/events", headers={"Last-Event-ID": str(cursor)})
        text = ""
        iterator = cast(AsyncGenerator[bytes, None], aiter(response.streaming_content))  # type: ignore[attr-defined]
        while "message.received" not in text:
            chunk = await anext(iterator)
            text += chunk.decode() if isinstance(chunk, bytes) else chunk
        await iterator.aclose()
        return response, text

    response, text = async_to_sync(read)()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    received = [m for m in parse(text) if m.event == "message.received"]
    assert len(received) == 1
    assert int(received[0].id or 0) > cursor


@pytest.mark.parametrize("after", ["", "abc", "-5"])
def test_a_bad_cursor_is_ignored(shop: Shop, after: str) -> None:
    client = AsyncClient()

    async def first_message() -> str:
        await client.aforce_login(shop.budi)
        response = await client.get("/live/events", {"after": after})
        iterator = cast(AsyncGenerator[bytes, None], aiter(response.streaming_content))  # type: ignore[attr-defined]
        chunk = await anext(iterator)
        await iterator.aclose()
        return chunk.decode() if isinstance(chunk, bytes) else str(chunk)

    [message] = parse(async_to_sync(first_message)())
    assert (message.event, message.id) == ("ready", str(head()))


def test_a_ticket_moved_out_of_an_agents_view_is_news_to_them(shop: Shop) -> None:
    from loket.tickets import services as tickets

    ticket = shop.whatsapp_from_dewi("Halo")  # Penjualan: Budi sees it
    tickets.assign(ticket, shop.budi, actor=shop.joko)
    cursor = head()
    tickets.set_team(ticket, shop.shipping, actor=shop.joko)  # still Budi's (assignee)
    tickets.assign(ticket, shop.wati, actor=shop.joko)  # now out of Budi's view

    events = ticket_events(run_stream(shop.budi, cursor, polls=1))
    assert [(m.event, m.data and m.data["ticket_id"]) for m in events] == [
        ("ticket.team_changed", ticket.pk),
        ("ticket.assigned", ticket.pk),
    ]
    # Wati sees both: the ticket is her team's now.
    assert len(ticket_events(run_stream(shop.wati, cursor, polls=1))) == 2


def test_a_ticket_moved_to_another_team_leaves_the_old_teams_inbox(shop: Shop) -> None:
    from loket.tickets import services as tickets

    ticket = shop.whatsapp_from_dewi("Halo")  # Penjualan, unassigned
    cursor = head()
    tickets.set_team(ticket, shop.shipping, actor=shop.joko)
    events = ticket_events(run_stream(shop.budi, cursor, polls=1))
    assert [(m.event, m.data and m.data["ticket_id"]) for m in events] == [
        ("ticket.team_changed", ticket.pk)
    ]


def test_a_colleague_starting_to_type_is_pushed_to_agents_on_that_ticket(shop: Shop) -> None:
    from loket.presence import services as presence

    ticket = shop.whatsapp_from_dewi("Halo")
    other = shop.email_from_rudi("Paket")
    presence.beat(shop.budi, ticket, "viewing")  # Budi has the ticket open
    presence.beat(shop.sari, other, "viewing")  # Sari another one

    def joko_types() -> None:
        presence.beat(shop.joko, ticket, "typing")

    budi = run_stream(shop.budi, None, polls=4, between=joko_types)
    pushed = [m for m in budi if m.event == "presence"]
    assert [m.data for m in pushed] == [
        {"kind": "presence", "ticket_id": ticket.pk, "ticket_number": ticket.number}
    ]
    assert all(m.id is None for m in pushed)  # not in the event log: the cursor stays

    sari = run_stream(shop.sari, None, polls=4, between=joko_types)
    assert [m for m in sari if m.event == "presence"] == []  # not on that ticket
