"""Background work of the WhatsApp channel (django.tasks; any backend)."""

from __future__ import annotations

import logging

from django.tasks import task

from loket.channels.models import Channel
from loket.channels.whatsapp import errors, transport
from loket.channels.whatsapp.graph import GraphError

log = logging.getLogger(__name__)


@task()
def mark_read(channel_id: int, wamid: str) -> bool:
    """Show the customer their messages were read (enqueued when an agent opens the ticket,
    if the channel's ``config["mark_read"]`` is on). Best effort: a failure is logged, never
    retried (a read receipt that comes late is worse than none), and a broken token flags
    the channel like any other call."""
    channel = Channel.objects.filter(pk=channel_id, kind="whatsapp", enabled=True).first()
    if channel is None or not wamid:
        return False
    try:
        transport.mark_read(channel, wamid)
    except GraphError as err:
        log.warning("mark as read on channel %s failed: %s %s", channel_id, err.code, err.details)
        if errors.classify(err.code).channel_level:
            errors.flag_channel(channel, err)
        return False
    errors.recovered(channel)
    return True
