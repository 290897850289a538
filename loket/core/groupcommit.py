"""One thread that runs small write jobs, as many as are waiting in one transaction.

The webhook's acknowledgement waits for its raw body to be committed. Committing each one
on its own costs a connection, a transaction and a commit per request; when requests come
in together, one thread taking all that are waiting and committing them at once (group
commit) costs one of each per batch, and on SQLite, where one writer at a time gets in,
it also stops request threads from queueing on the database's lock. A job's answer is
given only after its batch is committed: what was acknowledged is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from loket.core import writerturn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Job:
    fn: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class GroupCommit:
    """Run ``fn`` in the writer thread, inside a transaction shared with its neighbours.

    A job that raises spoils the batch: it is rolled back and each job runs again in a
    transaction of its own, so only the failing one sees its error.
    """

    def __init__(
        self, name: str, *, max_batch: int = 64, on_connect: Callable[[], None] | None = None
    ) -> None:
        self.name = name
        self.max_batch = max_batch
        self.on_connect = on_connect  # run in the thread each time it opens its connection
        # Lookups a job may keep for the rest of its batch (cleared before each batch).
        self.cache: dict[Any, Any] = {}
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def run(self, fn: Callable[[], Any], *, timeout: float) -> Any:
        """``fn()``'s result once committed; TimeoutError after ``timeout`` seconds (the job
        may still be committed later)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._start()
        self._queue.put(_Job(fn, loop, future))
        return await asyncio.wait_for(future, timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Let the thread finish what is queued, close its connection and end (a later
        ``run`` starts it again). For tests, whose database must be free to drop."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None and thread.is_alive():
                self._queue.put(None)
                thread.join(timeout)

    def _serve(self) -> None:
        try:
            while self._serve_batch():
                pass
        finally:
            connection.close()

    def _serve_batch(self) -> bool:
        first = self._queue.get()
        if first is None:
            return False
        jobs = [first]
        stopping = False
        while len(jobs) < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stopping = True
                break
            jobs.append(job)
        try:
            self._batch(jobs)
        except Exception:  # never let the writer die: answer each job alone
            log.exception("%s: batch of %s failed", self.name, len(jobs))
            connection.close()
            for job in jobs:
                self._alone(job)
        return not stopping

    def _connect(self) -> None:
        if connection.vendor != "sqlite":
            # What Django does between requests: a server connection past CONN_MAX_AGE, or
            # broken, is replaced (an SQLite file does not go stale).
            connection.close_if_unusable_or_obsolete()
        if connection.connection is None:
            connection.ensure_connection()
            if self.on_connect is not None:
                self.on_connect()

    def _batch(self, jobs: list[_Job]) -> None:
        self.cache.clear()
        self._connect()
        with writerturn.turn(), transaction.atomic():
            results = [job.fn() for job in jobs]
        for job, result in zip(jobs, results, strict=True):
            _answer(job, result, None)

    def _alone(self, job: _Job) -> None:
        self.cache.clear()
        try:
            self._connect()
            with writerturn.turn(), transaction.atomic():
                result = job.fn()
        except Exception as exc:
            if connection.vendor != "sqlite" or not connection.is_usable():
                connection.close()  # reconnect for the next job
            _answer(job, None, exc)
        else:
            _answer(job, result, None)


def _answer(job: _Job, result: Any, error: BaseException | None) -> None:
    def resolve() -> None:
        if job.future.done():  # the request gave up waiting
            return
        if error is None:
            job.future.set_result(result)
        else:
            job.future.set_exception(error)

    with contextlib.suppress(RuntimeError):  # a closed event loop: nobody is waiting
        job.loop.call_soon_threadsafe(resolve)
