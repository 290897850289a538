"""Who else is on a ticket, and where each agent is: reads of the presence heartbeats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from loket.accounts.models import Availability, Role, User
from loket.accounts.permissions import ticket_scope
from loket.core import clock
from loket.presence.models import Presence, State
from loket.tickets.models import Ticket

# A heartbeat older than this means the agent left (closed the tab, lost the network).
FRESH = timedelta(seconds=20)
# "Typing" decays to "viewing" sooner: the agent stopped typing a while ago.
TYPING_FRESH = timedelta(seconds=8)


@dataclass(frozen=True)
class Other:
    user_id: int
    name: str
    typing: bool
    updated_at: datetime


def _fresh(now: datetime | None = None) -> QuerySet[Presence]:
    now = now or clock.now()
    return Presence.objects.filter(updated_at__gte=now - FRESH, user__is_active=True)


def others_on(ticket: Ticket | int, user: User) -> list[Other]:
    """The other agents on ``ticket`` right now, typists first, then by name. One query."""
    now = clock.now()
    ticket_id = ticket if isinstance(ticket, int) else ticket.pk
    rows = (
        _fresh(now)
        .filter(ticket_id=ticket_id)
        .exclude(user_id=user.pk)
        .values_list("user_id", "user__name", "user__email", "state", "updated_at")
    )
    others = [
        Other(
            user_id=user_id,
            name=name or email,
            typing=state == State.TYPING and updated_at >= now - TYPING_FRESH,
            updated_at=updated_at,
        )
        for user_id, name, email, state, updated_at in rows
    ]
    others.sort(key=lambda o: (not o.typing, o.name.lower()))
    return others


@dataclass(frozen=True)
class Whereabouts:
    ticket_id: int
    ticket_number: int
    typing: bool


def whereabouts(user_ids: list[int]) -> dict[int, Whereabouts]:
    """Per agent, the ticket they touched most recently (fresh heartbeats only). One query."""
    now = clock.now()
    rows = (
        _fresh(now)
        .filter(user_id__in=user_ids)
        .order_by("user_id", "-updated_at")
        .values_list("user_id", "ticket_id", "ticket__number", "state", "updated_at")
    )
    found: dict[int, Whereabouts] = {}
    for user_id, ticket_id, number, state, updated_at in rows:
        if user_id not in found:
            found[user_id] = Whereabouts(
                ticket_id, number, state == State.TYPING and updated_at >= now - TYPING_FRESH
            )
    return found


@dataclass(frozen=True)
class AgentRow:
    agent: User
    teams: list[str]
    # The ticket the agent is on, when the viewer may see that ticket.
    on: Whereabouts | None


def agents_overview(viewer: User) -> list[AgentRow]:
    """Active agents the viewer watches over (admins: everyone; supervisors: their teams'),
    online first, with what each is looking at. Four queries whatever the number of agents."""
    agents = User.objects.filter(is_active=True).prefetch_related("teams").order_by("name")
    if viewer.role != Role.ADMIN:
        team_ids = list(viewer.teams.values_list("pk", flat=True))
        agents = agents.filter(Q(teams__in=team_ids) | Q(pk=viewer.pk)).distinct()
    people = list(agents)
    where = whereabouts([a.pk for a in people])
    visible = set(
        Ticket.objects.filter(
            ticket_scope(viewer), pk__in=[w.ticket_id for w in where.values()]
        ).values_list("pk", flat=True)
    )
    order: dict[str, int] = {Availability.ONLINE: 0, Availability.AWAY: 1, Availability.OFFLINE: 2}
    rows = [
        AgentRow(
            agent=a,
            teams=[t.name for t in a.teams.all()],
            on=w if (w := where.get(a.pk)) is not None and w.ticket_id in visible else None,
        )
        for a in people
    ]
    rows.sort(key=lambda r: order.get(r.agent.availability, 3))
    return rows


def changed_around(user_id: int, since: datetime) -> list[tuple[int, int]]:
    """(ticket id, number) of the tickets the agent has open where another agent's heartbeat
    changed after ``since``: what the agent's live stream tells their page. One query."""
    now = clock.now()
    mine = Presence.objects.filter(user_id=user_id, updated_at__gte=now - FRESH).values("ticket_id")
    rows = (
        Presence.objects.filter(ticket_id__in=mine, updated_at__gt=since)
        .exclude(user_id=user_id)
        .values_list("ticket_id", "ticket__number")
        .distinct()
    )
    return sorted(rows)
