"""Who may see and change which tickets. The dashboard and the API both ask here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from loket.accounts.models import Role, User

if TYPE_CHECKING:
    from loket.tickets.models import Ticket


def ticket_scope(user: User) -> Q:
    """Tickets the user may see: admins all; others their teams', their own, and team-less ones."""
    if not user.is_active:
        return Q(pk__in=[])
    if user.role == Role.ADMIN:
        return Q()
    team_ids = list(user.teams.values_list("pk", flat=True))
    return Q(team_id__in=team_ids) | Q(assignee_id=user.pk) | Q(team__isnull=True)


def visible_tickets(user: User, qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return qs.filter(ticket_scope(user))


def can_view(user: User, ticket: Ticket) -> bool:
    if not user.is_active:
        return False
    if user.role == Role.ADMIN or ticket.team_id is None or ticket.assignee_id == user.pk:
        return True
    return user.teams.filter(pk=ticket.team_id).exists()


def can_reassign(user: User, ticket: Ticket) -> bool:
    """Admins and supervisors reassign; an agent may take or drop a ticket for themselves."""
    return can_view(user, ticket) and user.role in {Role.ADMIN, Role.SUPERVISOR}


def can_administer(user: User) -> bool:
    return user.is_active and user.role == Role.ADMIN
