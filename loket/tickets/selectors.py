"""Reads of tickets shared by the REST API and the agent dashboard.

Every function here runs a fixed number of queries whatever the number of tickets, messages
or tags (tests pin the counts). Lists page with a keyset cursor on the sort key and the id, so
page 500 costs what page 1 costs, where OFFSET would scan every row before it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL

from loket.accounts.models import Role, Team, User
from loket.accounts.permissions import ticket_scope
from loket.channels.models import Channel
from loket.contacts.models import Identity
from loket.tickets import search
from loket.tickets.models import Attachment, Message, Status, Ticket

Order = Literal["activity", "waiting"]
ORDERS: tuple[Order, ...] = ("activity", "waiting")

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100


class InvalidCursor(ValueError):
    """A cursor that this code did not hand out (edited, truncated, or for another order)."""


@dataclass(frozen=True, kw_only=True)
class TicketFilters:
    """What the inbox is narrowed to. Every field is optional; empty means "any"."""

    status: Sequence[str] = ()
    # A channel id, or a channel kind ("whatsapp", "email").
    channel: int | str | None = None
    # A user id, "me" (the asking user) or "none" (unassigned).
    assignee: int | Literal["me", "none"] | None = None
    # A team id or "none" (team-less).
    team: int | Literal["none"] | None = None
    contact: int | None = None
    tag: str | None = None
    priority: Sequence[str] = ()
    updated_since: datetime | None = None
    q: str = ""
    # "activity": newest activity first. "waiting": the customer waiting longest first.
    order: Order = "activity"


@dataclass(frozen=True)
class TicketPage:
    tickets: list[Ticket]
    # Hand back to ``ticket_list`` for the next page; None on the last page.
    next_cursor: str | None


# --- cursors ----------------------------------------------------------------------------------
def encode_cursor(payload: list[Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> list[Any]:
    """The payload of a cursor from ``encode_cursor``; InvalidCursor for anything else."""
    if len(cursor) > 200:
        raise InvalidCursor(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    if not isinstance(payload, list):
        raise InvalidCursor(cursor)
    return payload


def _sort_value(ticket: Ticket, order: Order) -> datetime | None:
    return ticket.last_activity_at if order == "activity" else ticket.waiting_since


def _cursor_for(ticket: Ticket, order: Order) -> str:
    value = _sort_value(ticket, order)
    return encode_cursor([order, value.isoformat() if value is not None else None, ticket.pk])


def _parse_ticket_cursor(cursor: str, order: Order) -> tuple[datetime | None, int]:
    payload = decode_cursor(cursor)
    if len(payload) != 3 or payload[0] != order:
        raise InvalidCursor(cursor)
    _order, value, pk = payload
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise InvalidCursor(cursor)
    if value is None:
        if order == "activity":  # last_activity_at is never null
            raise InvalidCursor(cursor)
        return None, pk
    if not isinstance(value, str):
        raise InvalidCursor(cursor)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCursor(cursor) from exc
    if moment.tzinfo is None:
        raise InvalidCursor(cursor)
    return moment, pk


def _after(qs: QuerySet[Ticket], order: Order, cursor: str) -> QuerySet[Ticket]:
    value, pk = _parse_ticket_cursor(cursor, order)
    # The outer bound on the sort column alone lets the database walk its index from the
    # cursor on; the OR inside only breaks ties. (A bare "a < x OR (a = x AND id < y)" makes
    # SQLite collect and sort every row past the cursor.)
    if order == "activity":
        # Sorted by (last_activity_at DESC, id DESC).
        return qs.filter(
            Q(last_activity_at__lte=value) & (Q(last_activity_at__lt=value) | Q(pk__lt=pk))
        )
    # Sorted by (waiting_since ASC NULLS LAST, id ASC).
    if value is None:
        return qs.filter(waiting_since__isnull=True, pk__gt=pk)
    return qs.filter(
        (Q(waiting_since__gte=value) & (Q(waiting_since__gt=value) | Q(pk__gt=pk)))
        | Q(waiting_since__isnull=True)
    )


def _ordered(qs: QuerySet[Ticket], order: Order) -> QuerySet[Ticket]:
    if order == "activity":
        return qs.order_by("-last_activity_at", "-pk")
    return qs.order_by(F("waiting_since").asc(nulls_last=True), "pk")


# --- building blocks --------------------------------------------------------------------------
def with_row_relations(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What an inbox row shows, fetched with the rows: two queries for any number of rows."""
    return qs.select_related("contact", "assignee", "team", "channel").prefetch_related("tags")


def _text_search(qs: QuerySet[Ticket], q: str) -> QuerySet[Ticket]:
    ticket_query = cast(
        "Callable[[QuerySet[Ticket], str], QuerySet[Ticket]] | None",
        getattr(search, "ticket_query", None),
    )
    if ticket_query is not None:
        return ticket_query(qs, q)
    # Until the search service exists: subject, preview and "#1042"-style numbers.
    condition = Q(subject__icontains=q) | Q(preview__icontains=q)
    digits = q.strip().lstrip("#")
    if digits.isdigit() and len(digits) < 19:
        condition |= Q(number=int(digits))
    return qs.filter(condition)


def _people(user: User, qs: QuerySet[Ticket], filters: TicketFilters) -> QuerySet[Ticket]:
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee is not None:
        qs = qs.filter(assignee_id=filters.assignee)
    if filters.team == "none":
        qs = qs.filter(team__isnull=True)
    elif filters.team is not None:
        qs = qs.filter(team_id=filters.team)
    if filters.contact is not None:
        qs = qs.filter(contact_id=filters.contact)
    return qs


def _filtered(user: User, qs: QuerySet[Ticket], filters: TicketFilters) -> QuerySet[Ticket]:
    """Every filter except status (see ``_candidates``)."""
    if filters.priority:
        qs = qs.filter(priority__in=list(filters.priority))
    # Channel and tag as subqueries: a shop has a few channels holding many tickets each, and
    # a join or a plain "channel_id =" lets SQLite pick the channel index and sort every
    # ticket of the channel (80 ms at 100,000); this way it walks the activity order instead.
    if isinstance(filters.channel, int):
        qs = qs.filter(channel_id__in=Channel.objects.filter(pk=filters.channel).values("pk"))
    elif filters.channel:
        qs = qs.filter(channel_id__in=Channel.objects.filter(kind=filters.channel).values("pk"))
    qs = _people(user, qs, filters)
    if filters.tag:
        tagged = Ticket.tags.through.objects.filter(
            ticket_id=OuterRef("pk"), tag__name=filters.tag.strip().lower()
        )
        qs = qs.filter(Exists(tagged))
    if filters.updated_since is not None:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    if filters.q.strip():
        qs = _text_search(qs, filters.q.strip())
    return qs


def _candidates(qs: QuerySet[Ticket], filters: TicketFilters, limit: int) -> QuerySet[Ticket]:
    """Narrow ``qs`` to at most ``limit`` rows per index-friendly part, in one query.

    An index on (status, sort key) hands out one status's rows already sorted, so "the newest
    26" stops after 26 rows. A list of statuses, or waiting order with its nulls last, would
    make the database collect and sort every match instead (30-80 ms at 100,000 tickets on
    SQLite), and so would an assignee or team filter (SQLite picks their index, which is
    sorted by status first). So each status, and for waiting order the waiting and the
    answered tickets, get their own sorted, limited subquery; the caller sorts the few
    candidates again.
    """
    statuses: list[str | None] = list(dict.fromkeys(filters.status)) or [None]
    if filters.q.strip() and filters.order == "activity":
        # A text search already narrows to its hits; splitting would search once per status.
        return qs.filter(status__in=statuses) if statuses != [None] else qs
    if statuses == [None] and (filters.assignee is not None or filters.team is not None):
        # The (assignee | team, status, last_activity_at) indexes serve each status in order.
        statuses = list(Status.values)
    if filters.order == "activity" and len(statuses) == 1:
        return qs if statuses[0] is None else qs.filter(status=statuses[0])
    pieces: list[QuerySet[Ticket]] = []
    for status in statuses:
        part = qs if status is None else qs.filter(status=status)
        if filters.order == "activity":
            pieces.append(part.order_by("-last_activity_at", "-pk"))
        else:
            pieces.append(part.filter(waiting_since__isnull=False).order_by("waiting_since", "pk"))
            pieces.append(part.filter(waiting_since__isnull=True).order_by("pk"))
    # One "id IN (a UNION ALL b ...)": PostgreSQL turns it into a semi-join on the primary key,
    # where "id IN (a) OR id IN (b)" made it scan the table. Django cannot UNION sliced,
    # ordered querysets on SQLite, so the compound is put together from their compiled SQL.
    selects: list[str] = []
    params: list[Any] = []
    for n, piece in enumerate(pieces):
        sql, piece_params = piece.values("pk")[:limit].query.sql_with_params()
        selects.append(f"SELECT * FROM ({sql}) AS part{n}")  # noqa: S608 (compiled by the ORM)
        params.extend(piece_params)
    compound = RawSQL(" UNION ALL ".join(selects), params)  # noqa: S611 (ORM-compiled parts)
    return Ticket.objects.filter(pk__in=compound)


# --- selectors --------------------------------------------------------------------------------
def ticket_list(
    user: User,
    filters: TicketFilters | None = None,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> TicketPage:
    """One page of the tickets ``user`` may see. Three queries (two for an admin).

    Raises InvalidCursor for a cursor not made by this function with the same order.
    """
    filters = filters or TicketFilters()
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    qs = Ticket.objects.filter(ticket_scope(user))
    qs = _filtered(user, qs, filters)
    if cursor:
        qs = _after(qs, filters.order, cursor)
    qs = _candidates(qs, filters, per_page + 1)
    rows = list(with_row_relations(_ordered(qs, filters.order))[: per_page + 1])
    if len(rows) > per_page:
        rows = rows[:per_page]
        return TicketPage(rows, _cursor_for(rows[-1], filters.order))
    return TicketPage(rows, None)


def ticket_detail(user: User, number: int) -> Ticket | None:
    """The ticket with everything its page shows, or None when the user may not see it.

    Seven queries (six for an admin) however many messages and attachments it has:
    ``ticket.contact.identities.all()``, ``ticket.tags.all()``, ``ticket.messages.all()`` (in
    time order, with author, identity and ``attachments.all()``) and ``ticket.visible_related``
    (linked tickets the user may see) come from the prefetch cache.
    """
    scope = ticket_scope(user)
    messages = (
        Message.objects.select_related("author", "identity")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("created_at", "pk")
    )
    return (
        with_row_relations(Ticket.objects.filter(scope, number=number))
        .prefetch_related(
            Prefetch("contact__identities", queryset=Identity.objects.order_by("kind", "pk")),
            Prefetch("messages", queryset=messages),
            Prefetch(
                "related",
                queryset=Ticket.objects.filter(scope).order_by("number"),
                to_attr="visible_related",
            ),
        )
        .first()
    )


def visible_ticket(user: User, number: int) -> Ticket | None:
    """Just the ticket row (for writes that then call a service), if the user may see it."""
    return Ticket.objects.filter(ticket_scope(user), number=number).first()


def ticket_row(number: int) -> Ticket:
    """One ticket with its row relations, without a permission check: for re-reading a ticket
    the caller has just been allowed to change (a change may take it out of the caller's view).
    """
    return with_row_relations(Ticket.objects.filter(number=number)).get()


# --- inbox counts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class InboxCounts:
    """How many tickets each inbox view holds for one user (what the left navigation shows).

    ``mine``, ``unassigned``, ``open`` and the per-team and per-channel counts are of active
    tickets (new, open, pending); ``pending`` and ``solved`` of that status.
    """

    mine: int
    unassigned: int
    open: int
    pending: int
    solved: int
    # (team, active tickets) for the teams the user works in (every team for an admin).
    teams: list[tuple[Team, int]]
    # (channel, active tickets) for every channel.
    channels: list[tuple[Channel, int]]


def inbox_counts(user: User) -> InboxCounts:
    """The counts of every inbox view in five queries (four for an admin), whatever the number
    of tickets: one grouped count over the active tickets the user may see, one count of the
    solved ones (apart, so an admin's is answered from the status index alone), the teams and
    the channels."""
    # "number > 0" is true of every ticket; it lets the planner use the ticket_inbox_counts
    # index (see Ticket.Meta), which holds every column these counts read.
    scope = ticket_scope(user) & Q(number__gt=0)
    who = Case(
        When(assignee_id=user.pk, then=Value(1)),
        When(assignee__isnull=True, then=Value(0)),
        default=Value(2),
        output_field=IntegerField(),
    )
    groups = (
        Ticket.objects.filter(scope, status__in=[Status.NEW, Status.OPEN, Status.PENDING])
        .annotate(who=who)
        .values("status", "team_id", "channel_id", "who")
        .annotate(n=Count("pk"))
        .order_by()
    )
    mine = unassigned = open_ = pending = 0
    per_team: dict[int | None, int] = {}
    per_channel: dict[int, int] = {}
    for group in groups:
        n = group["n"]
        open_ += n
        pending += n if group["status"] == Status.PENDING else 0
        mine += n if group["who"] == 1 else 0
        unassigned += n if group["who"] == 0 else 0
        per_team[group["team_id"]] = per_team.get(group["team_id"], 0) + n
        per_channel[group["channel_id"]] = per_channel.get(group["channel_id"], 0) + n
    solved = Ticket.objects.filter(scope, status=Status.SOLVED).count()
    teams = list(Team.objects.all() if user.role == Role.ADMIN else user.teams.all())
    channels = list(Channel.objects.order_by("name", "pk"))
    return InboxCounts(
        mine=mine,
        unassigned=unassigned,
        open=open_,
        pending=pending,
        solved=solved,
        teams=[(team, per_team.get(team.pk, 0)) for team in teams],
        channels=[(channel, per_channel.get(channel.pk, 0)) for channel in channels],
    )
