"""WhatsApp composer helpers the ticket page needs before any action: the approved templates,
their parameters with obvious values, and marking the customer's messages read."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

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
    found = (
        templates.approved(ticket.channel).filter(pk=pk).first()
        if ticket.channel.kind == "whatsapp"
        else None
    )
    if found is None:
        raise Http404
    return found


def _names(template: Template) -> list[str]:
    return [str(n) for n in template.parameters] if isinstance(template.parameters, list) else []


def labels(template: Template) -> list[str]:
    """One label per parameter: its name, "{{1}}" for a numbered one, marked when it is the
    header's."""
    out = []
    for name in _names(template):
        bare = name.removeprefix(templates.HEADER)
        label = "{{%s}}" % bare if bare.isdigit() else bare  # noqa: UP031 (braces)
        out.append(_("Header %(label)s") % {"label": label} if bare != name else label)
    return out


def guesses(template: Template, ticket: Ticket) -> list[str]:
    """Obvious values: the customer's name and the ticket's number where the template asks
    (by the parameter's name, or the words just before a numbered placeholder)."""
    out: list[str] = []
    for name in _names(template):
        key = name.removeprefix(templates.HEADER)
        text = _header_text(template) if key != name else template.body
        placeholder = "{{%s}}" % key  # noqa: UP031 (braces)
        before = text.split(placeholder, 1)[0] if placeholder in text else ""
        lowered = key.lower()
        if any(w in lowered for w in ("name", "nama")) or (
            key.isdigit() and NAME_HINT.search(before)
        ):
            out.append(ticket.contact.name)
        elif any(w in lowered for w in ("ticket", "tiket", "number", "nomor")) or (
            key.isdigit() and NUMBER_HINT.search(before)
        ):
            out.append(str(ticket.number) if before.endswith("#") else f"#{ticket.number}")
        else:
            out.append("")
    return out


def _header_text(template: Template) -> str:
    for component in template.components if isinstance(template.components, list) else []:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == "HEADER":
            return str(component.get("text") or "")
    return ""


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
