"""`loket deliveries list|replay`: the raw deliveries an admin looks after."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loket.channels import services
from loket.channels.models import Delivery, DeliveryState
from loket.conftest import Shop
from loket.core import clock
from loket.tickets.models import Ticket

GOOD = (
    b"From: Rudi Hartono <rudi@contoh.co.id>\r\nSubject: Retur\r\n"
    b"Message-ID: <retur-1@contoh.co.id>\r\n\r\nSaya mau retur kemeja.\r\n"
)


def deliveries(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("deliveries", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_list_shows_newest_first_and_failed_only_on_request(shop: Shop) -> None:
    ok = services.process(services.store_delivery(shop.email, GOOD, process=False).pk)
    bad = services.process(services.store_delivery(shop.email, b"\r\n\r\n", process=False).pk)
    assert (ok.state, bad.state) == (DeliveryState.PROCESSED, DeliveryState.FAILED)

    everything, _ = deliveries("list")
    rows = everything.splitlines()[1:]
    assert [int(row.split()[0]) for row in rows] == [bad.pk, ok.pk]
    failed, _ = deliveries("list", "--failed")
    assert [int(row.split()[0]) for row in failed.splitlines()[1:]] == [bad.pk]


@pytest.mark.django_db
def test_an_empty_list_says_so() -> None:
    out, _ = deliveries("list", "--failed")
    assert out.strip() == "No failed deliveries."


def test_replay_processes_a_delivery_that_failed_before_a_fix(shop: Shop) -> None:
    # Stored and failed under an older, buggier parser.
    delivery = Delivery.objects.create(
        channel=shop.email,
        received_at=clock.now(),
        body=GOOD,
        state=DeliveryState.FAILED,
        error="ValueError: parser bug",
        attempts=1,
    )
    out, _ = deliveries("replay", str(delivery.pk))
    assert out.strip() == f"delivery {delivery.pk}: processed (1 item(s))"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.error, delivery.attempts) == (DeliveryState.PROCESSED, "", 2)
    assert Ticket.objects.get().subject == "Retur"
    # Again: idempotent, still one ticket and one message.
    deliveries("replay", str(delivery.pk))
    assert Ticket.objects.get().messages.count() == 1


def test_replay_of_an_unknown_or_still_broken_delivery_fails(shop: Shop) -> None:
    bad = services.store_delivery(shop.email, b"no headers at all", process=False)
    with pytest.raises(CommandError, match="2 of 2 deliveries could not be processed") as failed:
        deliveries("replay", str(bad.pk), "999999")
    assert failed.value.returncode == 1
