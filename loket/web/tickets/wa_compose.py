"""WhatsApp composer helpers the ticket page needs before any action: the approved templates,
their parameters with obvious values, and marking the customer's messages read."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import Http404

from loket.channels.models import Template
from loket.channels.whatsapp import templates
from loket.core import clock
from loket.tickets.models import Direction, Message, Ticket

MAX_PARAM = 1024  # Meta's limit for one body parameter's text

# Words before a placeholder that say it is the customer's name or the ticket's number.
NAME_HINT = re.compile(r"(halo|hai|hi|hello|dear|kak|bapak|ibu|pak|bu|yth\.?)[\s,]*$", re.I)
NUMBER_HINT = re.compile(r"(#|tiket|ticket|nomor|number|no\.?)[\s:]*$", re.I)


def approved(ticket: Ticket) -> list[Template]:
    """The approved templates of the ticket's WhatsApp number (none for other channels)."""
    if ticket.channel.kind != "whatsapp":
        return []
    return list(templates.approved(ticket.channel))


def pick(ticket: Ticket, pk: int) -> Template:
    """One approved template of the ticket's number; 404 for any other."""
    found = next((t for t in approved(ticket) if t.pk == pk), None)
    if found is None:
        raise Http404
    return found


def labels(template: Template) -> list[str]:
    """One label per parameter: its name, or "{{1}}" for a numbered one."""
    names = template.parameters if isinstance(template.parameters, list) else []
    return [
        str(name) if not str(name).isdigit() else "{{%s}}" % name  # noqa: UP031 (braces)
        for name in names
    ]


def guesses(template: Template, ticket: Ticket) -> list[str]:
    """Obvious values: the customer's name and the ticket's number where the template asks."""
    name = ticket.contact.name
    out: list[str] = []
    for raw in template.parameters if isinstance(template.parameters, list) else []:
        key = str(raw)
        before = template.body.split("{{%s}}" % key, 1)[0]  # noqa: UP031 (braces)
        lowered = key.lower()
        if any(w in lowered for w in ("name", "nama")) or (
            key.isdigit() and NAME_HINT.search(before)
        ):
            out.append(str(name or ""))
        elif any(w in lowered for w in ("ticket", "tiket", "number", "nomor")) or (
            key.isdigit() and NUMBER_HINT.search(before)
        ):
            out.append(f"#{ticket.number}" if not before.endswith("#") else str(ticket.number))
        else:
            out.append("")
    return out


# --- mark as read -----------------------------------------------------------------------------
READ_KEY = "read_sent_at"


def mark_read(ticket: Ticket) -> bool:
    """Tell WhatsApp the agent has seen the customer's newest message (blue ticks), once.

    Only when the number's ``config["mark_read"]`` is on. Marking the newest message marks
    the earlier ones too, so only it is sent; ``meta["wa"]["read_sent_at"]`` remembers it,
    and a conditional update makes two agents opening the ticket at once send it once.
    """
    channel = ticket.channel
    if channel.kind != "whatsapp" or not (channel.config or {}).get("mark_read"):
        return False
    newest = next(
        (
            m
            for m in reversed(list(ticket.messages.all()))
            if m.direction == Direction.INBOUND and m.external_id and m.channel_id == channel.pk
        ),
        None,
    )
    if newest is None or not isinstance(newest.meta, dict):
        return False
    found = newest.meta.get("wa")
    wa: dict[str, Any] = found if isinstance(found, dict) else {}
    if wa.get(READ_KEY):
        return False
    meta = {**newest.meta, "wa": {**wa, READ_KEY: clock.now().isoformat()}}
    # Spelled out for PostgreSQL, where a missing "wa" makes the key test NULL, not false.
    unmarked = ~Q(meta__has_key="wa") | ~Q(meta__wa__has_key=READ_KEY)
    claimed = Message.objects.filter(unmarked, pk=newest.pk).update(meta=meta)
    if not claimed:
        return False
    newest.meta = meta
    channel_id, wamid = channel.pk, str(newest.external_id)

    def enqueue() -> None:
        from loket.channels.whatsapp import tasks

        tasks.mark_read.enqueue(channel_id, wamid)

    transaction.on_commit(enqueue)
    return True
