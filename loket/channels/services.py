"""Raw deliveries: store first, parse later, replay on demand."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from django.db import transaction
from django.db.models import F

from loket.audit import services as audit
from loket.channels.items import InboundMessage, StatusUpdate
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.channels.registry import adapter_for
from loket.core import clock

log = logging.getLogger(__name__)

# A status for a message we have not finished sending yet is retried this many times.
UNKNOWN_STATUS_RETRIES = 5


def store_delivery(
    channel: Channel, body: bytes, headers: Mapping[str, str] | None = None, *, process: bool = True
) -> Delivery:
    """Keep the raw bytes durably, then (after commit) parse them in a task."""
    with transaction.atomic():
        delivery = Delivery.objects.create(
            channel=channel,
            received_at=clock.now(),
            headers=dict(headers or {}),
            body=body,
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
    from loket.tickets import services as tickets

    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    channel = delivery.channel
    Delivery.objects.filter(pk=delivery_id).update(attempts=F("attempts") + 1)
    delivery.attempts += 1
    try:
        items = adapter_for(channel.kind).parse(channel, delivery)
        unknown_statuses = 0
        for item in items:
            if isinstance(item, InboundMessage):
                tickets.receive(channel, item)
            elif isinstance(item, StatusUpdate) and not tickets.apply_status(channel, item):
                unknown_statuses += 1
    except Exception as exc:
        log.warning("delivery %s failed: %s: %s", delivery_id, type(exc).__name__, exc)
        _fail(delivery, f"{type(exc).__name__}: {exc}")
        return delivery
    if unknown_statuses and delivery.attempts <= UNKNOWN_STATUS_RETRIES:
        # The provider told us about a message before our send call returned its id.
        Delivery.objects.filter(pk=delivery_id).update(item_count=len(items))
        enqueue_processing(delivery_id, delay=timedelta(seconds=5 * delivery.attempts))
        return delivery
    Delivery.objects.filter(pk=delivery_id).update(
        state=DeliveryState.PROCESSED, error="", processed_at=clock.now(), item_count=len(items)
    )
    delivery.refresh_from_db()
    return delivery


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
