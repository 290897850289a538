"""Turns at SQLite's one write lock for the two busiest writers: the webhook and the drain.

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps
1, 2, 5, 10 ... 100 ms between tries. A task worker that writes almost all the time (the
drain, under a flood of messages) is nearly always holding the lock when a waiting webhook
writer wakes up, and acknowledgements then wait seconds. Here both take turns through a lock
file instead: the kernel wakes the waiter the moment the lock is released, and the drain
pauses a little between its batches so that a waiting webhook gets in. A process that dies
releases its turn with it. PostgreSQL, and an in-memory SQLite database, need none of this.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_local = threading.local()


def _lock_file() -> int | None:
    """This thread's descriptor of the lock file (flock excludes by open file, so each
    thread opens its own); None when turns are not needed."""
    fd: int | None = getattr(_local, "fd", None)
    if fd is not None:
        return fd
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or name == ":memory:" or "mode=memory" in name:
        return None
    path = f"{name}-turn"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    _local.fd = fd
    return fd


@contextmanager
def turn() -> Iterator[None]:
    """Hold the turn for one write transaction (open the transaction inside)."""
    fd = _lock_file()
    if fd is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


# SQLite's default: the committing connection checkpoints once the WAL holds this many pages.
AUTOCHECKPOINT_PAGES = 1000


@contextmanager
def checkpoints_outside_turns() -> Iterator[None]:
    """For a writer that takes many turns in a row (the drain): its commits do not run the
    WAL checkpoint, which writes pages back and syncs the database file while the turn is
    still held; ``checkpoint()`` runs it between turns instead, when nobody waits on it."""
    if _lock_file() is None:
        yield
        return
    _set_autocheckpoint(0)
    try:
        yield
    finally:
        _set_autocheckpoint(AUTOCHECKPOINT_PAGES)
        checkpoint()


def checkpoint() -> None:
    """A passive checkpoint (never waits for, nor blocks, a writer). Outside a turn."""
    if _lock_file() is not None and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _set_autocheckpoint(pages: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
