"""Raw deliveries: kept before they are read, never lost when reading fails, replayable."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from loket.audit.models import Event
from loket.channels import services
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.channels.tests import loopback
from loket.conftest import Shop
from loket.tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db

CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]

MAIL = b"""\
From: Rudi Hartono <rudi@contoh.co.id>
To: cs@batiksari.id
Subject: Tanya stok batik parang
Message-ID: <CAH7rudi042@mail.contoh.co.id>
Date: Mon, 02 Mar 2026 08:15:00 +0700
Content-Type: text/plain; charset=utf-8

Selamat pagi, ukuran L masih ada?
"""

MAIL_WITH_PHOTO = b"""\
From: Rudi Hartono <rudi@contoh.co.id>
To: cs@batiksari.id
Subject: Foto kain
Message-ID: <CAH7rudi043@mail.contoh.co.id>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Ini fotonya kak
--b1
Content-Type: image/jpeg
Content-Disposition: attachment; filename="kain.jpg"
Content-Transfer-Encoding: base64

/9j/4AAQSkZJRgABAQ==
--b1--
"""

NO_SENDER = b"""\
To: cs@batiksari.id
Subject: ???

(no sender)
"""


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("deliveries", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_delivery_is_stored_before_it_is_read(
    shop: Shop, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = services.store_delivery(shop.email, MAIL, {"X-Received-By": "postfix"})

    stored = Delivery.objects.get(pk=delivery.pk)
    assert bytes(stored.body) == MAIL
    assert stored.headers == {"X-Received-By": "postfix"}
    assert stored.state == DeliveryState.RECEIVED
    assert not Message.objects.exists()
    # Reading is work for the task worker. Its task row is written in the delivery's own
    # transaction: the worker cannot claim it before the raw bytes are committed, and the
    # two are kept or lost together (one commit), so nothing waits for an after-commit hook.
    assert callbacks == []
    task = DBTaskResult.objects.get(task_path="loket.channels.tasks.drain_deliveries")
    assert task.status == "READY"

    assert services.drain() == 1

    processed = Delivery.objects.get(pk=delivery.pk)
    assert processed.state == DeliveryState.PROCESSED
    assert processed.item_count == 1
    assert processed.processed_at is not None
    message = Message.objects.get()
    assert message.external_id == "CAH7rudi042@mail.contoh.co.id"
    assert message.ticket.subject == "Tanya stok batik parang"
    assert message.text == "Selamat pagi, ukuran L masih ada?"


def test_an_eager_task_backend_reads_only_after_commit(
    shop: Shop, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    """On a backend that runs tasks at once, the drain is handed over after commit."""
    from django.test import override_settings

    eager = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=eager):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.store_delivery(shop.email, MAIL)
        assert not Message.objects.exists()
        assert len(callbacks) == 1
        callbacks[0]()
    assert Message.objects.get().text == "Selamat pagi, ukuran L masih ada?"


def test_one_waiting_drain_serves_every_delivery_stored_meanwhile(shop: Shop) -> None:
    from django.db import connection

    services.store_delivery(shop.email, MAIL)
    services.store_delivery(shop.email, MAIL_WITH_PHOTO)
    services.store_delivery(shop.email, NO_SENDER)
    drains = DBTaskResult.objects.filter(task_path="loket.channels.tasks.drain_deliveries")
    # SQLite runs one writer at a time, so a waiting drain sees all that came before its
    # claim; elsewhere one is enqueued per delivery (the spares find nothing to do).
    assert drains.count() == (1 if connection.vendor == "sqlite" else 3)

    assert services.drain(batch=2) == 3

    states = dict(Delivery.objects.values_list("body", "state"))
    assert sorted(states.values()) == ["failed", "processed", "processed"]
    assert Message.objects.count() == 2
    assert services.drain() == 0


def test_a_drain_leaves_a_delivery_waiting_for_its_retry_alone(shop: Shop) -> None:
    waiting = services.store_delivery(shop.email, MAIL, process=False)
    Delivery.objects.filter(pk=waiting.pk).update(attempts=1)  # its retry task will come

    assert services.drain() == 0
    assert Delivery.objects.get(pk=waiting.pk).state == DeliveryState.RECEIVED
    # Its own task reads it; run again (or after a drain), it does nothing.
    assert services.process_waiting(waiting.pk) == DeliveryState.PROCESSED
    assert services.process_waiting(waiting.pk) == DeliveryState.PROCESSED
    assert Message.objects.count() == 1
    assert Delivery.objects.get(pk=waiting.pk).attempts == 2


def test_a_mail_that_cannot_be_read_is_kept_with_its_error(shop: Shop) -> None:
    delivery = services.store_delivery(shop.email, NO_SENDER, process=False)

    failed = services.process(delivery.pk)

    assert failed.state == DeliveryState.FAILED
    stored = Delivery.objects.get(pk=delivery.pk)
    assert stored.state == DeliveryState.FAILED
    assert stored.error == "UnreadableMail: mail has no sender address"
    assert stored.attempts == 1
    assert bytes(stored.body) == NO_SENDER
    assert not Message.objects.exists()
    shop.email.refresh_from_db()
    assert shop.email.last_error == stored.error
    assert shop.email.last_error_at is not None
    event = Event.objects.get(kind="delivery.failed")
    assert (event.subject_type, event.subject_id) == ("delivery", delivery.pk)

    # Admins see it in the list of failed deliveries...
    listing = _command("list", "--failed")
    assert str(delivery.pk) in listing
    assert "mail has no sender address" in listing
    # ...and replaying an unreadable mail fails again, loudly, without losing it.
    with pytest.raises(CommandError):
        _command("replay", str(delivery.pk))
    again = Delivery.objects.get(pk=delivery.pk)
    assert (again.state, again.attempts) == (DeliveryState.FAILED, 2)


def test_a_delivery_that_failed_is_replayed_once_the_cause_is_fixed(
    shop: Shop, settings: Any, tmp_path: Path
) -> None:
    attachments_folder = settings.MEDIA_ROOT
    broken = tmp_path / "disk-full"
    broken.write_text("")  # a file where the attachments folder should be
    settings.MEDIA_ROOT = broken
    delivery = services.store_delivery(shop.email, MAIL_WITH_PHOTO, process=False)

    assert services.process(delivery.pk).state == DeliveryState.FAILED
    assert not Message.objects.exists()  # nothing half-stored
    assert Delivery.objects.get(pk=delivery.pk).error

    settings.MEDIA_ROOT = attachments_folder  # the admin fixes the disk
    output = _command("replay", str(delivery.pk))

    assert f"delivery {delivery.pk}: processed (1 item(s))" in output
    replayed = Delivery.objects.get(pk=delivery.pk)
    assert (replayed.state, replayed.error, replayed.attempts) == (DeliveryState.PROCESSED, "", 2)
    attachment = Attachment.objects.get()
    assert attachment.name == "kain.jpg"
    assert attachment.file
    assert "No failed deliveries." in _command("list", "--failed")


def test_a_delivery_for_a_missing_channel_plugin_is_replayed_after_installing_it(
    db: None,
) -> None:
    channel = Channel.objects.create(kind=loopback.KIND, name="Loopback", address="loop")
    raw = loopback.body(messages=[{"id": "m-1", "from": "pelanggan-1", "text": "Halo"}])
    delivery = services.store_delivery(channel, raw, process=False)

    failed = services.process(delivery.pk)
    assert failed.state == DeliveryState.FAILED
    assert "UnknownChannelKind" in failed.error

    with loopback.installed():
        replayed = services.replay(delivery.pk)

    assert replayed.state == DeliveryState.PROCESSED
    assert Message.objects.get().text == "Halo"


def test_processing_a_delivery_twice_makes_one_message(shop: Shop) -> None:
    delivery = services.store_delivery(shop.email, MAIL, process=False)

    services.process(delivery.pk)
    services.replay(delivery.pk)

    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Delivery.objects.get(pk=delivery.pk).attempts == 2


def test_the_same_mail_delivered_twice_is_one_message(shop: Shop) -> None:
    first = services.store_delivery(shop.email, MAIL, process=False)
    second = services.store_delivery(shop.email, MAIL, process=False)

    services.process(first.pk)
    services.process(second.pk)

    assert Delivery.objects.filter(state=DeliveryState.PROCESSED).count() == 2
    assert Message.objects.count() == 1
    assert Event.objects.filter(kind="message.received").count() == 1
