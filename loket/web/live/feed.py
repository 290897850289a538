"""The live change feed: the event log tailed by ``seq``, narrowed to what one agent may see.

A stream polls the log about once a second. An idle poll is one index lookup (the head of the
chain); only when the head moved does it read the new events, with the permission filter in
the same query (a correlated lookup of each event's ticket in the agent's ticket scope),
compiled once per agent and refreshed with their rights at every heartbeat. The cursor
advances past events the agent may not see, so they are never scanned twice.

Only ids travel: the kind of change, the ticket's id and number, and its assignee (for the
agent's own notifications). Pages fetch what they show through their own permission checks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery

from loket.accounts.models import Role, User
from loket.accounts.permissions import ticket_scope
from loket.audit.models import Event
from loket.core import clock as wall_clock
from loket.presence import selectors as presence_selectors
from loket.tickets.models import Ticket

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser reconnects (with Last-Event-ID): no
# connection, thread or database session is held for ever.
MAX_SECONDS = 300.0
# The browser waits this long before reconnecting (SSE ``retry:``).
RETRY_MILLISECONDS = 1000
BATCH = 200
# Events scanned per query; a larger gap is read in steps.
WINDOW = 1000
# A browser further behind than this (back from a long sleep) is told to reload what it shows
# instead of being fed the whole gap.
MAX_CATCHUP = 5000

# How often a stream looks for colleagues' heartbeats on the tickets its agent has open.
PRESENCE_SECONDS = 2.0

# Events about agents, shown to those who watch over them (the agents page).
AGENT_KINDS = ("agent.availability_changed",)


@dataclass(frozen=True)
class Viewer:
    """What one stream needs to know about its agent, read once and refreshed now and then."""

    user_id: int
    scope: Q
    sees_agents: bool
    # The agent's teams: a ticket moved away from one of them is news to them (it leaves
    # their inbox) although they no longer see the ticket.
    team_ids: tuple[int, ...] = ()
    statement: Statement | None = None


@dataclass(frozen=True)
class FeedEvent:
    seq: int
    kind: str
    ticket_id: int | None
    ticket_number: int | None
    assignee_id: int | None
    agent_id: int | None = None
    availability: str | None = None

    def payload(self) -> dict[str, Any]:
        if self.ticket_id is None:
            return {"kind": self.kind, "agent_id": self.agent_id, "availability": self.availability}
        return {
            "kind": self.kind,
            "ticket_id": self.ticket_id,
            "ticket_number": self.ticket_number,
            "assignee_id": self.assignee_id,
        }


def viewer(user_id: int) -> Viewer | None:
    """The agent's current rights; None once the account is gone or deactivated."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    who = Viewer(
        user_id=user.pk,
        scope=ticket_scope(user),
        sees_agents=user.role in {Role.ADMIN, Role.SUPERVISOR},
        team_ids=tuple(user.teams.values_list("pk", flat=True)),
    )
    return replace(who, statement=compile_statement(who))


def head() -> int:
    """The newest sealed event's seq (0 for an empty log)."""
    top = Event.objects.aggregate(top=Max("seq"))["top"]
    return int(top or 0)


@dataclass(frozen=True)
class Batch:
    events: list[FeedEvent]
    cursor: int
    # More events are waiting after ``cursor``: read again without pausing.
    more: bool


# Stand-ins for the cursor and the window's end while a viewer's statement is compiled; the
# compiled parameters hold each exactly once, and each poll puts the real values in.
_CURSOR = -7_100_000_001
_UPTO = -7_100_000_002


@dataclass(frozen=True)
class Statement:
    """One viewer's feed query, compiled once: the ORM takes ~2 ms to compile it and the
    database ~0.1 ms to run it, and a stream runs it every second while events come in."""

    sql: str
    params: tuple[Any, ...]
    cursor_at: int
    upto_at: int

    def rows(self, cursor: int, upto: int) -> list[dict[str, Any]]:
        params = list(self.params)
        params[self.cursor_at] = cursor
        params[self.upto_at] = upto
        with connection.cursor() as db:
            db.execute(self.sql, params)
            names = [column[0] for column in db.description]
            return [dict(zip(names, row, strict=True)) for row in db.fetchall()]


def _query(who: Viewer, cursor: int, upto: int, limit: int) -> QuerySet[Any, Any]:
    tickets = Ticket.objects.filter(who.scope, pk=OuterRef("ticket_id"))
    about = Q(ticket_id__isnull=False, visible_number__isnull=False)
    # Taken out of the agent's view: from their team, or from them as its assignee. They get
    # the ids (which they had) so their inbox drops the row and an open page says so.
    about |= Q(kind="ticket.assigned", data__from=who.user_id)
    if who.team_ids:
        about |= Q(kind="ticket.team_changed", data__from__in=list(who.team_ids))
    if who.sees_agents:
        about |= Q(kind__in=AGENT_KINDS)
    return (
        Event.objects.filter(seq__gt=cursor, seq__lte=upto)
        .annotate(
            visible_number=Subquery(tickets.values("number")[:1]),
            visible_assignee=Subquery(tickets.values("assignee_id")[:1]),
        )
        .filter(about)
        .order_by("seq")
        .values("seq", "kind", "ticket_id", "visible_number", "visible_assignee", "subject_id")
        .annotate(availability=F("data__availability"))[:limit]
    )


def compile_statement(who: Viewer, limit: int = BATCH) -> Statement:
    qs = _query(who, _CURSOR, _UPTO, limit)
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    at_cursor = [i for i, value in enumerate(params) if value == _CURSOR]
    at_upto = [i for i, value in enumerate(params) if value == _UPTO]
    if len(at_cursor) != 1 or len(at_upto) != 1:  # pragma: no cover - a Django change
        raise RuntimeError("the feed query's parameters changed shape")
    return Statement(sql, tuple(params), at_cursor[0], at_upto[0])


def _availability(value: Any) -> str | None:
    """The JSON value as the database hands it over (SQLite: text; PostgreSQL: JSON text)."""
    if value is None:
        return None
    if isinstance(value, str) and value.startswith('"'):
        return str(json.loads(value))
    return str(value)


def visible_after(who: Viewer, cursor: int, *, limit: int = BATCH, window: int = WINDOW) -> Batch:
    """Events after ``cursor`` that ``who`` may see, oldest first, and the new cursor.

    The head is read first and the events are read up to it, so an event committed between
    the two reads is left for the next poll rather than skipped (seq has no gaps and is
    assigned in commit order). At most two queries; at most ``window`` events scanned.
    """
    top = head()
    if top <= cursor:
        return Batch([], cursor, more=False)
    upto = min(top, cursor + window)
    statement = who.statement if limit == BATCH and who.statement else compile_statement(who, limit)
    events = [
        FeedEvent(
            seq=row["seq"],
            kind=row["kind"],
            ticket_id=row["ticket_id"],
            ticket_number=row["visible_number"],
            assignee_id=row["visible_assignee"],
            agent_id=None if row["ticket_id"] else row["subject_id"],
            availability=None if row["ticket_id"] else _availability(row["availability"]),
        )
        for row in statement.rows(cursor, upto)
    ]
    if len(events) == limit:
        return Batch(events, events[-1].seq, more=True)
    return Batch(events, upto, more=upto < top)


def presence_changes(user_id: int, since: datetime) -> list[str]:
    """Messages (without id: presence is not in the event log) for the tickets the agent has
    open where a colleague's heartbeat changed since ``since``."""
    return [
        "event: presence\ndata: "
        + json.dumps(
            {"kind": "presence", "ticket_id": ticket_id, "ticket_number": number},
            separators=(",", ":"),
        )
        + "\n\n"
        for ticket_id, number in presence_selectors.changed_around(user_id, since)
    ]


def sse(event: FeedEvent) -> str:
    data = json.dumps(event.payload(), separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {data}\n\n"


async def stream(
    user_id: int,
    cursor: int | None,
    *,
    poll: float | None = None,
    heartbeat: float | None = None,
    max_duration: float | None = None,
    presence: float | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[str]:
    """The text of one Server-Sent Events stream for the agent ``user_id``.

    Starts after ``cursor`` (the browser's Last-Event-ID), or at the head of the log for a
    fresh page. Ends after ``max_duration`` seconds or when the agent is deactivated. The
    server stops iterating when the client goes away (the generator is closed).
    """
    poll = POLL_SECONDS if poll is None else poll
    heartbeat = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
    max_duration = MAX_SECONDS if max_duration is None else max_duration
    presence = PRESENCE_SECONDS if presence is None else presence
    who = await sync_to_async(viewer)(user_id)
    if who is None:
        return
    top = await sync_to_async(head)()
    started = last_beat = last_presence = clock()
    presence_since = wall_clock.now()
    # First the reconnection delay and the cursor, so the browser has a Last-Event-ID to
    # resume from even if nothing happens before the stream ends.
    kind = "ready"
    if cursor is None:
        cursor = top
    elif cursor > top or top - cursor > MAX_CATCHUP:
        # Too far behind, or a cursor from another database: start over at the head and
        # let the page reload what it shows.
        cursor, kind = top, "resync"
    yield f"retry: {RETRY_MILLISECONDS}\nid: {cursor}\nevent: {kind}\ndata: {{}}\n\n"
    while True:
        batch = await sync_to_async(visible_after)(who, cursor)
        cursor = batch.cursor
        for event in batch.events:
            yield sse(event)
        now = clock()
        if now - last_presence >= presence:
            last_presence, checked = now, wall_clock.now()
            for message in await sync_to_async(presence_changes)(user_id, presence_since):
                yield message
            presence_since = checked
        if now - started >= max_duration:
            yield f"id: {cursor}\n\n"
            return
        if now - last_beat >= heartbeat:
            last_beat = now
            yield f": heartbeat\nid: {cursor}\n\n"
            who = await sync_to_async(viewer)(user_id)
            if who is None:
                return
        if not batch.more:
            await sleep(poll)
