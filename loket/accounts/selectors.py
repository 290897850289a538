"""Reads of agents and teams shared by the dashboard's administration pages and the API."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from loket.accounts.models import Team, User


def agents() -> QuerySet[User]:
    """Every agent, active first, by name, with their teams (two queries)."""
    return User.objects.prefetch_related(
        Prefetch("teams", queryset=Team.objects.order_by("name"))
    ).order_by("-is_active", "name", "email")


def assignable_agents() -> QuerySet[User]:
    """Agents a ticket or team can be given to: active ones."""
    return User.objects.filter(is_active=True).order_by("name", "email")


def teams() -> QuerySet[Team]:
    """Every team with its members (active first) and its number of active members."""
    return (
        Team.objects.annotate(active_members=Count("members", filter=Q(members__is_active=True)))
        .prefetch_related(
            Prefetch("members", queryset=User.objects.order_by("-is_active", "name")),
            "channels",
        )
        .order_by("name")
    )
