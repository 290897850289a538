"""Several task workers drain at once (PostgreSQL scale-out): each delivery is read once.

Threads stand in for worker processes: each has its own database connection and session,
and the row locks (``FOR UPDATE SKIP LOCKED``) are the database's. SQLite runs one writer at
a time, so there is nothing to share out there.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from loket.channels import services
from loket.channels.models import Delivery, DeliveryState
from loket.channels.whatsapp.tests.config_support import whatsapp_channel
from loket.channels.whatsapp.tests.test_webhook import ESCAPED
from loket.tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_workers_draining_at_once_read_each_delivery_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL run only: several workers drain in parallel there")
    channel = whatsapp_channel()
    for n in range(40):
        body = ESCAPED.replace(b"wamid.HBgM.1", f"wamid.HBgM.{n}".encode())
        services.store_delivery(channel, body, process=False)

    read: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        from django.db import connection as own

        try:
            start.wait()
            read.append(services.drain(batch=3))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors
    assert sum(read) == 40
    assert set(Delivery.objects.values_list("state", "attempts")) == {(DeliveryState.PROCESSED, 1)}
    assert Message.objects.count() == 40
