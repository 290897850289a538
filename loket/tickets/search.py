"""Full-text search over ticket subjects and message text.

(Filled in by the search work: SQLite FTS5 / PostgreSQL full-text behind one interface.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loket.tickets.models import Message, Ticket


def index_message(message: Message) -> None:
    """Make a message's text findable. Runs in the caller's transaction."""


def index_ticket(ticket: Ticket) -> None:
    """Make a ticket's subject findable. Runs in the caller's transaction."""
