"""The ticket page's timeline: messages and system events in one time order, ready to show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loket.accounts.models import Team, User
from loket.audit.models import Event
from loket.tickets.models import DeliveryStatus, Direction, Message, Priority, Status, Ticket
from loket.web.tickets import email_timeline, wa_timeline

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
# A trimmed email whose whole text is longer than this (characters) loads its quoted history
# only when the agent opens it: long threads quote each other, and the page would carry every
# earlier mail again in each bubble.
LAZY_TEXT = 4000

# Images shown inline; anything else (SVG can carry scripts) is a download.
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


class MediaTypes(frozenset[str]):
    """Content types, matched without their parameters ("audio/ogg; codecs=opus")."""

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and super().__contains__(
            value.split(";", 1)[0].strip().lower()
        )


# Voice notes, audio and video play in the page (<audio>/<video> from our own origin).
INLINE_AUDIO = MediaTypes(
    {"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/webm", "audio/wav", "audio/opus"}
)
INLINE_VIDEO = MediaTypes({"video/mp4", "video/webm", "video/ogg"})

PENDING_DELIVERY = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.SENDING})


@dataclass(frozen=True)
class Entry:
    kind: str  # "message" or "event"
    at: datetime
    message: Message | None = None
    line: str = ""
    # For a failed message of ours: what the agent can do about it.
    advice: str = ""
    # A WhatsApp message's rich parts (docs/adr/0004): cards, quote, reactions.
    wa: wa_timeline.WaView | None = None
    # The failure is the closed 24-hour window: the template picker is offered right there.
    offer_templates: bool = False
    # An inbound email: the customer's new words, the quoted history behind <details>.
    email: email_timeline.EmailView | None = None
    # How an inbound email arrived: automatic, a forged-looking sender, damaged parts.
    mail_notes: list[str] = field(default_factory=list)
    # The raw mail it was read from is kept: offer it as a download.
    mail_original: bool = False


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
    messages = list(ticket.messages.all())
    folded = wa_timeline.fold(messages, whatsapp=ticket.channel.kind == "whatsapp")
    entries = [
        Entry("event", m.created_at, line=folded.lines[m.pk])
        if m.pk in folded.lines
        else Entry(
            "message",
            m.created_at,
            message=m,
            advice=failure_advice(m) if m.delivery_status == DeliveryStatus.FAILED else "",
            wa=folded.views.get(m.pk),
            offer_templates=m.delivery_status == DeliveryStatus.FAILED
            and m.failure_code in WINDOW_CODES,
            email=email_timeline.view(m, ticket),
            mail_notes=email_timeline.notes(m, ticket),
            mail_original=email_timeline.has_original(m, ticket),
        )
        for m in messages
        if m.pk not in folded.hidden or m.pk in folded.lines
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


# Failure codes (Graph codes as strings, docs/adr/0004, and Loket's own) grouped by what the
# agent can do about them.
WINDOW_CODES = frozenset({"131047", "re_engagement", "window_closed"})
UNREACHABLE_CODES = frozenset({"131026", "not_on_whatsapp", "invalid_recipient", "137000"})
RATE_CODES = frozenset({"4", "80007", "130429", "131056", "131064", "rate_limited"})
AUTH_CODES = frozenset(
    {"0", "190", "3", "10", "131030", "131031", "131037", "131042", "131045", "368", "131063"}
)
TEMPLATE_CODES = frozenset({"132000", "132001", "132005", "132007", "132008", "132012"})
TEMPLATE_GONE_CODES = frozenset({"132015", "132016"})
MARKETING_CODES = frozenset({"131049", "131050", "130472", "131048"})
MEDIA_CODES = frozenset({"131052", "131053", "media_too_large"})
INVALID_CODES = frozenset({"100", "131008", "131009", "131021"})


# What the agent can do, per group of codes, in the order they are looked at.
ADVICE: list[tuple[frozenset[str], Promise]] = [
    (
        WINDOW_CODES,
        gettext_lazy(
            "The WhatsApp 24-hour window is closed. Send an approved template, or answer by "
            "email if the customer has an address."
        ),
    ),
    (
        UNREACHABLE_CODES,
        gettext_lazy("This number cannot receive WhatsApp messages. Try contacting them by email."),
    ),
    (
        RATE_CODES,
        gettext_lazy("WhatsApp is limiting how fast we send; Loket will retry by itself."),
    ),
    (
        AUTH_CODES,
        gettext_lazy(
            "The WhatsApp number is not set up to send (access or account problem). Ask an "
            "admin to check the channel, then send again."
        ),
    ),
    (
        TEMPLATE_CODES,
        gettext_lazy(
            "WhatsApp refused this template or its values. Check the values, or pick another "
            "template."
        ),
    ),
    (
        TEMPLATE_GONE_CODES,
        gettext_lazy("This template is paused or disabled by WhatsApp. Pick another template."),
    ),
    (
        MARKETING_CODES,
        gettext_lazy(
            "WhatsApp held back this message (marketing limits or the customer opted out). "
            "Answer with a utility template or by email."
        ),
    ),
    (
        MEDIA_CODES,
        gettext_lazy("The file could not be sent. Try a smaller file or another format."),
    ),
    (
        INVALID_CODES,
        gettext_lazy("WhatsApp refused the message as invalid. Tell an admin; try plain text."),
    ),
    (
        frozenset({"recipient_refused", "no_recipient"}),
        gettext_lazy(
            "The address was refused. Check it in the customer panel or answer on another one."
        ),
    ),
    (
        frozenset({"smtp_not_configured"}),
        gettext_lazy("Ask an admin to set up sending for this channel, then send again."),
    ),
]


def _bounce_advice(status: str) -> str:
    if status.startswith(("5.1.1", "5.1.2", "5.1.3", "5.1.10")):
        return _(
            "The address does not exist. Check it with the customer, or answer on another of "
            "their addresses."
        )
    if status.startswith(("4.2.2", "5.2.2")):
        return _("The customer's mailbox is full. Try again later, or reach them another way.")
    if status.startswith("5.7"):
        return _(
            "The customer's mail server refused our mail as a policy matter (often spam "
            "filtering). Answer on another of their addresses, or ask your mail provider."
        )
    return _("The customer's mail server returned the mail. Check the address, or try again.")


def failure_advice(message: Message) -> str:
    """What the agent can do about a failed message, in words."""
    code = message.failure_code
    if code.startswith("bounce:"):  # a mail came back (RFC 3463 status after the colon)
        return str(_bounce_advice(code.removeprefix("bounce:")))
    if code.isdigit() and 200 <= int(code) <= 299:  # Graph permission codes
        code = "10"
    for codes, advice in ADVICE:
        if code in codes:
            return str(advice)
    return _("Try again later, or answer on another address of this customer.")


def whatsapp_window(ticket: Ticket, now: datetime) -> tuple[str, bool]:
    """The WhatsApp 24-hour customer service window, in words, and whether it is open.

    Free-form WhatsApp messages reach the customer only within 24 hours of their last
    message to this number (any of their tickets); after that only approved templates do.
    Empty for tickets of other channels. One query (``window.closes_at``).
    """
    if ticket.channel.kind != "whatsapp":
        return "", True
    from loket.channels.whatsapp import window

    closes = window.closes_at(ticket.channel, ticket.contact_id)
    if closes is None or now >= closes:
        return _(
            "The WhatsApp window is closed: the customer has not written for 24 hours, so a "
            "free reply will not arrive. Send an approved template, or answer by email."
        ), False
    left = closes - now
    hours, minutes = divmod(int(left.total_seconds() // 60), 60)
    return _("WhatsApp window closes in %(hours)d h %(minutes)d min") % {
        "hours": hours,
        "minutes": minutes,
    }, True
