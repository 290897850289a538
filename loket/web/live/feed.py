"""The live change feed: the event log tailed by ``seq``, narrowed to what one agent may see.

A stream polls the log about once a second. An idle poll is one index lookup (the head of the
chain); only when the head moved does it read the new events, with the permission filter in
the same query (a correlated lookup of each event's ticket in the agent's ticket scope). The
cursor advances past events the agent may not see, so they are never scanned twice.

Only ids travel: the kind of change, the ticket's id and number, and its assignee (for the
agent's own notifications). Pages fetch what they show through their own permission checks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import F, Max, OuterRef, Q, Subquery

from loket.accounts.models import Role, User
from loket.accounts.permissions import ticket_scope
from loket.audit.models import Event
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
    return Viewer(
        user_id=user.pk,
        scope=ticket_scope(user),
        sees_agents=user.role in {Role.ADMIN, Role.SUPERVISOR},
        team_ids=tuple(user.teams.values_list("pk", flat=True)),
    )


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
    tickets = Ticket.objects.filter(who.scope, pk=OuterRef("ticket_id"))
    about = Q(ticket_id__isnull=False, visible_number__isnull=False)
    # Taken out of the agent's view: from their team, or from them as its assignee. They get
    # the ids (which they had) so their inbox drops the row and an open page says so.
    about |= Q(kind="ticket.assigned", data__from=who.user_id)
    if who.team_ids:
        about |= Q(kind="ticket.team_changed", data__from__in=list(who.team_ids))
    if who.sees_agents:
        about |= Q(kind__in=AGENT_KINDS)
    rows = (
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
    events = [
        FeedEvent(
            seq=row["seq"] or 0,  # seq > cursor: never null here
            kind=row["kind"],
            ticket_id=row["ticket_id"],
            ticket_number=row["visible_number"],
            assignee_id=row["visible_assignee"],
            agent_id=None if row["ticket_id"] else row["subject_id"],
            availability=None if row["ticket_id"] else row["availability"],
        )
        for row in rows
    ]
    if len(events) == limit:
        return Batch(events, events[-1].seq, more=True)
    return Batch(events, upto, more=upto < top)


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
    who = await sync_to_async(viewer)(user_id)
    if who is None:
        return
    top = await sync_to_async(head)()
    started = last_beat = clock()
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
