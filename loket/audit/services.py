"""Append events, seal them into the hash chain, verify the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from loket.audit.models import Event
from loket.core import clock
from loket.core.rowinsert import insert, insert_many

GENESIS = "0" * 64
# PostgreSQL advisory lock key for the chain head ("LOKETAUD").
_SEAL_LOCK = 0x4C4F4B4554415544 & 0x7FFFFFFFFFFFFFFF
_SEAL_BATCH = 500


@dataclass(frozen=True)
class Actor:
    """Who did it: an agent (``id`` set), a customer or the system (``label`` only)."""

    id: int | None
    label: str


SYSTEM = Actor(None, "system")


def actor_for(user: Any) -> Actor:
    if user is None:
        return SYSTEM
    return Actor(user.pk, str(user.email))


_batch: ContextVar[list[Event] | None] = ContextVar("audit_batch", default=None)


def append(
    kind: str,
    *,
    actor: Actor = SYSTEM,
    subject_type: str = "",
    subject_id: int | None = None,
    ticket_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Record an event in the caller's transaction; it is sealed into the chain at commit.

    Inside ``batch()`` the event is written when the batch ends, with the others.
    """
    event = Event(
        created_at=clock.now(),
        kind=kind,
        actor_id=actor.id,
        actor_label=actor.label[:200],
        subject_type=subject_type,
        subject_id=subject_id,
        ticket_id=ticket_id,
        data=data or {},
    )
    pending = _batch.get()
    if pending is not None:
        pending.append(event)
    else:
        _write([event])
    return event


@contextmanager
def batch() -> Iterator[None]:
    """Write the events appended in this block together when it ends (a hot path's two or
    three events cost one statement). Use inside the transaction that makes the changes;
    if the block raises, its events are dropped with the rest of the transaction's work."""
    if _batch.get() is not None:  # already batching: the outer block writes
        yield
        return
    pending: list[Event] = []
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    _write(pending)


def _write(events: list[Event]) -> None:
    if not events:
        return
    if connection.vendor == "sqlite":
        # SQLite runs one writer at a time (IMMEDIATE): the head cannot move under us, so
        # events are chained as they are written, in the very transaction that records the
        # change. Outside a transaction, take the write lock for the read-then-insert.
        with transaction.atomic(savepoint=False):
            seq, prev = _head()
            for event in events:
                seq += 1
                event.seq = seq
                event.prev_hash = prev
                event.hash = prev = digest(event, seq, prev)
            _insert(events)
    else:
        _insert(events)
        transaction.on_commit(seal)


def _insert(events: list[Event]) -> None:
    if len(events) == 1:
        insert(events[0])
    else:
        # One statement for a batch; the events' ids are not needed (``seq`` is their place).
        insert_many(list(events))


def _head() -> tuple[int, str]:
    """The newest sealed event's (seq, hash), or (0, GENESIS) for an empty chain."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, hash FROM {Event._meta.db_table} "  # noqa: S608 (table name only)
            "WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
        )
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def digest(event: Event, seq: int, prev_hash: str) -> str:
    # The row id is left out: an event's place is its seq, and on SQLite the hash is computed
    # before the row (and its id) exists.
    payload = {
        "seq": seq,
        "created_at": event.created_at.isoformat(),
        "kind": event.kind,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "ticket_id": event.ticket_id,
        "data": event.data,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def seal() -> int:
    """Chain every committed, unsealed event in id order. Returns how many were sealed."""
    sealed = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEAL_LOCK])
        seq, prev = _head()
        while True:
            batch = list(Event.objects.filter(seq__isnull=True).order_by("id")[:_SEAL_BATCH])
            for event in batch:
                seq += 1
                event.seq = seq
                event.prev_hash = prev
                event.hash = prev = digest(event, seq, prev)
            if len(batch) == 1:
                # The common case (SQLite seals each event as it is written): a plain UPDATE
                # costs a fraction of bulk_update's CASE expressions.
                Event.objects.filter(pk=batch[0].pk).update(
                    seq=batch[0].seq, prev_hash=batch[0].prev_hash, hash=batch[0].hash
                )
            elif batch:
                Event.objects.bulk_update(batch, ["seq", "prev_hash", "hash"])
            sealed += len(batch)
            if len(batch) < _SEAL_BATCH:
                break
    return sealed


@dataclass(frozen=True)
class Problem:
    seq: int | None
    event_id: int
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq} (event id {self.event_id}): {self.what}"


@dataclass
class Report:
    checked: int
    problems: list[Problem]
    unsealed: int

    @property
    def ok(self) -> bool:
        return not self.problems


def _chain(chunk: int = 2000) -> Iterator[Event]:
    last = 0
    while True:
        batch = list(Event.objects.filter(seq__gt=last).order_by("seq")[:chunk])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq or last


def verify(*, unsealed_grace: timedelta = timedelta(minutes=5)) -> Report:
    """Walk the chain from the first event; report every break and where it is.

    An edited event no longer matches its hash; a deleted one leaves a gap in ``seq`` and a
    successor whose ``prev_hash`` points at nothing; an inserted or reordered one breaks the
    link to its neighbours.
    """
    problems: list[Problem] = []
    expected_seq = 1
    prev = GENESIS
    checked = 0
    for event in _chain():
        checked += 1
        seq = event.seq or 0
        if seq != expected_seq:
            problems.append(
                Problem(
                    seq,
                    event.pk,
                    f"sequence jumps from {expected_seq - 1} to {seq}: "
                    f"{seq - expected_seq} event(s) missing",
                )
            )
        if event.prev_hash != prev:
            problems.append(
                Problem(
                    seq,
                    event.pk,
                    "does not link to the event before it "
                    "(inserted, reordered or predecessor deleted)",
                )
            )
        if digest(event, seq, event.prev_hash) != event.hash:
            problems.append(Problem(seq, event.pk, "content does not match its hash (edited)"))
        prev = event.hash
        expected_seq = seq + 1
    stale = clock.now() - unsealed_grace
    unsealed = Event.objects.filter(seq__isnull=True).count()
    for event in Event.objects.filter(seq__isnull=True, created_at__lt=stale).order_by("id")[:100]:
        problems.append(Problem(None, event.pk, "never sealed into the chain"))
    last_seq = Event.objects.aggregate(m=Max("seq"))["m"] or 0
    if last_seq and checked and expected_seq - 1 != last_seq:
        problems.append(Problem(last_seq, 0, "chain walk stopped early"))
    return Report(checked=checked, problems=problems, unsealed=unsealed)


def events_after(seq: int, limit: int = 200) -> list[Event]:
    """The change feed: sealed events after cursor ``seq``, oldest first."""
    return list(Event.objects.filter(seq__gt=seq).order_by("seq")[:limit])
