"""Periodic housekeeping, run by exactly one scheduler at a time (a database lease).

Every job is safe to run twice; the lease only keeps the work from being done by every
replica. A job that raises is logged and does not stop the others.

Jobs (dotted paths, imported when they first run, so this spine module depends on no app):
- seal the event log (PostgreSQL; SQLite seals in the writing transaction),
- put outbound messages left in "sending" by a crashed worker back in the queue,
- re-enqueue raw deliveries still "received" a minute after they arrived (a lost enqueue),
- prune finished task results of the database task backend,
- delete presence heartbeats (who is on which ticket) older than an hour,
- have each WhatsApp channel's access token checked (every 6 hours).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.tasks.base import TaskResultStatus
from django.utils.module_loading import import_string

from loket.core import clock, leases

log = logging.getLogger("loket.scheduler")

LEASE_NAME = "scheduler"
DELIVERY_GRACE = timedelta(minutes=1)
# A delivery re-enqueued once is not re-enqueued again for this long (the worker may be busy).
DELIVERY_REENQUEUE_EVERY = 300.0
DELIVERY_BATCH = 200
TASK_RESULTS_KEEP = timedelta(days=2)
FAILED_TASK_RESULTS_KEEP = timedelta(days=14)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Job:
    name: str
    every: float  # seconds
    run: Callable[[], int]
    vendors: frozenset[str] = frozenset()  # empty: every database
    last: float = field(default=float("-inf"))


class Scheduler:
    def __init__(
        self,
        *,
        interval: float = 5.0,
        lease_ttl: timedelta | None = None,
        holder: str | None = None,
    ) -> None:
        self.interval = interval
        self.lease_ttl = lease_ttl or timedelta(seconds=max(30.0, interval * 6))
        self.holder = holder or default_holder()
        self.leader = False
        self._recently_enqueued: dict[int, float] = {}
        self.jobs = [
            Job("seal", interval, _call("loket.audit.services.seal"), frozenset({"postgresql"})),
            Job("requeue_stuck_messages", 30.0, _call("loket.tickets.services.requeue_stuck")),
            Job("requeue_received_deliveries", 30.0, self.requeue_received_deliveries),
            Job("prune_task_results", 3600.0, prune_task_results),
            Job("forget_stale_presence", 3600.0, _call("loket.presence.services.forget_stale")),
            Job(
                "check_whatsapp_tokens",
                6 * 3600.0,
                _call("loket.channels.whatsapp.health.check_due"),
            ),
        ]

    # --- leadership ---------------------------------------------------------------------------
    def lead(self) -> bool:
        """Take or renew the lease; logs when leadership changes hands."""
        leader = leases.acquire(LEASE_NAME, self.holder, self.lease_ttl)
        if leader != self.leader:
            if leader:
                log.info("scheduler %s leads", self.holder)
            else:
                log.info("scheduler %s stands by: another scheduler holds the lease", self.holder)
            self.leader = leader
        return leader

    def release(self) -> None:
        if self.leader:
            leases.release(LEASE_NAME, self.holder)
            self.leader = False

    # --- work ---------------------------------------------------------------------------------
    def tick(self, *, force: bool = False) -> dict[str, int]:
        """One round: renew the lease, then run the jobs that are due. Returns their counts."""
        _refresh_connection()
        if not self.lead():
            return {}
        done: dict[str, int] = {}
        now = time.monotonic()
        for job in self.jobs:
            if job.vendors and connection.vendor not in job.vendors:
                continue
            if not force and now - job.last < job.every:
                continue
            job.last = now
            try:
                done[job.name] = job.run()
            except Exception:
                log.exception("scheduler job %s failed", job.name)
                _refresh_connection()
                continue
            if done[job.name]:
                log.info("%s: %s", job.name, done[job.name])
        return done

    def run(self, stop: threading.Event) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set; then give up the lease."""
        log.info("scheduler %s started (every %.1f s)", self.holder, self.interval)
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # the database went away: keep trying, do not die
                    log.exception("scheduler tick failed")
                    self.leader = False
                    _refresh_connection()
                stop.wait(self.interval)
        finally:
            try:
                self.release()
            except Exception:
                log.exception("could not release the scheduler lease")
            log.info("scheduler %s stopped", self.holder)

    def requeue_received_deliveries(self) -> int:
        """Deliveries nobody processed (the enqueue after commit was lost): enqueue again."""
        from loket.channels.models import Delivery, DeliveryState
        from loket.channels.services import enqueue_processing

        cutoff = clock.now() - DELIVERY_GRACE
        ids = list(
            Delivery.objects.filter(state=DeliveryState.RECEIVED, received_at__lt=cutoff)
            .order_by("received_at")
            .values_list("pk", flat=True)[:DELIVERY_BATCH]
        )
        now = time.monotonic()
        self._recently_enqueued = {
            pk: at
            for pk, at in self._recently_enqueued.items()
            if now - at < DELIVERY_REENQUEUE_EVERY
        }
        count = 0
        for pk in ids:
            if pk in self._recently_enqueued:
                continue
            enqueue_processing(pk)
            self._recently_enqueued[pk] = now
            count += 1
        return count


def _refresh_connection() -> None:
    """Drop a broken or too old database connection between rounds (never mid-transaction)."""
    if not connection.in_atomic_block:
        close_old_connections()


def _call(path: str) -> Callable[[], int]:
    def run() -> int:
        result = import_string(path)()
        return int(result or 0)

    return run


def prune_task_results() -> int:
    """Delete finished results of the database task backend (others prune themselves)."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return 0
    from django_tasks_db.models import DBTaskResult

    now = clock.now()
    finished = DBTaskResult.objects.finished()
    done_before = finished.filter(
        status=TaskResultStatus.SUCCESSFUL, finished_at__lt=now - TASK_RESULTS_KEEP
    )
    failed_before = finished.filter(
        status=TaskResultStatus.FAILED, finished_at__lt=now - FAILED_TASK_RESULTS_KEEP
    )
    deleted = done_before.delete()[0] + failed_before.delete()[0]
    return int(deleted)
