"""Reads of notifications (fixed query counts)."""

from __future__ import annotations

from django.db.models import Q

from loket.accounts.models import Role, User
from loket.notifications.models import Notification
from loket.tickets.models import Ticket

RECENT = 50
SUGGESTIONS = 8


def unread_count(user: User) -> int:
    """One query."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def recent(user: User, limit: int = RECENT) -> list[Notification]:
    """The newest notifications with their ticket and note author. One query."""
    return list(
        Notification.objects.filter(user=user)
        .select_related(
            "ticket", "ticket__contact", "message", "message__author", "message__channel"
        )
        .order_by("-created_at", "-pk")[:limit]
    )


def mention_candidates(ticket: Ticket, q: str, limit: int = SUGGESTIONS) -> list[User]:
    """Active agents matching ``q`` (name or email) who may see ``ticket``. One query.

    Admins see every ticket; others see a team-less ticket, their team's tickets and the ones
    assigned to them (the same rule as ``accounts.permissions.ticket_scope``).
    """
    qs = User.objects.filter(is_active=True)
    q = q.strip().lstrip("@")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(email__istartswith=q))
    if ticket.team_id is not None:
        qs = qs.filter(
            Q(role=Role.ADMIN) | Q(teams=ticket.team_id) | Q(pk=ticket.assignee_id or 0)
        ).distinct()
    return list(qs.order_by("name", "pk")[:limit])
