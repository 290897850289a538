"""Keeping to WhatsApp's throughput limits across every worker process (reference §1.12).

Two limits apply to each send: the number's rate (80 messages a second by default,
``config["rate_per_second"]``) and the pair limit per recipient (about one message every 6
seconds, with short bursts borrowed from later; ``config["pair_interval"]`` and
``config["pair_burst"]``). Both are a GCRA ("virtual scheduling") whose one number, the
theoretical arrival time in microseconds, lives in a ``core.Counter`` row and is advanced by
one conditional UPDATE, so concurrent workers share it without locks.

A send that conforms within ``MAX_WAIT`` seconds sleeps until its slot and goes; one that
would wait longer is handed back with ``DeliveryError(deferred=True, retry_after=...)``:
``tickets.services`` re-queues it for exactly then without counting an attempt, so the limit
never loses a message. After Meta's 131056 (pair limit hit anyway) the recipient is held
back 4^n seconds, n counting that recipient's recent 131056s.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from loket.channels.items import DeliveryError
from loket.channels.models import Channel
from loket.core import clock
from loket.core.models import Counter

log = logging.getLogger(__name__)

RATE_PER_SECOND = 80.0
PAIR_INTERVAL = 6.0
PAIR_BURST = 10
MAX_WAIT = 1.0  # seconds a worker may sleep for its slot instead of re-queueing
STRIKE_BASE = 4.0
MAX_STRIKES = 5  # 4^5 s = 17 minutes at most
PRUNE_CHANCE = 0.002
SECOND = 1_000_000

# Replaced by tests that run on a controlled clock.
sleep: Callable[[float], None] = time.sleep


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * SECOND)


def _key(recipient: str) -> str:
    # Counter names are short; a BSUID can be long.
    return hashlib.sha256(recipient.encode()).hexdigest()[:24]


def number_name(channel: Channel) -> str:
    return f"wa.rate.{channel.pk}"


def pair_name(channel: Channel, recipient: str) -> str:
    return f"wa.pair.{channel.pk}.{_key(recipient)}"


def strike_name(channel: Channel, recipient: str) -> str:
    return f"wa.strike.{channel.pk}.{_key(recipient)}"


def _table() -> str:
    return Counter._meta.db_table


def _take(name: str, interval: int, tolerance: int, *, cost: int, now: int, max_wait: int) -> int:
    """Reserve ``cost`` cells of the GCRA ``name``; return the wait in µs before sending.

    Raises ``_Over(wait)`` when the wait would exceed ``max_wait``: nothing is reserved then.
    A cost above the burst is allowed on an idle line (else it could never pass).
    """
    checked = min(cost, tolerance // interval + 1)
    limit = now + tolerance + max_wait - (checked - 1) * interval
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table()} SET value = "  # noqa: S608 - the table name is ours
                "(CASE WHEN value > %s THEN value ELSE %s END) + %s "
                "WHERE name = %s AND value <= %s RETURNING value",
                [now, now, cost * interval, name, limit],
            )
            row = cursor.fetchone()
        if row is not None:
            return max(
                0, int(row[0]) - cost * interval + (checked - 1) * interval - tolerance - now
            )
        current = Counter.objects.filter(name=name).values_list("value", flat=True).first()
        if current is not None:
            raise _Over(current + (checked - 1) * interval - tolerance - now)
        try:
            with transaction.atomic():
                Counter.objects.create(name=name, value=now + cost * interval)
        except IntegrityError:
            continue  # another worker created it first: take from it instead
        return 0
    raise RuntimeError(f"could not take from rate limit {name!r}")


class _Over(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = max(wait, 1)


def _config_float(channel: Channel, key: str, default: float) -> float:
    try:
        value = float(channel.config.get(key, default))
    except (TypeError, ValueError):
        return default
    return value if value > 0 else default


def _pair(channel: Channel) -> tuple[int, int]:
    """The pair limit's emission interval and burst tolerance, in µs."""
    interval = int(_config_float(channel, "pair_interval", PAIR_INTERVAL) * SECOND)
    burst = int(_config_float(channel, "pair_burst", PAIR_BURST))
    return interval, max(0, burst - 1) * interval


def acquire(channel: Channel, recipient: str, *, cost: int = 1) -> None:
    """Wait for room to send ``cost`` messages to ``recipient``, or defer the message.

    Raises ``DeliveryError(deferred=True, retry_after=seconds)`` when the wait is longer
    than ``MAX_WAIT`` (the message goes back to the queue for exactly then).
    """
    if cost <= 0:
        return
    if random.random() < PRUNE_CHANCE:  # noqa: S311 - not security
        prune()
    rate = _config_float(channel, "rate_per_second", RATE_PER_SECOND)
    pair_interval, pair_tolerance = _pair(channel)
    max_wait = int(MAX_WAIT * SECOND)
    waited = 0
    try:
        for name, interval, tolerance in (
            (number_name(channel), max(1, int(SECOND / rate)), 0),
            (pair_name(channel, recipient), pair_interval, pair_tolerance),
        ):
            now = _us(clock.now())
            wait = _take(name, interval, tolerance, cost=cost, now=now, max_wait=max_wait - waited)
            if wait:
                sleep(wait / SECOND)
                waited += wait
    except _Over as over:
        seconds = over.wait / SECOND
        log.info("whatsapp channel %s: send deferred %.3fs by the rate limit", channel.pk, seconds)
        raise DeliveryError(
            "throttled",
            _("Waiting for WhatsApp's rate limit; it is sent shortly."),
            deferred=True,
            retry_after=seconds,
        ) from None


def strike(channel: Channel, recipient: str) -> float:
    """Meta said 131056 for ``recipient``: hold it back 4^n seconds; return that delay.

    ``n`` counts this recipient's 131056s in the current and the previous hour (a Counter
    row holding ``hour * 100 + n``), so a recipient that keeps hitting the limit waits
    longer each time, and one that behaved for an hour starts again at 4 seconds.
    """
    now = clock.now()
    hour = int(now.timestamp()) // 3600
    name = strike_name(channel, recipient)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table()} SET value = "  # noqa: S608 - the table name is ours
                "(CASE WHEN value >= %s THEN %s + (value %% 100) + 1 ELSE %s END) "
                "WHERE name = %s RETURNING value",
                [(hour - 1) * 100, hour * 100, hour * 100 + 1, name],
            )
            row = cursor.fetchone()
        if row is None:
            Counter.objects.update_or_create(name=name, defaults={"value": hour * 100 + 1})
            strikes = 1
        else:
            strikes = int(row[0]) % 100
        delay = STRIKE_BASE ** min(strikes, MAX_STRIKES)
        until = _us(now) + int(delay * SECOND)
        pair = pair_name(channel, recipient)
        tolerance = _pair(channel)[1]
        # The next send conforms once now >= value - tolerance: push value to until + tolerance.
        blocked = Counter.objects.filter(name=pair, value__lt=until + tolerance).update(
            value=until + tolerance
        )
        if not blocked and not Counter.objects.filter(name=pair).exists():
            Counter.objects.create(name=pair, value=until + tolerance)
    log.warning(
        "whatsapp channel %s: 131056 for a recipient (strike %s), holding it %ss",
        channel.pk,
        strikes,
        int(delay),
    )
    return delay


def prune() -> int:
    """Forget recipients idle for an hour (their rows would only grow)."""
    now = clock.now()
    stale = _us(now) - 3600 * SECOND
    hour = int(now.timestamp()) // 3600
    pairs = Counter.objects.filter(name__startswith="wa.pair.", value__lt=stale).delete()[0]
    strikes = Counter.objects.filter(
        name__startswith="wa.strike.", value__lt=(hour - 1) * 100
    ).delete()[0]
    return pairs + strikes
