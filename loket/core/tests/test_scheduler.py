"""The scheduler: one leader by lease, housekeeping jobs, a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from time_machine import TimeMachineFixture

from loket.audit.models import Event
from loket.channels import services as channels
from loket.channels.models import DeliveryState
from loket.conftest import Shop
from loket.core import clock
from loket.core.models import Lease
from loket.core.scheduler import LEASE_NAME, Scheduler
from loket.core.tests.processes import Running, migrated_data_dir
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message

MAIL = (
    b"From: Rudi Hartono <rudi@contoh.co.id>\r\nSubject: Tanya stok\r\n"
    b"Message-ID: <stuck-1@contoh.co.id>\r\n\r\nKain parang masih ada?\r\n"
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def queued(task_path: str, arg: int) -> int:
    return sum(
        1
        for call in DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path=task_path
        ).values_list("args_kwargs", flat=True)
        if call["args"] == [arg]
    )


@pytest.mark.django_db
def test_only_the_lease_holder_works_and_another_takes_over_after_release() -> None:
    first = Scheduler(holder="host-a:1")
    second = Scheduler(holder="host-b:2")
    assert first.tick() != {}
    assert second.tick() == {}  # stands by
    assert Lease.objects.get(name=LEASE_NAME).holder == "host-a:1"
    first.release()
    assert second.tick() != {}
    assert Lease.objects.get(name=LEASE_NAME).holder == "host-b:2"


@pytest.mark.django_db
def test_a_lease_left_by_a_dead_leader_expires(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(clock.now(), tick=False)
    dead = Scheduler(holder="dead:1", lease_ttl=timedelta(seconds=30))
    assert dead.lead()
    heir = Scheduler(holder="heir:2")
    assert not heir.lead()
    time_machine.shift(timedelta(seconds=31))
    assert heir.lead()


def test_a_message_stuck_in_sending_goes_back_to_the_queue(
    shop: Shop, time_machine: TimeMachineFixture, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = shop.whatsapp_from_dewi("Kak, resi saya mana?")
    with django_capture_on_commit_callbacks(execute=False):
        message = tickets.reply(ticket, shop.budi, "Sebentar ya kak, kami cek.")
    # A worker claimed it and died.
    Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.SENDING)
    time_machine.move_to(clock.now() + timedelta(minutes=11), tick=False)

    done = Scheduler(holder="test").tick(force=True)

    assert done["requeue_stuck_messages"] == 1
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.QUEUED
    assert queued("loket.tickets.tasks.deliver", message.pk) == 1


def test_a_delivery_nobody_processed_is_enqueued_again_once(
    shop: Shop, time_machine: TimeMachineFixture
) -> None:
    delivery = channels.store_delivery(shop.email, MAIL, process=False)  # the enqueue was lost
    scheduler = Scheduler(holder="test")
    assert scheduler.tick(force=True)["requeue_received_deliveries"] == 0  # too fresh

    time_machine.move_to(clock.now() + timedelta(minutes=2), tick=False)
    assert scheduler.tick(force=True)["requeue_received_deliveries"] == 1
    assert queued("loket.channels.tasks.process_delivery", delivery.pk) == 1
    # The worker may just be busy: not enqueued again on the next round.
    assert scheduler.tick(force=True)["requeue_received_deliveries"] == 0
    assert queued("loket.channels.tasks.process_delivery", delivery.pk) == 1

    channels.process(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PROCESSED


@pytest.mark.django_db
def test_old_finished_task_results_are_pruned_recent_and_failed_ones_kept() -> None:
    now = clock.now()

    def result(status: str, age: timedelta) -> DBTaskResult[Any, Any]:
        return DBTaskResult.objects.create(
            status=status,
            args_kwargs={"args": [], "kwargs": {}},
            task_path="loket.tickets.tasks.deliver",
            backend_name="default",
            run_after=now - age,
            finished_at=now - age,
        )

    old_success = result(TaskResultStatus.SUCCESSFUL, timedelta(days=3))
    new_success = result(TaskResultStatus.SUCCESSFUL, timedelta(hours=3))
    old_failure = result(TaskResultStatus.FAILED, timedelta(days=3))
    ancient_failure = result(TaskResultStatus.FAILED, timedelta(days=20))

    assert Scheduler(holder="test").tick(force=True)["prune_task_results"] == 2

    left = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert left == {new_success.pk, old_failure.pk}
    assert old_success.pk not in left
    assert ancient_failure.pk not in left


@pytest.mark.django_db
def test_events_are_sealed_by_the_scheduler_on_postgresql() -> None:
    event = Event.objects.create(created_at=clock.now(), kind="test.unsealed")
    done = Scheduler(holder="test").tick(force=True)
    event.refresh_from_db()
    if connection.vendor == "postgresql":
        assert done["seal"] >= 1
        assert event.seq is not None
    else:
        # SQLite seals inside the writing transaction; the scheduler leaves it alone.
        assert "seal" not in done
        assert event.seq is None


def test_scheduler_stops_cleanly_on_sigterm_and_gives_up_the_lease(tmp_path: Path) -> None:
    data_dir = migrated_data_dir(tmp_path / "data")
    running = Running(data_dir, "scheduler", "--interval", "0.2")
    try:
        running.wait_for_line("leads")
        assert running.stop(signal.SIGTERM) == 0
    finally:
        running.kill()
    assert "stopped" in running.output
    with sqlite3.connect(data_dir / "loket.sqlite3") as db:
        holder = db.execute("SELECT holder FROM core_lease WHERE name = ?", [LEASE_NAME]).fetchone()
    assert holder == ("",)
