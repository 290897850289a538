"""WhatsApp's throughput limits, kept across workers through the database (§1.12): the
number's rate, the per-recipient pair limit, the 131056 backoff, and a burst of queued
replies that all go out, in order, none lost, measured on a controlled clock."""

from __future__ import annotations

import bisect
import itertools
import json
import subprocess
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django import db
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from time_machine import TimeMachineFixture

from loket.channels.items import InboundMessage, Sender
from loket.channels.models import Channel
from loket.channels.whatsapp import ratelimit
from loket.channels.whatsapp.tests.test_graph_fake import FakeGraph, graph_error, running, sending
from loket.conftest import Shop
from loket.core.models import Counter
from loket.core.tests.processes import loket_argv, loket_env, migrated_data_dir, run_loket
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message

pytestmark = pytest.mark.django_db

CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DEWI = "6281234567890"


@pytest.fixture
def clock(time_machine: TimeMachineFixture, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A frozen clock that a worker's sleep moves forward; returns the sleeps."""
    time_machine.move_to(START, tick=False)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 4))
        time_machine.shift(timedelta(seconds=seconds))

    monkeypatch.setattr(ratelimit, "sleep", sleep)
    return slept


def _channel(shop: Shop, **config: Any) -> Channel:
    shop.whatsapp.config = {**shop.whatsapp.config, **config}
    shop.whatsapp.save()
    return shop.whatsapp


def test_sends_on_one_number_are_spaced_to_its_rate(shop: Shop, clock: list[float]) -> None:
    channel = _channel(shop)
    for i in range(5):
        ratelimit.acquire(channel, f"62812000000{i}")
    assert clock == [0.0125] * 4  # 80 a second


def test_a_turn_beyond_the_wait_is_deferred_holding_its_slot(
    shop: Shop, clock: list[float], time_machine: TimeMachineFixture
) -> None:
    channel = _channel(shop, rate_per_second=0.5)  # one every 2 seconds
    ratelimit.acquire(channel, DEWI)

    with pytest.raises(ratelimit.Deferred) as caught:
        ratelimit.acquire(channel, "6281200000001")

    deferred = caught.value
    assert (deferred.deferred, deferred.retryable, deferred.retry_after) == (True, True, 2.0)
    reserved = Counter.objects.get(name=ratelimit.number_name(channel)).value
    # Coming back at its slot, the message uses it: nothing new reserved, no wait.
    time_machine.shift(timedelta(seconds=2))
    ratelimit.acquire(channel, "6281200000001", held=deferred.slots)
    assert Counter.objects.get(name=ratelimit.number_name(channel)).value == reserved
    assert clock == []


def test_coming_back_early_defers_again_and_a_missed_slot_is_not_reused(
    shop: Shop, clock: list[float], time_machine: TimeMachineFixture
) -> None:
    channel = _channel(shop, rate_per_second=0.25)
    ratelimit.acquire(channel, DEWI)
    with pytest.raises(ratelimit.Deferred) as first:
        ratelimit.acquire(channel, "6281200000001")
    with pytest.raises(ratelimit.Deferred) as again:
        ratelimit.acquire(channel, "6281200000001", held=first.value.slots)
    assert again.value.slots == first.value.slots
    assert again.value.retry_after == 4.0

    time_machine.shift(timedelta(seconds=60))  # the worker was down: the slot passed unused
    before = Counter.objects.get(name=ratelimit.number_name(channel)).value
    ratelimit.acquire(channel, "6281200000001", held=first.value.slots)
    assert Counter.objects.get(name=ratelimit.number_name(channel)).value > before


def test_the_pair_limit_allows_a_burst_then_one_every_six_seconds(
    shop: Shop, clock: list[float]
) -> None:
    channel = _channel(shop, pair_burst=3)
    for _ in range(3):
        ratelimit.acquire(channel, DEWI)
    with pytest.raises(ratelimit.Deferred) as caught:
        ratelimit.acquire(channel, DEWI)
    assert caught.value.retry_after == pytest.approx(6.0, abs=0.05)  # 6 s after the first
    assert "number" not in caught.value.slots  # the number's slot waits for the pair's
    ratelimit.acquire(channel, "6281299990000")  # another customer is not held up


def test_a_multi_part_send_takes_one_slot_per_part(shop: Shop, clock: list[float]) -> None:
    channel = _channel(shop, pair_burst=3)
    ratelimit.acquire(channel, DEWI, cost=3)
    with pytest.raises(ratelimit.Deferred):
        ratelimit.acquire(channel, DEWI)
    ratelimit.acquire(channel, "6281299990000")
    assert clock == [0.0375]  # after the three parts on the number


def test_131056_holds_the_recipient_back_four_to_the_n_seconds(
    shop: Shop, clock: list[float], time_machine: TimeMachineFixture
) -> None:
    channel = _channel(shop)
    assert [ratelimit.strike(channel, DEWI) for _ in range(3)] == [4.0, 16.0, 64.0]
    with pytest.raises(ratelimit.Deferred) as caught:
        ratelimit.acquire(channel, DEWI)
    assert caught.value.retry_after == pytest.approx(64.0, abs=0.01)
    ratelimit.acquire(channel, "6281299990000")

    time_machine.shift(timedelta(hours=3))  # behaved for a while: starts again small
    assert ratelimit.strike(channel, DEWI) == 4.0
    assert max(ratelimit.strike(channel, DEWI) for _ in range(10)) == 4.0**ratelimit.MAX_STRIKES


def test_idle_recipients_are_forgotten(
    shop: Shop, clock: list[float], time_machine: TimeMachineFixture
) -> None:
    channel = _channel(shop)
    ratelimit.acquire(channel, DEWI)
    ratelimit.strike(channel, "6281299990000")
    time_machine.shift(timedelta(hours=3))
    ratelimit.acquire(channel, "6281277776666")
    assert ratelimit.prune() == 3  # two pair rows and a strike; the fresh one stays
    names = set(Counter.objects.filter(name__startswith="wa.").values_list("name", flat=True))
    assert names == {ratelimit.number_name(channel), ratelimit.pair_name(channel, "6281277776666")}


def test_131056_from_meta_is_retried_after_the_recipient_s_backoff(
    shop: Shop, clock: list[float], django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with running() as fake, sending():
        fake.configure(shop.whatsapp)
        ticket = shop.whatsapp_from_dewi("Halo kak")
        reply = tickets.reply(ticket, shop.budi, "Halo Dewi")
        fake.fail("POST", "/messages", graph_error(131056))
        with django_capture_on_commit_callbacks(execute=True):
            assert tickets.deliver_now(reply.pk) == DeliveryStatus.QUEUED
    [retry] = _deliver_tasks()
    assert retry.run_after == START + timedelta(seconds=4)
    assert Message.objects.get(pk=reply.pk).failure_code == "131056"


# --- a burst through the queue ------------------------------------------------------------------
DELIVER = "loket.tickets.tasks.deliver"


def _deliver_tasks() -> list[DBTaskResult[Any, Any]]:
    return list(DBTaskResult.objects.filter(task_path=DELIVER, status=TaskResultStatus.READY))


def _work(time_machine: TimeMachineFixture, capture: CaptureCallbacks) -> int:
    """One database worker: run each ready task in the queue's order; when none is ready,
    move the clock to the next one's time. Returns how many runs it took."""
    runs = 0
    while True:
        task = DBTaskResult.objects.ready().filter(task_path=DELIVER).first()
        if task is None:
            later = DBTaskResult.objects.filter(task_path=DELIVER, status=TaskResultStatus.READY)
            upcoming = later.order_by("run_after").first()
            if upcoming is None:
                return runs
            time_machine.move_to(upcoming.run_after, tick=False)
            continue
        DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.SUCCESSFUL)
        with capture(execute=True):
            tickets.deliver_now(task.args_kwargs["args"][0])
        runs += 1


def _most_in_any(times: list[float], window: float) -> int:
    return max(bisect.bisect_left(times, t + window) - i for i, t in enumerate(times))


@pytest.fixture
def fake(shop: Shop) -> Iterator[FakeGraph]:
    with running() as server, sending():
        server.configure(shop.whatsapp, pair_burst=5)
        yield server


def test_a_burst_of_200_replies_keeps_the_limits_and_loses_nothing(
    shop: Shop,
    *,
    fake: FakeGraph,
    clock: list[float],
    time_machine: TimeMachineFixture,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    monkeypatch.setattr(ratelimit, "MAX_WAIT", 0.05)  # defer rather than sleep, to test it
    customers = [f"6281300{i:06d}" for i in range(20)]
    ticket_of = {}
    for number in customers:
        item = InboundMessage(
            external_id=f"wamid.in.{number}",
            sender=Sender("phone", number, international=True),
            text="Halo",
        )
        ticket_of[number] = tickets.receive(shop.whatsapp, item).message.ticket
    queued: dict[str, list[int]] = defaultdict(list)
    for n in range(10):  # round by round, as agents answer
        for number in customers:
            time_machine.shift(timedelta(milliseconds=1))
            with django_capture_on_commit_callbacks(execute=True):
                reply = tickets.reply(ticket_of[number], shop.budi, f"Balasan {n + 1}")
            queued[number].append(reply.pk)
    assert len(_deliver_tasks()) == 200

    runs = _work(time_machine, django_capture_on_commit_callbacks)

    messages = Message.objects.filter(pk__in=[pk for pks in queued.values() for pk in pks])
    assert {m.delivery_status for m in messages} == {DeliveryStatus.SENT}
    assert {m.attempts for m in messages} == {1}  # waiting for the limit is not an attempt
    sends = fake.sent()
    assert len(sends) == 200
    assert len({m.external_id for m in messages}) == 200
    # In order for every customer.
    by_customer: dict[str, list[str]] = defaultdict(list)
    for body in sends:
        by_customer[body["to"]].append(body["text"]["body"])
    assert all(texts == [f"Balasan {n}" for n in range(1, 11)] for texts in by_customer.values())
    # The number's rate and the pair limit, on the server's (controlled) clock.
    seen = [s for s in fake.seen if s.path.endswith("/messages")]
    times = sorted(s.at for s in seen)
    assert _most_in_any(times, 1.0) <= 80
    for number in customers:
        own = sorted(s.at for s in seen if s.json["to"] == number)
        assert _most_in_any(own, 30.0) <= 5 + 5  # the burst, then one every 6 seconds
    assert times[-1] - times[0] >= 5 * 6 - 1  # the pair limit spread it over half a minute
    assert runs <= 3 * 200  # each message came back at most twice


@pytest.mark.django_db(transaction=True)
def test_workers_on_their_own_connections_never_get_the_same_slot(
    clock: list[float], monkeypatch: pytest.MonkeyPatch, vendor: str
) -> None:
    """Eight threads (each its own database connection, as worker processes would have)
    reserve at once: every slot is distinct and they are spaced exactly by the rate."""
    if vendor == "sqlite":
        # The test database is SQLite's shared-cache memory database, whose table locks are
        # not waited for (the file database in production waits: busy_timeout, WAL).
        pytest.skip("concurrent writers need PostgreSQL or a file database")
    monkeypatch.setattr(ratelimit, "MAX_WAIT", 0.0)
    channel = Channel.objects.create(kind="whatsapp", name="WA", config={"rate_per_second": 10})
    slots: list[int] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                try:
                    ratelimit.acquire(channel, f"62813{n:02d}{i:04d}")
                    taken = ratelimit._us(START)
                except ratelimit.Deferred as deferred:
                    taken = deferred.slots["number"]
                with lock:
                    slots.append(taken)
        except BaseException as exc:
            failures.append(exc)
        finally:
            db.connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    start = ratelimit._us(START)
    assert sorted(slots) == [start + k * 100_000 for k in range(80)]


RESERVE = """
import json, os, pathlib, time
from loket.channels.models import Channel
from loket.channels.whatsapp import ratelimit
from loket.core import clock
channel = Channel.objects.get(name="WA")
name = ratelimit.number_name(channel)
print("READY", flush=True)
go = pathlib.Path(os.environ["GO_FILE"])
while not go.exists():
    time.sleep(0.005)
slots = [
    ratelimit._reserve(name, 50_000, 0, cost=1, now=ratelimit._us(clock.now()))
    for _ in range(150)
]
print("SLOTS", json.dumps(slots), flush=True)
"""


def test_worker_processes_on_the_sqlite_file_never_get_the_same_slot(tmp_path: Path) -> None:
    """Four real processes on one SQLite file (WAL, busy timeout: the default install)
    reserve at once (20 a second); no two slots are closer than the rate allows."""
    data_dir = migrated_data_dir(tmp_path / "data")
    create = "from loket.channels.models import Channel; Channel.objects.create(name='WA')"
    assert run_loket(data_dir, "shell", "-c", create).returncode == 0
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            loket_argv("shell", "-c", RESERVE),
            env={**loket_env(data_dir), "GO_FILE": str(go)},
            cwd=data_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for child in children:  # all started and waiting: then all at once
        assert child.stdout is not None
        while (line := child.stdout.readline()) and line.strip() != "READY":
            pass
        assert line.strip() == "READY", child.stderr.read() if child.stderr else ""
    go.touch()
    slots: list[int] = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        [line] = [x for x in out.splitlines() if x.startswith("SLOTS ")]
        slots += json.loads(line.removeprefix("SLOTS "))
    slots.sort()
    assert len(slots) == 4 * 150
    assert min(b - a for a, b in itertools.pairwise(slots)) >= 50_000  # 20 a second
