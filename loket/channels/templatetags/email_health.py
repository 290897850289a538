"""``{% email_health channel as health %}``: an email channel's IMAP fetch health for the admin
pages (``loket.channels.email.imap.health``), with its times as datetimes."""

from __future__ import annotations

from django import template

from loket.channels.email import imap
from loket.channels.models import Channel

register = template.Library()


@register.simple_tag
def email_health(channel: Channel) -> imap.Health | None:
    """The fetch health; None when the channel has no IMAP server (mail comes another way)."""
    if not str(channel.config.get("imap_host") or "").strip():
        return None
    return imap.health(channel)
