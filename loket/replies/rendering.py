"""Fill the placeholders of a saved reply or macro for one ticket.

Agents write these texts, so they are never handed to the Django template engine: that would
let ``{{ settings.SECRET_KEY }}``, ``{% load %}`` or a filter run against our objects. Instead a
strict regular expression finds ``{{ name }}`` and replaces only names on a fixed allowlist with
plain strings computed here. Everything else, unknown names included, stays in the text exactly
as written, and the unknown ones are reported so the agent sees what was not filled in.
Substitution is a single pass: a customer called ``{{ agent.name }}`` stays literally so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from loket.accounts.models import User
from loket.core import site
from loket.tickets.models import Ticket

# Anything between double braces on one line (bounded, so hostile input cannot make it slow).
PLACEHOLDER = re.compile(r"\{\{([^{}\n]{0,100})\}\}")

PLACEHOLDERS: tuple[str, ...] = (
    "contact.name",
    "contact.first_name",
    "ticket.number",
    "ticket.subject",
    "agent.name",
    "agent.first_name",
    "business.name",
)

DEFAULT_BUSINESS_NAME = "Loket"


@dataclass(frozen=True)
class Rendered:
    text: str
    # The placeholders left as written because they are not on the allowlist, in order.
    unknown: tuple[str, ...]


def _first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else ""


def business_name() -> str:
    """The business's name from the site settings, else "Loket"."""
    return site.business_name().strip() or DEFAULT_BUSINESS_NAME


def values_for(ticket: Ticket | None, agent: User | None) -> dict[str, str]:
    """The placeholder values for ``ticket`` answered by ``agent``.

    Without a ticket, the ticket and customer placeholders are not filled in (they stay
    visible). Reads ``ticket.contact``: select it with the ticket to save a query.
    """
    values: dict[str, str] = {"business.name": business_name()}
    if ticket is not None:
        contact_name = ticket.contact.name.strip()
        # A customer without a name is greeted the way Indonesian shops do ("Kak").
        fallback = pgettext("how to address a customer whose name is unknown", "there")
        values["contact.name"] = contact_name or fallback
        values["contact.first_name"] = _first_name(contact_name) or fallback
        values["ticket.number"] = str(ticket.number)
        values["ticket.subject"] = ticket.subject
    if agent is not None:
        agent_name = (agent.name or agent.email).strip()
        values["agent.name"] = agent_name
        values["agent.first_name"] = _first_name(agent_name)
    return values


def render(text: str, values: Mapping[str, str]) -> Rendered:
    """``text`` with every allowed placeholder replaced by its value from ``values``."""
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in PLACEHOLDERS and name in values:
            return values[name]
        if name not in PLACEHOLDERS:
            unknown.append(match.group(0))
        return match.group(0)

    return Rendered(PLACEHOLDER.sub(replace, text), tuple(unknown))


def unknown_placeholders(text: str) -> list[str]:
    """The placeholders in ``text`` that are not on the allowlist (for validating a form)."""
    return [
        m.group(0) for m in PLACEHOLDER.finditer(text) if m.group(1).strip() not in PLACEHOLDERS
    ]


def describe_unknown(unknown: tuple[str, ...] | list[str]) -> str:
    """A message naming the unknown placeholders and the ones that can be used."""
    return _("Unknown placeholder: %(unknown)s. Use one of: %(known)s.") % {
        "unknown": ", ".join(dict.fromkeys(unknown)),
        "known": ", ".join("{{ %s }}" % name for name in PLACEHOLDERS),  # noqa: UP031
    }
