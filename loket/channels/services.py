"""Raw deliveries: store first, parse later, replay on demand."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from loket.accounts.models import Team, User
from loket.audit import services as audit
from loket.channels import secrets
from loket.channels.items import (
    IdentityChange,
    InboundMessage,
    Item,
    Notice,
    Reaction,
    StatusUpdate,
)
from loket.channels.models import Channel, ChannelKind, Delivery, DeliveryState
from loket.channels.registry import adapter_for
from loket.core import clock, crypto, rowinsert, writerturn

log = logging.getLogger(__name__)

# A status for a message we have not finished sending yet is retried this many times.
UNKNOWN_STATUS_RETRIES = 5


def store_delivery(
    channel: Channel, body: bytes, headers: Mapping[str, str] | None = None, *, process: bool = True
) -> Delivery:
    """Keep the raw bytes durably; parsing them is work for the task worker.

    On the database task backend the task row is written in the delivery's own transaction
    (one commit: both are kept or neither), and the worker cannot see it before the raw body
    is committed. Any other backend is handed the task after commit, so an eager one never
    parses bytes that are not stored yet.
    """
    with transaction.atomic():
        delivery = rowinsert.insert(
            Delivery(
                channel=channel,
                received_at=clock.now(),
                headers=dict(headers or {}),
                body=body,
            )
        )
        if process:
            if _tasks_in_database():
                request_drain()
            else:
                transaction.on_commit(request_drain)
    return delivery


def _tasks_in_database() -> bool:
    from django.tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend

    from loket.channels.tasks import drain_deliveries

    return isinstance(task_backends[drain_deliveries.backend], DatabaseBackend)


def request_drain() -> None:
    """Make sure a drain task will run after this point.

    Where writers are serialised (SQLite) a drain task still waiting to be claimed will see
    everything committed before it is claimed, so a second one would only add queue work
    (per message, that bookkeeping cost the worker a third of its time). Elsewhere, and on
    other task backends, one is enqueued each time: a drain finding nothing left is cheap.
    """
    from loket.channels.tasks import drain_deliveries

    if connection.vendor == "sqlite" and _tasks_in_database() and _drain_waiting():
        return
    drain_deliveries.enqueue()


def _drain_waiting() -> bool:
    from django_tasks_db.models import DBTaskResult

    from loket.channels.tasks import drain_deliveries

    sql = (
        f"SELECT 1 FROM {connection.ops.quote_name(DBTaskResult._meta.db_table)} "  # noqa: S608
        "WHERE status = %s AND task_path = %s AND backend_name = %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ["READY", drain_deliveries.module_path, drain_deliveries.backend])
        return cursor.fetchone() is not None


def enqueue_processing(delivery_id: int, *, delay: timedelta | None = None) -> None:
    """One delivery on its own (a retry later, the scheduler's safety net)."""
    from loket.channels.tasks import process_delivery

    if delay is None:
        process_delivery.enqueue(delivery_id)
    else:
        process_delivery.using(run_after=clock.now() + delay).enqueue(delivery_id)


# Deliveries read per transaction by a drain: one commit for several messages, and short
# enough (a few ms each) that the webhook's writes wait little for SQLite's single writer.
DRAIN_BATCH = 8
# Between two batches (seconds): enough for a waiting webhook writer to be woken and take
# the write lock (loket.core.writerturn), a few per cent of a batch.
DRAIN_PAUSE = 0.0005
# Batches between two WAL checkpoints in a long drain (~1,000 pages of WAL, SQLite's default).
CHECKPOINT_EVERY = 16


def drain(*, batch: int = DRAIN_BATCH) -> int:
    """Process every delivery waiting for its first read; returns how many were read.

    A batch is parsed first, outside any transaction (a WhatsApp body's media is fetched
    then, and no database lock is held over the network), then claimed and applied in one
    transaction: on PostgreSQL the rows are locked (``SKIP LOCKED``), so several workers
    drain side by side without applying one delivery twice; on SQLite the transaction
    holds the only write lock. If the process dies the transaction rolls back and the
    deliveries wait, unread, for the next drain. Deliveries already attempted (waiting for
    a retry) are left to their own task.
    """
    with writerturn.checkpoints_outside_turns():
        return _drain(batch)


def _drain(batch: int) -> int:
    done = 0
    after = 0
    batches = 0
    while True:
        waiting = _waiting(after, batch)
        if not waiting:
            return done
        batches += 1
        if batches % CHECKPOINT_EVERY == 0:
            writerturn.checkpoint()
        channels: dict[int, Channel] = {}
        parsed = {}
        for delivery_id in waiting:
            delivery = _load(delivery_id, channels)
            parsed[delivery_id] = (delivery, _parse(delivery))
        if done:
            time.sleep(DRAIN_PAUSE)  # a webhook waiting for the write lock gets in first
        with writerturn.turn(), transaction.atomic():
            for delivery_id in _claim(waiting):
                try:
                    with transaction.atomic():
                        _apply(*parsed[delivery_id])
                except Exception:  # a database error: leave it unread for a later drain
                    log.exception("delivery %s: not processed", delivery_id)
                done += 1
        after = waiting[-1]


def _waiting(after: int, limit: int) -> list[int]:
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = (
        f"SELECT id FROM {table} WHERE state = %s AND attempts = 0 AND id > %s "  # noqa: S608
        "ORDER BY id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [DeliveryState.RECEIVED, after, limit])
        return [int(row[0]) for row in cursor.fetchall()]


def _claim(ids: list[int]) -> list[int]:
    """Those of ``ids`` still unread, locked for this transaction (skipping any another
    worker holds)."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    skip_locked = connection.features.has_select_for_update_skip_locked
    lock = " FOR UPDATE SKIP LOCKED" if skip_locked else ""
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT id FROM {table} WHERE id IN ({marks}) AND state = %s "  # noqa: S608
        f"AND attempts = 0 ORDER BY id{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, DeliveryState.RECEIVED])
        return [int(row[0]) for row in cursor.fetchall()]


def process_waiting(delivery_id: int) -> str:
    """The per-delivery task: process it unless a drain (or a replay) already did.

    The state is read inside the transaction that processes it (a row lock on PostgreSQL,
    the only write lock on SQLite), so a drain running meanwhile cannot read it twice.
    """
    with transaction.atomic():
        state = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery_id)
            .values_list("state", flat=True)
            .first()
        )
        if state != DeliveryState.RECEIVED:
            return str(state or "")
        return process(delivery_id).state


def process(delivery_id: int, channels: dict[int, Channel] | None = None) -> Delivery:
    """Parse one delivery and hand each item to the ticket services.

    Safe to run again (replay): ``receive`` is idempotent and statuses only move forward.
    A delivery that fails keeps its error and stays listed for admins. ``channels`` caches
    the channel rows for a caller that processes many deliveries.
    """
    delivery = _load(delivery_id, channels)
    return _apply(delivery, _parse(delivery))


def _parse(delivery: Delivery) -> list[Item] | Exception:
    """The delivery's items, or what stopped them being read. Parsing may fetch media over
    the network (WhatsApp): a drain does it before it takes the write lock."""
    try:
        return adapter_for(delivery.channel.kind).parse(delivery.channel, delivery)
    except Exception as exc:
        return exc


def _apply(delivery: Delivery, parsed: list[Item] | Exception) -> Delivery:
    from loket.channels import notices
    from loket.tickets import inbound_events
    from loket.tickets import services as tickets

    delivery_id = delivery.pk
    channel = delivery.channel
    _count_attempt(delivery_id)
    delivery.attempts += 1
    try:
        if isinstance(parsed, Exception):
            raise parsed
        items = parsed
        unknown_statuses = 0
        for item in items:
            if isinstance(item, InboundMessage):
                item.meta.setdefault("delivery_id", delivery_id)  # the raw original, kept
                tickets.receive(channel, item)
            elif isinstance(item, StatusUpdate):
                if not tickets.apply_status(channel, item):
                    unknown_statuses += 1
            elif isinstance(item, Reaction):
                inbound_events.apply_reaction(channel, item)
            elif isinstance(item, IdentityChange):
                inbound_events.apply_identity_change(channel, item)
            elif isinstance(item, Notice):
                notices.apply(channel, item)
    except Exception as exc:
        log.warning("delivery %s failed: %s: %s", delivery_id, type(exc).__name__, exc)
        _fail(delivery, f"{type(exc).__name__}: {exc}")
        return delivery
    if unknown_statuses and delivery.attempts <= UNKNOWN_STATUS_RETRIES:
        # The provider told us about a message before our send call returned its id.
        Delivery.objects.filter(pk=delivery_id).update(item_count=len(items))
        enqueue_processing(delivery_id, delay=timedelta(seconds=5 * delivery.attempts))
        return delivery
    done = {
        "state": DeliveryState.PROCESSED,
        "error": "",
        "processed_at": clock.now(),
        "item_count": len(items),
    }
    _finish(delivery_id, done)
    for field, value in done.items():  # no re-read: a worker processes a delivery at a time
        setattr(delivery, field, value)
    return delivery


def _load(delivery_id: int, channels: dict[int, Channel] | None) -> Delivery:
    """The delivery and its channel, read with plain statements (the ingest path: see
    docs/adr/0003-ingest-hot-path.md)."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = f"SELECT * FROM {table} WHERE id = %s"  # noqa: S608
    delivery = next(iter(Delivery.objects.raw(sql, [delivery_id])), None)
    if delivery is None:
        raise Delivery.DoesNotExist(f"delivery {delivery_id}")
    channel = channels.get(delivery.channel_id) if channels is not None else None
    if channel is None:
        channel = Channel.objects.get(pk=delivery.channel_id)
        if channels is not None:
            channels[channel.pk] = channel
    delivery.channel = channel
    return delivery


def _finish(delivery_id: int, done: dict[str, Any]) -> None:
    """The processed state, written out (one statement, no queryset to compile)."""
    meta = Delivery._meta
    columns = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in done)
    fields = {f.name: f for f in meta.concrete_fields}
    params = [fields[name].get_db_prep_save(value, connection) for name, value in done.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(meta.db_table)} SET {columns} WHERE id = %s",  # noqa: S608
            [*params, delivery_id],
        )


def _count_attempt(delivery_id: int) -> None:
    """attempts + 1, written out: on the ingest path the ORM's UPDATE costs more than the
    statement (see docs/adr/0003-ingest-hot-path.md)."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET attempts = attempts + 1 WHERE id = %s",  # noqa: S608
            [delivery_id],
        )


def _fail(delivery: Delivery, error: str) -> None:
    now = clock.now()
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, error=error)
        Channel.objects.filter(pk=delivery.channel_id).update(
            last_error=error[:2000], last_error_at=now
        )
        audit.append(
            "delivery.failed",
            subject_type="delivery",
            subject_id=delivery.pk,
            data={"channel_id": delivery.channel_id, "error": error[:500]},
        )
    delivery.state = DeliveryState.FAILED
    delivery.error = error


def replay(delivery_id: int) -> Delivery:
    """Parse a stored delivery again (after a fix), synchronously."""
    return process(delivery_id)


# --- configuration (admins) -----------------------------------------------------------------
_UNCHANGED: Any = object()


def create_channel(
    *,
    kind: str,
    name: str,
    address: str = "",
    team: Team | None = None,
    config: Mapping[str, Any] | None = None,
    enabled: bool = True,
    actor: User | None,
) -> Channel:
    """Add a channel. Secrets are stored encrypted; the event names the settings given,
    never their values."""
    if kind not in ChannelKind.values:
        raise ValidationError(_("Unknown channel kind: %s") % kind)
    name = " ".join(name.split())[:100] or address or kind
    with transaction.atomic():
        channel = Channel.objects.create(
            kind=kind,
            name=name,
            address=address,
            team=team,
            config=secrets.seal(kind, config or {}),
            enabled=enabled,
        )
        audit.append(
            "channel.created",
            actor=audit.actor_for(actor),
            subject_type="channel",
            subject_id=channel.pk,
            data={"kind": kind, "fields": sorted(["name", "address", "team", *(config or {})])},
        )
    return channel


def update_channel(
    channel: Channel,
    *,
    actor: User | None,
    name: str | None = None,
    address: str | None = None,
    team: Team | None = _UNCHANGED,
    config: Mapping[str, Any] | None = None,
    enabled: bool | None = None,
) -> Channel:
    """Change a channel. ``config`` holds only the settings to change (others are kept).

    The event lists the names of the fields that changed: never a value, so no secret ever
    reaches the log.
    """
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        changed: list[str] = []
        if name is not None:
            name = " ".join(name.split())[:100] or channel.address or channel.kind
            if name != channel.name:
                channel.name = name
                changed.append("name")
        if address is not None and address != channel.address:
            channel.address = address
            changed.append("address")
        if team is not _UNCHANGED and (team.pk if team else None) != channel.team_id:
            channel.team = team
            changed.append("team")
        if enabled is not None and enabled != channel.enabled:
            channel.enabled = enabled
            changed.append("enabled")
        stored = dict(channel.config)
        for key, value in (config or {}).items():
            if not _same(stored.get(key), value):
                stored[key] = value
                changed.append(key)
        if not changed:
            return channel
        channel.config = secrets.seal(channel.kind, stored)
        channel.save()
        kind = "channel.changed"
        if changed == ["enabled"]:
            kind = "channel.enabled" if channel.enabled else "channel.disabled"
        audit.append(
            kind,
            actor=audit.actor_for(actor),
            subject_type="channel",
            subject_id=channel.pk,
            data={"fields": sorted(changed)},
        )
    return channel


def _same(stored: Any, value: Any) -> bool:
    """Whether a submitted setting equals the stored one (a secret compared in clear)."""
    if crypto.is_encrypted(stored):
        try:
            return bool(secrets.reveal(stored) == value)
        except crypto.DecryptionError:
            return False  # unreadable: whatever was typed replaces it
    return bool(stored == value)
