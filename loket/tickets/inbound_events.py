"""Inbound news that is not a message: reactions, a customer's changed number.

(Being written for issue 4; the WhatsApp inbound helper owns this module.)
"""

from __future__ import annotations

from loket.channels.items import IdentityChange, Reaction
from loket.channels.models import Channel


def apply_reaction(channel: Channel, reaction: Reaction) -> bool:
    """Show the customer's reaction on the message it reacts to (empty emoji: removed)."""
    raise NotImplementedError


def apply_identity_change(channel: Channel, change: IdentityChange) -> None:
    """The customer's number changed: their identity follows, and their ticket says so."""
    raise NotImplementedError
