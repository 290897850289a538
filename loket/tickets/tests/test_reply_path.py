"""An agent answers; the answer leaves through the channel, or says clearly why it did not.

Email goes to a real SMTP server (aiosmtpd) on a loopback port.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from django import db
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from time_machine import TimeMachineFixture

from loket.audit.models import Event
from loket.channels import services as channels
from loket.channels.items import DeliveryError, InboundAttachment, Sender, StatusUpdate
from loket.channels.models import Channel, DeliveryState
from loket.channels.tests import loopback as loopback_plugin
from loket.conftest import Shop
from loket.core.tests.processes import free_port
from loket.core.tests.smtp import SmtpServer
from loket.tickets import services
from loket.tickets.models import DeliveryStatus, Direction, Message, Status, Ticket
from loket.tickets.tests.conftest import RUDI, smtp_config, writes

pytestmark = pytest.mark.django_db

CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def _deliver_tasks() -> list[DBTaskResult[Any, Any]]:
    return list(
        DBTaskResult.objects.filter(task_path="loket.tickets.tasks.deliver").order_by("enqueued_at")
    )


def _rudis_ticket(channel: Channel) -> Ticket:
    return writes(
        channel,
        RUDI,
        "Selamat siang, batik tulis motif parang ukuran L masih ada?",
        subject="Tanya stok",
        external_id="CAH7rudi001@mail.contoh.co.id",
    ).ticket


def _message(pk: int) -> Message:
    return Message.objects.get(pk=pk)


# --- queueing -----------------------------------------------------------------------------------
def test_a_reply_is_queued_and_handed_to_the_worker(
    shop: Shop, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    ticket = _rudis_ticket(shop.email)

    with django_capture_on_commit_callbacks(execute=True):
        reply = services.reply(ticket, shop.wati, "  Masih ada kak, silakan dipesan.  ")

    assert reply.direction == Direction.OUTBOUND
    assert reply.delivery_status == DeliveryStatus.QUEUED
    assert reply.text == "Masih ada kak, silakan dipesan."
    assert reply.author == shop.wati
    assert reply.channel == shop.email
    assert reply.identity is not None
    assert reply.identity.value == "rudi@contoh.co.id"
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN  # answering a new ticket opens it
    assert ticket.first_response_at == reply.created_at
    assert ticket.waiting_since is None
    [task] = _deliver_tasks()
    assert task.args_kwargs == {"args": [reply.pk], "kwargs": {}}
    assert Event.objects.filter(kind="message.queued", subject_id=reply.pk).exists()


def test_the_worker_hears_of_a_reply_only_once_it_is_committed(
    shop: Shop, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    ticket = _rudis_ticket(shop.email)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reply = services.reply(ticket, shop.wati, "Masih ada kak")
    assert _deliver_tasks() == []  # a rolled-back reply would leave no task behind

    for callback in callbacks:
        callback()
    assert [task.args_kwargs["args"] for task in _deliver_tasks()] == [[reply.pk]]


def test_an_empty_reply_or_a_reply_on_a_closed_ticket_is_refused(shop: Shop) -> None:
    ticket = _rudis_ticket(shop.email)
    with pytest.raises(ValidationError):
        services.reply(ticket, shop.wati, "   ")
    services.set_status(ticket, Status.CLOSED, actor=shop.wati)
    with pytest.raises(ValidationError):
        services.reply(ticket, shop.wati, "Maaf kak, satu lagi")
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_an_internal_note_never_leaves_loket(
    shop: Shop,
    mail_channel: Channel,
    smtp_server: SmtpServer,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    ticket = _rudis_ticket(mail_channel)

    with django_capture_on_commit_callbacks(execute=True):
        note = services.add_note(ticket, shop.wati, "Pelanggan lama, kasih diskon 10%")

    assert note.direction == Direction.NOTE
    assert note.channel is None
    assert _deliver_tasks() == []
    # Even if someone asks the worker to send it, nothing goes out.
    assert services.deliver_now(note.pk) == ""
    assert smtp_server.mails == []
    assert _message(note.pk).delivery_status == ""
    assert not Event.objects.filter(kind__in=["message.queued", "message.sent"]).exists()
    assert Event.objects.filter(kind="note.added", subject_id=note.pk).exists()


# --- sending by email ---------------------------------------------------------------------------
def test_an_email_reply_is_sent_in_the_customers_thread(
    shop: Shop, mail_channel: Channel, smtp_server: SmtpServer
) -> None:
    ticket = _rudis_ticket(mail_channel)
    reply = services.reply(ticket, shop.wati, "Masih ada kak, silakan dipesan.")

    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT

    [mail] = smtp_server.mails
    sent = _message(reply.pk)
    assert sent.delivery_status == DeliveryStatus.SENT
    assert sent.sent_at is not None
    assert sent.attempts == 1
    assert sent.external_id
    assert mail["Message-ID"] == f"<{sent.external_id}>"
    assert mail["From"].addresses[0].display_name == "Wati Rahayu"
    assert mail["From"].addresses[0].addr_spec == "cs@batiksari.id"
    assert mail["To"] == "rudi@contoh.co.id"
    assert mail["Subject"] == f"Re: Tanya stok [#{ticket.number}]"
    assert mail["In-Reply-To"] == "<CAH7rudi001@mail.contoh.co.id>"
    assert "<CAH7rudi001@mail.contoh.co.id>" in mail["References"]
    body = mail.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Masih ada kak, silakan dipesan."
    assert smtp_server.envelopes == [("cs@batiksari.id", ["rudi@contoh.co.id"])]
    event = Event.objects.get(kind="message.sent", subject_id=reply.pk)
    assert event.data["external_id"] == sent.external_id

    # Sending again (a duplicate task) does not send twice.
    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT
    assert len(smtp_server.mails) == 1

    # Rudi answers our mail: it lands in the same ticket.
    answer = writes(mail_channel, RUDI, "Oke saya pesan 2", reply_to=sent.external_id)
    assert answer.ticket.pk == ticket.pk


def test_an_email_reply_carries_its_attachments(
    shop: Shop, mail_channel: Channel, smtp_server: SmtpServer
) -> None:
    ticket = _rudis_ticket(mail_channel)
    catalogue = b"%PDF-1.4 katalog batik " * 50
    reply = services.reply(
        ticket,
        shop.wati,
        "Katalognya terlampir kak",
        attachments=[InboundAttachment("katalog.pdf", "application/pdf", catalogue)],
    )

    services.deliver_now(reply.pk)

    [mail] = smtp_server.mails
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == "katalog.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_content() == catalogue


def test_an_unreachable_mail_server_is_retried_then_fails_with_the_reason(
    shop: Shop,
    settings: Any,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    settings.LOKET_DELIVERY_MAX_ATTEMPTS = 3
    shop.email.config = smtp_config(free_port())  # nothing listens there
    shop.email.save()
    ticket = _rudis_ticket(shop.email)
    reply = services.reply(ticket, shop.wati, "Masih ada kak")

    for attempt in (1, 2):
        before = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliver_now(reply.pk) == DeliveryStatus.QUEUED
        message = _message(reply.pk)
        assert message.delivery_status == DeliveryStatus.QUEUED
        assert message.attempts == attempt
        assert message.failure_code == "smtp_unavailable"
        retry = _deliver_tasks()[-1]
        assert retry.args_kwargs["args"] == [reply.pk]
        # Backed off: not before a few seconds from now, never more than the cap.
        assert before + timedelta(seconds=3) < retry.run_after
        assert retry.run_after < timezone.now() + timedelta(minutes=20)
    assert len(_deliver_tasks()) == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = _message(reply.pk)
    assert failed.delivery_status == DeliveryStatus.FAILED
    assert failed.attempts == 3
    assert failed.failure_code == "smtp_unavailable"
    assert "tidak dapat dihubungi" in failed.failure_reason
    assert failed.failed_at is not None
    assert len(_deliver_tasks()) == 2  # no further retry
    event = Event.objects.get(kind="message.delivery_failed", subject_id=reply.pk)
    assert event.data["code"] == "smtp_unavailable"


def test_a_retry_succeeds_once_the_mail_server_is_back(
    shop: Shop,
    smtp_server: SmtpServer,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    shop.email.config = smtp_config(free_port())
    shop.email.save()
    reply = services.reply(_rudis_ticket(shop.email), shop.wati, "Masih ada kak")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_now(reply.pk) == DeliveryStatus.QUEUED

    shop.email.config = smtp_config(smtp_server.port)
    shop.email.save()
    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT

    sent = _message(reply.pk)
    assert (sent.attempts, sent.failure_code, sent.failure_reason) == (2, "", "")
    assert len(smtp_server.mails) == 1


def test_a_refused_recipient_fails_at_once(
    shop: Shop,
    mail_channel: Channel,
    smtp_server: SmtpServer,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    smtp_server.refuse.add("rudi@contoh.co.id")
    reply = services.reply(_rudis_ticket(mail_channel), shop.wati, "Masih ada kak")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = _message(reply.pk)
    assert failed.attempts == 1
    assert failed.failure_code == "recipient_refused"
    assert "rudi@contoh.co.id" in failed.failure_reason
    assert _deliver_tasks() == []
    assert smtp_server.mails == []


def test_a_channel_without_a_sending_plugin_fails_the_message(shop: Shop) -> None:
    telegram = Channel.objects.create(kind="telegram", name="Telegram Toko")
    ticket = writes(telegram, Sender("telegram", "99887766", "Rudi"), "Halo").ticket
    reply = services.reply(ticket, shop.budi, "Halo kak")
    assert reply.channel == telegram

    assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = _message(reply.pk)
    assert failed.failure_code == "channel_unsupported"
    assert failed.failure_reason


# --- provider status news -----------------------------------------------------------------------
@pytest.fixture
def sent_reply(shop: Shop, loopback: Channel) -> Message:
    customer = Sender(loopback_plugin.KIND, "pelanggan-7", "Ayu")
    ticket = writes(loopback, customer, "Halo kak").ticket
    reply = services.reply(ticket, shop.budi, "Halo kak Ayu, ada yang bisa dibantu?")
    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT
    return _message(reply.pk)


def _news(channel: Channel, message: Message, status: str, **extra: Any) -> bool:
    assert message.external_id is not None
    return services.apply_status(
        channel, StatusUpdate(external_id=message.external_id, status=status, **extra)
    )


def test_provider_statuses_only_move_forward(loopback: Channel, sent_reply: Message) -> None:
    assert _news(loopback, sent_reply, "delivered")
    delivered = _message(sent_reply.pk)
    assert delivered.delivery_status == DeliveryStatus.DELIVERED
    assert delivered.delivered_at is not None

    assert _news(loopback, sent_reply, "read")
    read = _message(sent_reply.pk)
    assert read.delivery_status == DeliveryStatus.READ
    assert read.read_at is not None

    # Late news changes nothing: a 'delivered' or 'sent' after 'read', a failure after read.
    for late in ("delivered", "sent", "failed"):
        assert _news(loopback, sent_reply, late)
        again = _message(sent_reply.pk)
        assert again.delivery_status == DeliveryStatus.READ
        assert again.delivered_at == delivered.delivered_at
    kinds = Event.objects.filter(subject_type="message", subject_id=sent_reply.pk)
    assert sorted(kinds.values_list("kind", flat=True)) == [
        "message.delivered",
        "message.queued",
        "message.read",
        "message.sent",
    ]


def test_a_read_receipt_before_the_delivery_receipt(loopback: Channel, sent_reply: Message) -> None:
    assert _news(loopback, sent_reply, "read")
    assert _news(loopback, sent_reply, "delivered")
    message = _message(sent_reply.pk)
    assert message.delivery_status == DeliveryStatus.READ
    assert message.delivered_at is not None  # read implies delivered


def test_a_failure_report_carries_the_providers_reason(
    loopback: Channel, sent_reply: Message
) -> None:
    assert _news(
        loopback,
        sent_reply,
        "failed",
        error_code="131047",
        error_reason="More than 24 hours have passed since the customer last replied.",
    )
    failed = _message(sent_reply.pk)
    assert failed.delivery_status == DeliveryStatus.FAILED
    assert failed.failure_code == "131047"
    assert "24 hours" in failed.failure_reason
    # A 'delivered' that arrives after the failure does not resurrect it.
    assert _news(loopback, sent_reply, "delivered")
    assert _message(sent_reply.pk).delivery_status == DeliveryStatus.FAILED


def test_news_about_an_unknown_message_is_kept_and_tried_again(
    shop: Shop, loopback: Channel
) -> None:
    customer = Sender(loopback_plugin.KIND, "pelanggan-8", "Tono")
    ticket = writes(loopback, customer, "Halo").ticket
    reply = services.reply(ticket, shop.budi, "Halo kak Tono")
    provider_id = f"loop.{reply.pk}"
    # The provider reports delivery before our send call has returned its id.
    assert not services.apply_status(loopback, StatusUpdate(provider_id, "delivered"))

    delivery = channels.store_delivery(
        loopback,
        loopback_plugin.body(statuses=[{"id": provider_id, "status": "delivered"}]),
        process=False,
    )
    before = timezone.now()
    channels.process(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.RECEIVED  # not done yet
    assert delivery.attempts == 1
    [again] = DBTaskResult.objects.filter(task_path="loket.channels.tasks.process_delivery")
    assert again.args_kwargs["args"] == [delivery.pk]
    assert again.run_after > before

    # Our send finishes; the retried delivery now finds the message.
    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT
    channels.process(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PROCESSED
    assert _message(reply.pk).delivery_status == DeliveryStatus.DELIVERED


def test_news_about_a_message_that_never_appears_is_given_up(loopback: Channel) -> None:
    delivery = channels.store_delivery(
        loopback,
        loopback_plugin.body(statuses=[{"id": "loop.nope", "status": "read"}]),
        process=False,
    )
    for _attempt in range(channels.UNKNOWN_STATUS_RETRIES + 1):
        channels.process(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PROCESSED
    retries = DBTaskResult.objects.filter(task_path="loket.channels.tasks.process_delivery")
    assert retries.count() == channels.UNKNOWN_STATUS_RETRIES


# --- the real worker ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_a_reply(
    shop: Shop, mail_channel: Channel, smtp_server: SmtpServer
) -> None:
    ticket = _rudis_ticket(mail_channel)
    reply = services.reply(ticket, shop.wati, "Masih ada kak, dikirim hari ini.")
    [task] = _deliver_tasks()  # enqueued when the reply was committed

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.return_value == DeliveryStatus.SENT
    [mail] = smtp_server.mails
    assert mail["Subject"] == f"Re: Tanya stok [#{ticket.number}]"
    sent = _message(reply.pk)
    assert sent.delivery_status == DeliveryStatus.SENT
    assert mail["Message-ID"] == f"<{sent.external_id}>"


@pytest.mark.django_db(transaction=True)
def test_a_slow_send_of_an_old_message_is_not_sent_twice(
    shop: Shop, mail_channel: Channel, smtp_server: SmtpServer
) -> None:
    # The reply waited a while (the mail server was down); now a send is in progress and
    # slow, just when the scheduler looks for messages a crashed worker left 'sending'.
    reply = services.reply(_rudis_ticket(mail_channel), shop.wati, "Masih ada kak")
    Message.objects.filter(pk=reply.pk).update(created_at=timezone.now() - timedelta(hours=1))
    smtp_server.hold = True

    def send() -> None:
        try:
            services.deliver_now(reply.pk)
        finally:
            db.connection.close()

    worker = threading.Thread(target=send)
    worker.start()
    try:
        assert smtp_server.arrived.wait(30)

        assert services.requeue_stuck() == 0  # this send is alive, not stuck
    finally:
        smtp_server.release.set()
        worker.join(30)

    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT  # a duplicate task
    assert len(smtp_server.mails) == 1
    assert _message(reply.pk).delivery_status == DeliveryStatus.SENT


def test_a_send_left_behind_by_a_crashed_worker_is_queued_again(
    shop: Shop,
    mail_channel: Channel,
    smtp_server: SmtpServer,
    time_machine: TimeMachineFixture,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    reply = services.reply(_rudis_ticket(mail_channel), shop.wati, "Masih ada kak")
    # A worker claimed the message and died before sending it.
    Message.objects.filter(pk=reply.pk).update(
        delivery_status=DeliveryStatus.SENDING, sending_since=timezone.now(), attempts=1
    )
    time_machine.shift(timedelta(minutes=9))
    assert services.requeue_stuck() == 0
    time_machine.shift(timedelta(minutes=2))

    assert services.requeue_stuck() == 1

    assert _message(reply.pk).delivery_status == DeliveryStatus.QUEUED
    assert [t.args_kwargs["args"] for t in _deliver_tasks()] == [[reply.pk]]
    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT
    assert len(smtp_server.mails) == 1


def test_a_provider_that_names_the_wait_is_retried_after_that_wait(
    shop: Shop, loopback: Channel, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    ticket = writes(loopback, Sender(loopback_plugin.KIND, "pelanggan-8", "Tono"), "Halo").ticket
    reply = services.reply(ticket, shop.budi, "Halo kak Tono")
    loopback_plugin.LoopbackAdapter.next_errors.append(
        DeliveryError("rate_limited", "Too fast", retryable=True, retry_after=42)
    )
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_now(reply.pk) == DeliveryStatus.QUEUED
    retry = _deliver_tasks()[-1]
    assert retry.run_after is not None
    assert before + timedelta(seconds=41) < retry.run_after < before + timedelta(seconds=44)
    queued = _message(reply.pk)
    assert (queued.attempts, queued.failure_code) == (1, "rate_limited")


def test_a_message_held_back_by_our_own_limiter_does_not_use_up_its_attempts(
    shop: Shop,
    loopback: Channel,
    settings: Any,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    settings.LOKET_DELIVERY_MAX_ATTEMPTS = 2
    ticket = writes(loopback, Sender(loopback_plugin.KIND, "pelanggan-9", "Tini"), "Halo").ticket
    reply = services.reply(ticket, shop.budi, "Halo kak Tini")
    held = DeliveryError("throttled", "Waiting for the rate limit", deferred=True, retry_after=0.5)
    loopback_plugin.LoopbackAdapter.next_errors.extend([held, held, held, held])
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=False):
            assert services.deliver_now(reply.pk) == DeliveryStatus.QUEUED
    waiting = _message(reply.pk)
    assert (waiting.attempts, waiting.failure_code, waiting.failure_reason) == (0, "", "")
    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT
    assert _message(reply.pk).attempts == 1
