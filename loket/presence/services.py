"""Presence heartbeats. No event-log entry: presence is ephemeral, not part of the record."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction

from loket.accounts.models import User
from loket.core import clock
from loket.presence.models import Presence, State
from loket.tickets.models import Ticket


def beat(user: User, ticket: Ticket, state: str = State.VIEWING) -> None:
    """Record that ``user`` is viewing (or typing on) ``ticket`` now.

    One conditional UPDATE in the common case (the agent's row exists); an INSERT the first
    time. Two beats racing to insert: the loser updates the winner's row. Callers check that
    the user may see the ticket.
    """
    if state not in State.values:
        raise ValueError(f"unknown presence state {state!r}")
    now = clock.now()
    updated = Presence.objects.filter(user=user, ticket=ticket).update(state=state, updated_at=now)
    if updated:
        return
    try:
        with transaction.atomic():
            Presence.objects.create(user=user, ticket=ticket, state=state, updated_at=now)
    except IntegrityError:
        Presence.objects.filter(user=user, ticket=ticket).update(state=state, updated_at=now)


def leave(user: User, ticket: Ticket) -> None:
    """The agent closed the ticket page: drop their presence at once."""
    Presence.objects.filter(user=user, ticket=ticket).delete()


def forget_stale(older_than_seconds: int = 3600) -> int:
    """Delete heartbeats nobody will look at again (housekeeping). Returns how many."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    deleted, _ = Presence.objects.filter(updated_at__lt=cutoff).delete()
    return deleted
