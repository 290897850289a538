"""Delivering signed webhooks the way Meta does: in the background, retried on non-2xx.

One worker thread takes the jobs in the order they are due, so a scheduled ``read`` can be
made to overtake its ``delivered`` (the out-of-order knob). Each POST body is encoded and
signed once, over the exact bytes sent.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from loket.channels.whatsapp.emulator import wire
from loket.channels.whatsapp.emulator.state import State

log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """One POST of a webhook, as the emulator's log shows it."""

    job: int
    url: str
    body: bytes
    signature: str
    status: int | None  # None: no answer (connection refused, timeout)
    error: str = ""
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Job:
    id: int
    payload: dict[str, Any]
    kind: str  # "message", "status"...
    on_attempt: Callable[[], None] | None = None
    attempts: int = 0
    delivered: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    first_try: threading.Event = field(default_factory=threading.Event)


class Dispatcher:
    def __init__(self, state: State) -> None:
        self.state = state
        self.log: list[Attempt] = []
        self._queue: list[tuple[float, int, Job]] = []
        self._ids = itertools.count(1)
        self._wake = threading.Condition()
        self._stopped = False
        self._client = httpx.Client(
            timeout=10, headers={"User-Agent": "facebookexternalua", "Accept": "*/*"}
        )
        self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
        self._thread.start()

    def post(
        self,
        payload: dict[str, Any],
        *,
        delay: float = 0.0,
        kind: str = "",
        on_attempt: Callable[[], None] | None = None,
    ) -> Job:
        """Queue a webhook; ``on_attempt`` runs when it is first sent (the phone "did" it)."""
        job = Job(next(self._ids), payload, kind, on_attempt)
        self._push(job, delay)
        if self.state.knobs.duplicates:
            self._push(Job(next(self._ids), payload, kind), delay + 0.05)
        return job

    def _push(self, job: Job, delay: float) -> None:
        with self._wake:
            heapq.heappush(self._queue, (time.monotonic() + delay, job.id, job))
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _due, _id, job = heapq.heappop(self._queue)
            try:
                self._attempt(job)
            except Exception:  # a bug here must not stop every later webhook
                log.exception("webhook job %s failed", job.id)
                job.done.set()
                job.first_try.set()

    def _attempt(self, job: Job) -> None:
        if job.attempts == 0 and job.on_attempt is not None:
            job.on_attempt()
        job.attempts += 1
        config = self.state.config
        body = wire.encode(job.payload)
        signature = wire.sign(body, config.app_secret)
        status: int | None = None
        error = ""
        if not config.webhook_url:
            error = "no webhook URL configured"
        else:
            try:
                response = self._client.post(
                    config.webhook_url,
                    content=body,
                    headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
                )
                status = response.status_code
                if status >= 300:
                    error = response.text[:300]
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        attempt = Attempt(job.id, config.webhook_url, body, signature, status, error)
        with self.state.lock:
            self.log.append(attempt)
        self.state.touch()
        job.first_try.set()
        delays = self.state.knobs.retry_delays
        if attempt.ok:
            job.delivered = True
            job.done.set()
        elif config.webhook_url and job.attempts <= len(delays):
            log.info("webhook %s: %s, retrying", job.id, status or error)
            self._push(job, delays[job.attempts - 1])
        else:
            if config.webhook_url:
                log.warning("webhook %s given up after %s attempts", job.id, job.attempts)
            job.done.set()
