"""Writes of notifications: @mentions in internal notes, marking them read."""

from __future__ import annotations

import re
from functools import reduce
from operator import or_
from typing import Any

from django.db import transaction
from django.db.models import Q

from loket.accounts.models import User
from loket.accounts.permissions import can_view
from loket.audit import services as audit
from loket.core import clock
from loket.notifications.models import Kind, Notification
from loket.tickets.models import Direction, Message

# "@budi" mentions the agent whose email starts with "budi@". The composer's suggestions
# insert exactly this handle, so a name with spaces never needs quoting.
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9][\w.+-]*)")


def handle(user: User) -> str:
    """What to type after "@" to mention ``user``: the local part of their email."""
    return user.email.split("@", 1)[0].lower()


def mentioned_handles(text: str) -> list[str]:
    found = (m.group(1).rstrip(".").lower() for m in MENTION.finditer(text))
    return list(dict.fromkeys(h for h in found if h))


def mentioned_agents(text: str) -> list[User]:
    """Active agents whose handle appears in ``text``, in order of first mention."""
    handles = mentioned_handles(text)
    if not handles:
        return []
    condition = reduce(or_, (Q(email__istartswith=f"{h}@") for h in handles))
    by_handle = {handle(u): u for u in User.objects.filter(condition, is_active=True)}
    return [by_handle[h] for h in handles if h in by_handle]


def notify_mentions(message: Message) -> list[Notification]:
    """Notify every agent mentioned in an internal note who may see its ticket.

    The author is not notified of their own mention, nor anyone twice for one note. Each
    notification appends a ``notification.created`` event (the live feed surfaces it).
    """
    if message.direction != Direction.NOTE:
        return []
    ticket = message.ticket
    created: list[Notification] = []
    with transaction.atomic():
        for agent in mentioned_agents(message.text):
            if agent.pk == message.author_id or not can_view(agent, ticket):
                continue
            notification = notify(
                agent,
                message,
                Kind.MENTION,
                actor=audit.actor_for(message.author),
                data={"number": ticket.number},
            )
            if notification is not None:
                created.append(notification)
    return created


def notify(
    user: User,
    message: Message,
    kind: Kind,
    *,
    actor: audit.Actor = audit.SYSTEM,
    data: dict[str, Any] | None = None,
) -> Notification | None:
    """Tell ``user`` about ``message`` once (None when they were already told), with its
    event. Runs in the caller's transaction."""
    notification, is_new = Notification.objects.get_or_create(
        user=user,
        message=message,
        kind=kind,
        defaults={"ticket_id": message.ticket_id, "created_at": clock.now()},
    )
    if not is_new:
        return None
    audit.append(
        "notification.created",
        actor=actor,
        subject_type="notification",
        subject_id=notification.pk,
        ticket_id=message.ticket_id,
        data={"user": user.pk, "kind": kind.value, "message": message.pk, **(data or {})},
    )
    return notification


def mark_read(user: User, notification_ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (all, or just the given ones)."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=clock.now())


def mark_ticket_read(user: User, ticket_id: int) -> int:
    """Opening a ticket reads the notifications that point at it.

    Looks before it writes: most page views have nothing to mark, and a read does not take
    SQLite's write lock from the workers.
    """
    unread = Notification.objects.filter(user=user, ticket_id=ticket_id, read_at__isnull=True)
    if not unread.exists():
        return 0
    return unread.update(read_at=clock.now())
