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


def can_assign(user: User, ticket: Ticket, assignee: User | None) -> bool:
    """Whether ``user`` may make ``assignee`` (None: nobody) the ticket's assignee.

    Admins and supervisors assign anyone. An agent may take an unassigned ticket for
    themselves and drop their own ticket, but not hand a ticket to someone else nor take it
    from someone else. Leaving the assignee as it is is always allowed to those who see it.
    """
    if not can_view(user, ticket):
        return False
    target = assignee.pk if assignee is not None else None
    if target == ticket.assignee_id or user.role in {Role.ADMIN, Role.SUPERVISOR}:
        return True
    if target is None:
        return ticket.assignee_id == user.pk
    return target == user.pk and ticket.assignee_id is None


def can_change_team(user: User, ticket: Ticket, team_id: int | None) -> bool:
    """Moving a ticket to another team is reassigning it: admins and supervisors only.
    Leaving the team as it is is always allowed to those who see the ticket."""
    if team_id == ticket.team_id:
        return can_view(user, ticket)
    return can_reassign(user, ticket)
