"""Status callbacks (reference §1.7): forward only, in any order, even before our send returned."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loket.channels import services
from loket.channels.models import Delivery, DeliveryState
from loket.channels.whatsapp.tests import payloads as wa
from loket.channels.whatsapp.tests.inbound_support import configure, deliver, outbound
from loket.conftest import Shop
from loket.tickets.models import DeliveryStatus, Message

pytestmark = pytest.mark.django_db


def _sent_by_budi(shop: Shop, wamid: str = "wamid.OUT.1", status: str = "sending") -> Message:
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Batik parang ada?")
    return outbound(ticket, wamid, status=status)


def _at(seconds: int) -> str:
    return str(int(wa.TIMESTAMP) + seconds)


def test_sent_delivered_read_move_the_message_forward(shop: Shop) -> None:
    message = _sent_by_budi(shop)
    for state, offset in (("sent", 1), ("delivered", 2), ("read", 3)):
        delivery = deliver(
            shop.whatsapp, wa.statuses(wa.status("wamid.OUT.1", state, timestamp=_at(offset)))
        )
        assert delivery.state == DeliveryState.PROCESSED
        message.refresh_from_db()
        assert message.delivery_status == state

    assert message.sent_at == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert message.delivered_at == datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert message.read_at == datetime(2026, 1, 1, 0, 0, 3, tzinfo=UTC)


def test_read_before_delivered_and_sent_after_delivered_never_go_back(shop: Shop) -> None:
    message = _sent_by_budi(shop)
    deliver(
        shop.whatsapp,
        wa.statuses(
            wa.status("wamid.OUT.1", "read", timestamp=_at(3)),
            wa.status("wamid.OUT.1", "delivered", timestamp=_at(2)),
            wa.status("wamid.OUT.1", "sent", timestamp=_at(1)),
        ),
    )

    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.READ
    assert message.read_at is not None
    assert message.delivered_at is not None  # read implies delivered


def test_sent_arriving_after_delivered_keeps_delivered(shop: Shop) -> None:
    message = _sent_by_budi(shop)
    deliver(shop.whatsapp, wa.statuses(wa.status("wamid.OUT.1", "delivered", timestamp=_at(2))))
    deliver(shop.whatsapp, wa.statuses(wa.status("wamid.OUT.1", "sent", timestamp=_at(1))))

    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED


def test_a_failure_shows_the_mapped_reason(shop: Shop) -> None:
    message = _sent_by_budi(shop)
    deliver(
        shop.whatsapp,
        wa.statuses(wa.status("wamid.OUT.1", "failed", timestamp=_at(5), error_code=131047)),
    )

    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.failure_code == "131047"
    assert "24" in message.failure_reason  # the window: the reason, not Meta's title
    assert message.failure_reason != "error 131047"


def test_a_failure_without_a_code_keeps_metas_words(shop: Shop) -> None:
    message = _sent_by_budi(shop)
    status = wa.status("wamid.OUT.1", "failed")
    status["errors"] = [{"title": "Something odd", "error_data": {"details": "Odd details"}}]
    deliver(shop.whatsapp, wa.statuses(status))

    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert (message.failure_code, message.failure_reason) == ("", "Odd details")


def test_unknown_status_values_are_ignored(shop: Shop) -> None:
    message = _sent_by_budi(shop, status="sent")
    delivery = deliver(
        shop.whatsapp,
        wa.statuses(wa.status("wamid.OUT.1", "played"), wa.status("wamid.OUT.1", "deleted")),
    )

    assert delivery.state == DeliveryState.PROCESSED
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT


def test_a_status_before_our_send_returned_is_applied_on_the_retry(shop: Shop) -> None:
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Halo")
    body = wa.statuses(wa.status("wamid.OUT.early", "sent", timestamp=_at(1)))
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.RECEIVED  # kept and scheduled again, not lost
    message = outbound(ticket, "wamid.OUT.early")
    again = services.process(delivery.pk)

    assert again.state == DeliveryState.PROCESSED
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT


def test_a_status_for_a_message_never_sent_from_loket_ends_quietly(shop: Shop) -> None:
    configure(shop.whatsapp)
    delivery = deliver(shop.whatsapp, wa.statuses(wa.status("wamid.from.phone.app", "read")))
    for _attempt in range(services.UNKNOWN_STATUS_RETRIES):
        delivery = services.process(delivery.pk)

    assert delivery.state == DeliveryState.PROCESSED
    assert Delivery.objects.get(pk=delivery.pk).error == ""
