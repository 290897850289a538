"""Reads of saved replies and macros for the composer and the management pages.

Each function runs one query whatever the number of replies or macros.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from loket.accounts.models import User
from loket.accounts.permissions import ticket_scope
from loket.replies.models import Macro, SavedReply
from loket.tickets.models import Ticket

SEARCH_LIMIT = 10


def _visible(user: User) -> Q:
    if not user.is_active:
        return Q(pk__in=[])
    return Q(owner__isnull=True) | Q(owner_id=user.pk)


def visible_replies(user: User) -> QuerySet[SavedReply]:
    return SavedReply.objects.filter(_visible(user))


def visible_macros(user: User) -> QuerySet[Macro]:
    return Macro.objects.filter(_visible(user))


def search_replies(user: User, q: str, *, limit: int = SEARCH_LIMIT) -> list[SavedReply]:
    """Replies ``user`` may use matching ``q`` (one query).

    A shortcut that is ``q`` exactly comes first, then shortcuts starting with it, then titles
    containing it, then texts containing it; personal before shared at each level. An empty
    ``q`` lists the first replies by title.
    """
    q = " ".join(q.split())[:100].lstrip("/")
    qs = visible_replies(user)
    if q:
        qs = qs.filter(
            Q(shortcut__istartswith=q) | Q(title__icontains=q) | Q(body__icontains=q)
        ).annotate(
            rank=Case(
                When(shortcut__iexact=q, then=Value(0)),
                When(shortcut__istartswith=q, then=Value(1)),
                When(title__icontains=q, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            )
        )
    else:
        qs = qs.annotate(rank=Value(0, output_field=IntegerField()))
    personal_first = Case(
        When(owner__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    return list(qs.order_by("rank", personal_first, "title", "pk")[:limit])


def visible_reply(user: User, pk: int) -> SavedReply | None:
    return visible_replies(user).filter(pk=pk).first()


def visible_macro(user: User, pk: int) -> Macro | None:
    return visible_macros(user).select_related("assignee").filter(pk=pk).first()


@dataclass(frozen=True)
class Library:
    """Everything an agent sees on the saved replies page."""

    personal_replies: list[SavedReply]
    shared_replies: list[SavedReply]
    personal_macros: list[Macro]
    shared_macros: list[Macro]


def library(user: User) -> Library:
    """The replies and macros ``user`` may use, personal and shared (two queries)."""
    replies = list(visible_replies(user).order_by("title", "pk"))
    macros = list(visible_macros(user).select_related("assignee").order_by("name", "pk"))
    return Library(
        personal_replies=[r for r in replies if r.owner_id is not None],
        shared_replies=[r for r in replies if r.owner_id is None],
        personal_macros=[m for m in macros if m.owner_id is not None],
        shared_macros=[m for m in macros if m.owner_id is None],
    )


def macros_for(user: User) -> list[Macro]:
    """The macros ``user`` may apply, personal first, then by name (one query)."""
    personal_first = Case(
        When(owner__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    return list(
        visible_macros(user).select_related("assignee").order_by(personal_first, "name", "pk")
    )


def ticket_for_rendering(user: User, number: int) -> Ticket | None:
    """The ticket with its contact (what the placeholders read), if ``user`` may see it."""
    return (
        Ticket.objects.filter(ticket_scope(user), number=number).select_related("contact").first()
    )
