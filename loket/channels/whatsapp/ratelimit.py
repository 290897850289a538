"""Keeping to WhatsApp's throughput limits across every worker process (reference §1.12).

Two limits apply to each send: the number's rate (80 messages a second by default,
``config["rate_per_second"]``) and the pair limit per recipient (about one message every 6
seconds, with short bursts borrowed from later; ``config["pair_interval"]`` and
``config["pair_burst"]``). Both are a GCRA ("virtual scheduling") whose one number, the
theoretical arrival time in microseconds, lives in a ``core.Counter`` row and is advanced by
one UPDATE ... RETURNING, so concurrent workers share it without locks.

Each send reserves its slot. A slot within ``MAX_WAIT`` seconds is slept for; a later one is
handed back as ``Deferred`` (a ``DeliveryError(deferred=True, retry_after=...)``): the
transport keeps the slot on the message and ``tickets.services`` re-queues it for exactly
then without counting an attempt. So a burst is spread over time in order, each message
comes back once, and none is lost. After Meta's 131056 (pair limit hit anyway) the
recipient is held back 4^n seconds, n counting that recipient's recent 131056s.
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


def _reserve(name: str, interval: int, tolerance: int, *, cost: int, now: int) -> int:
    """Reserve ``cost`` cells of the GCRA ``name``; return when they may go (µs since epoch).

    Always reserves (one UPDATE ... RETURNING, no lock held), so every waiting message gets
    its own later slot and comes back once, instead of all of them retrying at the same
    instant. A cost above the burst goes out together once the line has room for a burst.
    """
    checked = min(cost, tolerance // interval + 1)
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table()} SET value = "  # noqa: S608 - the table name is ours
                "(CASE WHEN value > %s THEN value ELSE %s END) + %s "
                "WHERE name = %s RETURNING value",
                [now, now, cost * interval, name],
            )
            row = cursor.fetchone()
        if row is not None:
            first = int(row[0]) - cost * interval  # where this reservation starts
            return max(now, first + (checked - 1) * interval - tolerance)
        try:
            with transaction.atomic():
                Counter.objects.create(name=name, value=now + cost * interval)
        except IntegrityError:
            continue  # another worker created it first: reserve from it instead
        return now
    raise RuntimeError(f"could not reserve from rate limit {name!r}")


class Deferred(DeliveryError):
    """The message waits for its reserved slots (``slots``: limit → µs since epoch)."""

    def __init__(self, seconds: float, slots: dict[str, int]) -> None:
        super().__init__(
            "throttled",
            _("Waiting for WhatsApp's rate limit; it is sent shortly."),
            deferred=True,
            retry_after=seconds,
        )
        self.slots = slots


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


def _slot(held: dict[str, int], name: str, now: int, reserve: Callable[[], int]) -> int:
    """The slot this message holds for ``name`` (kept from an earlier try), or a new one.

    A slot missed by more than ``MAX_WAIT`` (the worker came back late) is stale: the
    time it stood for has passed unused, so a new one is reserved.
    """
    kept = held.get(name)
    if kept is not None and kept >= now - int(MAX_WAIT * SECOND):
        return kept
    held[name] = reserve()
    return held[name]


def acquire(
    channel: Channel, recipient: str, *, cost: int = 1, held: dict[str, int] | None = None
) -> None:
    """Wait for this message's turn to send ``cost`` messages to ``recipient``.

    The pair slot is reserved first; the number's slot only once the pair allows (else a
    slow recipient would hold up the whole number). A turn within ``MAX_WAIT`` is slept
    for; a later one raises ``Deferred`` with the wait and the slots held, which the caller
    keeps on the message and passes back as ``held`` when it comes back.
    """
    if cost <= 0:
        return
    if random.random() < PRUNE_CHANCE:  # noqa: S311 - not security
        prune()
    slots = dict(held or {})
    rate = _config_float(channel, "rate_per_second", RATE_PER_SECOND)
    pair_interval, pair_tolerance = _pair(channel)
    now = _us(clock.now())
    pair = _slot(
        slots,
        "pair",
        now,
        lambda: _reserve(
            pair_name(channel, recipient), pair_interval, pair_tolerance, cost=cost, now=now
        ),
    )
    if pair - now <= int(MAX_WAIT * SECOND):
        number = _slot(
            slots,
            "number",
            now,
            lambda: _reserve(
                number_name(channel), max(1, int(SECOND / rate)), 0, cost=cost, now=now
            ),
        )
        turn = max(pair, number)
    else:
        turn = pair
    wait = turn - now
    if wait > int(MAX_WAIT * SECOND):
        log.info("whatsapp channel %s: send deferred %.3fs", channel.pk, wait / SECOND)
        raise Deferred(wait / SECOND, slots)
    if wait > 0:
        sleep(wait / SECOND)


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
