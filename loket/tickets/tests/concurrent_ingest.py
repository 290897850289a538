"""One OS process of the concurrency tests (test_concurrency.py); not a test itself.

    python -m loket.tickets.tests.concurrent_ingest setup
    python -m loket.tickets.tests.concurrent_ingest work INDEX COUNT BARRIER_DIR SCENARIO...
    python -m loket.tickets.tests.concurrent_ingest report

The database is whatever LOKET_DATA_DIR / LOKET_DATABASE_URL say. Each action prints one
line of JSON on stdout. Before each scenario, ``work`` waits at a file barrier until all COUNT
processes are ready, so they really hit the database at the same moment.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCENARIOS: dict[str, Callable[[int], Any]] = {}
TICKETS_PER_PROCESS = 5

# Dewi's number as different people and systems write it; all one customer.
DEWI_FORMS = [
    ("6281234567890", True),  # the WhatsApp wa_id
    ("0812-3456-7890", False),
    ("+62 812 3456 7890", False),
    ("62812-3456-7890", False),
]

MAIL = b"""\
From: Rudi Hartono <rudi@contoh.co.id>
To: cs@batiksari.id
Subject: Tanya stok batik parang
Message-ID: <CAH7rudi-dup@mail.contoh.co.id>
Content-Type: text/plain; charset=utf-8

Selamat pagi, ukuran L masih ada?
"""


def _channel(kind: str) -> Any:
    from loket.channels.models import Channel

    return Channel.objects.get(kind=kind)


def scenario(name: str) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    def register(function: Callable[[int], Any]) -> Callable[[int], Any]:
        SCENARIOS[name] = function
        return function

    return register


@scenario("same_new_customer")
def same_new_customer(index: int) -> dict[str, Any]:
    from loket.channels.items import InboundMessage, Sender
    from loket.tickets import services

    value, international = DEWI_FORMS[index % len(DEWI_FORMS)]
    received = services.receive(
        _channel("whatsapp"),
        InboundMessage(
            external_id=f"wamid.dewi.{index}",
            sender=Sender("phone", value, "Dewi Lestari", international=international),
            text=f"Pesan ke-{index}: batik parang ukuran L ada?",
        ),
    )
    message = received.message
    return {"message": message.pk, "ticket": message.ticket.number, "created": received.created}


@scenario("many_customers")
def many_customers(index: int) -> list[int]:
    from loket.channels.items import InboundMessage, Sender
    from loket.tickets import services

    numbers = []
    for k in range(TICKETS_PER_PROCESS):
        customer = index * TICKETS_PER_PROCESS + k
        received = services.receive(
            _channel("whatsapp"),
            InboundMessage(
                external_id=f"wamid.customer.{customer}",
                sender=Sender("phone", f"62857{customer:07d}", f"Pelanggan {customer}", True),
                text="Halo kak, mau pesan",
            ),
        )
        numbers.append(received.message.ticket.number)
    return numbers


@scenario("same_delivery")
def same_delivery(index: int) -> dict[str, Any]:
    from loket.channels import services as channels
    from loket.tickets.models import Message

    # The mail server hands the same mail over again (a retry after a timeout).
    delivery = channels.store_delivery(_channel("email"), MAIL, process=False)
    processed = channels.process(delivery.pk)
    message = Message.objects.get(external_id="CAH7rudi-dup@mail.contoh.co.id")
    return {"state": processed.state, "error": processed.error, "message": message.pk}


def setup() -> dict[str, Any]:
    from loket.channels.models import Channel

    Channel.objects.create(kind="whatsapp", name="WhatsApp Toko", address="+6281100001111")
    Channel.objects.create(kind="email", name="Email CS", address="cs@batiksari.id")
    return {"channels": Channel.objects.count()}


def report() -> dict[str, Any]:
    from loket.audit import services as audit
    from loket.audit.models import Event
    from loket.channels.models import Delivery
    from loket.contacts.models import Contact
    from loket.tickets.models import Message, Ticket

    audit.seal()
    verified = audit.verify()
    return {
        "contacts": Contact.objects.count(),
        "tickets": [
            {
                "number": ticket.number,
                "identities": sorted(i.value for i in ticket.contact.identities.all()),
            }
            for ticket in Ticket.objects.order_by("number").prefetch_related("contact__identities")
        ],
        "messages": [
            {"external_id": external_id, "ticket": number}
            for external_id, number in Message.objects.order_by("external_id").values_list(
                "external_id", "ticket__number"
            )
        ],
        "deliveries": sorted(Delivery.objects.values_list("state", flat=True)),
        "received_events": Event.objects.filter(kind="message.received").count(),
        "chain_ok": verified.ok,
        "chain_problems": [str(p) for p in verified.problems],
    }


def _barrier(directory: Path, index: int, count: int, timeout: float = 120.0) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"ready-{index}").touch()
    deadline = time.monotonic() + timeout
    while len(list(directory.glob("ready-*"))) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the other processes never became ready")
        time.sleep(0.001)


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loket.settings")
    import django

    django.setup()
    from django.db import connection

    action = argv[1]
    if action == "setup":
        result: Any = setup()
    elif action == "report":
        result = report()
    else:
        index, count, barriers = int(argv[2]), int(argv[3]), Path(argv[4])
        # Everything slow (imports, the connection) happens before the first barrier.
        import loket.channels.services
        import loket.tickets.services  # noqa: F401

        connection.ensure_connection()
        _channel("whatsapp")
        result = {}
        for name in argv[5:]:
            _barrier(barriers / name, index, count)
            result[name] = SCENARIOS[name](index)
    connection.close()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv)
