"""Raw deliveries: store first, parse later, replay on demand."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from loket.accounts.models import Team, User
from loket.audit import services as audit
from loket.channels import secrets
from loket.channels.items import IdentityChange, InboundMessage, Notice, Reaction, StatusUpdate
from loket.channels.models import Channel, ChannelKind, Delivery, DeliveryState
from loket.channels.registry import adapter_for
from loket.core import clock, crypto, rowinsert

log = logging.getLogger(__name__)

# A status for a message we have not finished sending yet is retried this many times.
UNKNOWN_STATUS_RETRIES = 5


def store_delivery(
    channel: Channel, body: bytes, headers: Mapping[str, str] | None = None, *, process: bool = True
) -> Delivery:
    """Keep the raw bytes durably, then (after commit) parse them in a task."""
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
            delivery_id = delivery.pk
            transaction.on_commit(lambda: enqueue_processing(delivery_id))
    return delivery


def enqueue_processing(delivery_id: int, *, delay: timedelta | None = None) -> None:
    from loket.channels.tasks import process_delivery

    if delay is None:
        process_delivery.enqueue(delivery_id)
    else:
        process_delivery.using(run_after=clock.now() + delay).enqueue(delivery_id)


def process(delivery_id: int) -> Delivery:
    """Parse one delivery and hand each item to the ticket services.

    Safe to run again (replay): ``receive`` is idempotent and statuses only move forward.
    A delivery that fails keeps its error and stays listed for admins.
    """
    from loket.channels import notices
    from loket.tickets import inbound_events
    from loket.tickets import services as tickets

    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    channel = delivery.channel
    _count_attempt(delivery_id)
    delivery.attempts += 1
    try:
        items = adapter_for(channel.kind).parse(channel, delivery)
        unknown_statuses = 0
        for item in items:
            if isinstance(item, InboundMessage):
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
    Delivery.objects.filter(pk=delivery_id).update(**done)
    for field, value in done.items():  # no re-read: a worker processes a delivery at a time
        setattr(delivery, field, value)
    return delivery


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
