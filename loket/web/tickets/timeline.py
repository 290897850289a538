"""The ticket page's timeline: messages and system events in one time order, ready to show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from loket.accounts.models import Team, User
from loket.audit.models import Event
from loket.tickets.models import DeliveryStatus, Direction, Message, Priority, Status, Ticket

# Event kinds shown as small grey lines between the messages.
SHOWN_EVENTS = (
    "ticket.created",
    "ticket.status_changed",
    "ticket.assigned",
    "ticket.team_changed",
    "ticket.priority_changed",
    "ticket.tags_changed",
    "ticket.linked",
)

# An email longer than this (characters of text) starts collapsed.
LONG_TEXT = 1200

# Images shown inline; anything else (SVG can carry scripts) is a download.
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

PENDING_DELIVERY = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.SENDING})


@dataclass(frozen=True)
class Entry:
    kind: str  # "message" or "event"
    at: datetime
    message: Message | None = None
    line: str = ""
    # For a failed message of ours: what the agent can do about it.
    advice: str = ""


def _names(events: list[Event], agents: dict[int, User], teams: dict[int, Team]) -> set[int]:
    """User ids the events name that ``agents`` does not hold (deactivated agents)."""
    missing: set[int] = set()
    for event in events:
        if event.kind == "ticket.assigned":
            for key in ("from", "to"):
                value = event.data.get(key)
                if isinstance(value, int) and value not in agents:
                    missing.add(value)
    return missing


def _status_label(value: Any) -> str:
    return str(Status(value).label) if value in Status.values else str(value)


def event_line(event: Event, agents: dict[int, User], teams: dict[int, Team]) -> str:
    data = event.data
    who = agents[event.actor_id].name if event.actor_id in agents else ""

    def agent(value: Any) -> str:
        return str(agents[value]) if isinstance(value, int) and value in agents else "?"

    if event.kind == "ticket.created":
        return _("Ticket opened")
    if event.kind == "ticket.status_changed":
        line = _("Status: %(status)s") % {"status": _status_label(data.get("to"))}
    elif event.kind == "ticket.assigned":
        if data.get("to") is None:
            line = _("Assignee removed")
        else:
            line = _("Assigned to %(agent)s") % {"agent": agent(data.get("to"))}
    elif event.kind == "ticket.team_changed":
        team = teams.get(data["to"]) if isinstance(data.get("to"), int) else None
        line = (
            _("Moved to team %(team)s") % {"team": team.name}
            if team is not None
            else _("Team removed")
        )
    elif event.kind == "ticket.priority_changed":
        value = data.get("to")
        label = Priority(value).label if value in Priority.values else value
        line = _("Priority: %(priority)s") % {"priority": label}
    elif event.kind == "ticket.tags_changed":
        parts = [f"+{t}" for t in data.get("added", [])] + [
            f"-{t}" for t in data.get("removed", [])
        ]
        line = _("Tags: %(tags)s") % {"tags": " ".join(parts)}
    elif event.kind == "ticket.linked":
        line = _("Linked to #%(number)s") % {"number": data.get("other")}
    else:
        line = event.kind
    return _("%(line)s · by %(who)s") % {"line": line, "who": who} if who else line


def build(ticket: Ticket, agents: dict[int, User], teams: dict[int, Team]) -> list[Entry]:
    """Every message (from the ticket_detail prefetch) and shown event in time order.

    One query for the events (two when they name a deactivated agent).
    """
    events = list(
        Event.objects.filter(ticket_id=ticket.pk, kind__in=SHOWN_EVENTS).order_by(
            "created_at", "pk"
        )
    )
    missing = _names(events, agents, teams)
    if missing:
        agents = {**agents, **{u.pk: u for u in User.objects.filter(pk__in=missing)}}
    entries = [
        Entry(
            "message",
            m.created_at,
            message=m,
            advice=failure_advice(m) if m.delivery_status == DeliveryStatus.FAILED else "",
        )
        for m in ticket.messages.all()
    ]
    entries += [Entry("event", e.created_at, line=event_line(e, agents, teams)) for e in events]
    entries.sort(key=lambda entry: (entry.at, entry.kind == "message"))
    return entries


def awaiting_delivery(ticket: Ticket) -> bool:
    """Whether one of our messages is still queued or being sent (the timeline then polls)."""
    return any(
        m.direction == Direction.OUTBOUND and m.delivery_status in PENDING_DELIVERY
        for m in ticket.messages.all()
    )


def failure_advice(message: Message) -> str:
    """What the agent can do about a failed message, in words."""
    code = message.failure_code
    if code in {"131047", "re_engagement", "window_closed"}:
        return _(
            "The WhatsApp 24-hour window is closed. Send an approved template, or answer by "
            "email if the customer has an address."
        )
    if code in {"131026", "not_on_whatsapp", "invalid_recipient"}:
        return _("This number cannot receive WhatsApp messages. Try contacting them by email.")
    if code in {"recipient_refused", "no_recipient"}:
        return _(
            "The address was refused. Check it in the customer panel or answer on another one."
        )
    if code == "smtp_not_configured":
        return _("Ask an admin to set up sending for this channel, then send again.")
    return _("Try again later, or answer on another address of this customer.")


WHATSAPP_WINDOW = timedelta(hours=24)


def whatsapp_window(ticket: Ticket, now: datetime) -> tuple[str, bool]:
    """The WhatsApp 24-hour customer service window, in words, and whether it is open.

    Free-form WhatsApp messages reach the customer only within 24 hours of their last
    message; after that only approved templates do. Empty for tickets of other channels.
    """
    if ticket.channel.kind != "whatsapp":
        return "", True
    last = max(
        (
            m.created_at
            for m in ticket.messages.all()
            if m.direction == Direction.INBOUND and m.channel_id == ticket.channel_id
        ),
        default=None,
    )
    if last is None or now >= last + WHATSAPP_WINDOW:
        return _(
            "The WhatsApp window is closed: the customer has not written for 24 hours, so a "
            "free reply will not arrive. Answer by email or send a template."
        ), False
    left = last + WHATSAPP_WINDOW - now
    hours, minutes = divmod(int(left.total_seconds() // 60), 60)
    return _("WhatsApp window closes in %(hours)d h %(minutes)d min") % {
        "hours": hours,
        "minutes": minutes,
    }, True
