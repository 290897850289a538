"""Is a WhatsApp channel still able to work? The token check and what the channels page shows.

Meta's dashboard tokens expire after a day or so (error 190) and nothing tells us until a
reply fails; zammad#5352 kept such a channel "green". So the token is checked on demand
("Check now") and periodically by the scheduler: ``GET /{phone_number_id}?fields=...``,
which also brings the number's verified name and quality rating.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.tasks import task

from loket.channels.models import Channel, ChannelKind
from loket.channels.whatsapp import errors, graph
from loket.core import clock, crypto

log = logging.getLogger(__name__)

FIELDS = "display_phone_number,verified_name,quality_rating"
# How often the scheduler has each enabled channel's token checked (seconds).
CHECK_EVERY = 6 * 3600.0
# Pauses (seconds) before asking again when Meta could not be reached at all.
RETRY_PAUSES: tuple[float, ...] = (0.5, 1.0, 2.0)


def check(channel: Channel) -> Channel:
    """Ask Meta about the number with the stored token; record the outcome on the channel.

    Only an answer about the token itself (190, permissions) marks it invalid and flags the
    channel (``errors.flag_channel``, shared with failed sends); Meta being unreachable
    says nothing about the token, so ``token_ok`` is left as it was.
    """
    number = str((channel.config or {}).get("phone_number_id") or "")
    fields: dict[str, object] = {}
    try:
        answer = _ask(channel, number)
    except crypto.DecryptionError as exc:
        fields.update(token_ok=False, token_error=str(exc)[:500])
    except graph.GraphError as err:
        mapped = errors.classify(err.code)
        fields["token_error"] = errors.describe(err)[:500]
        if mapped.channel_level:
            fields["token_ok"] = False
            errors.flag_channel(channel, err)
        log.warning("whatsapp channel %s: token check failed: %s", channel.pk, err)
    else:
        fields.update(
            token_ok=True,
            token_error="",
            quality_rating=str(answer.get("quality_rating") or "")[:16],
            verified_name=str(answer.get("verified_name") or "")[:255],
        )
        errors.recovered(channel)
    fields["token_checked_at"] = clock.now()
    Channel.objects.filter(pk=channel.pk).update(**fields)
    channel.refresh_from_db()
    return channel


def _ask(channel: Channel, number: str) -> dict[str, Any]:
    """The number's details; a network failure is tried again after a short pause (the
    emulator or a proxy may be starting next to us), an answer from Meta is final."""
    for pause in (*RETRY_PAUSES, None):
        try:
            return graph.client(channel).get(number, params={"fields": FIELDS})
        except graph.GraphError as err:
            if err.code != graph.NETWORK or pause is None:
                raise
            time.sleep(pause)
    raise AssertionError("unreachable")


@task()
def check_channel(channel_id: int) -> bool | None:
    channel = Channel.objects.filter(pk=channel_id, kind=ChannelKind.WHATSAPP).first()
    if channel is None:
        return None
    return check(channel).token_ok


def check_due() -> int:
    """Scheduler job (every ``CHECK_EVERY``): enqueue a check of each enabled channel's token,
    skipping those checked within the last hour (by an admin's "Check now")."""
    recently = clock.now() - timedelta(hours=1)
    due = Channel.objects.filter(kind=ChannelKind.WHATSAPP, enabled=True).filter(
        Q(token_checked_at__isnull=True) | Q(token_checked_at__lt=recently)
    )
    count = 0
    for channel_id, config in due.values_list("pk", "config"):
        if (config or {}).get("phone_number_id"):
            check_channel.enqueue(channel_id)
            count += 1
    return count
