"""Turns at SQLite's write lock: one holder at a time, across threads and processes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection

from loket.core import writerturn


@pytest.fixture
def on_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Turns as for an SQLite file (the test database lives in memory, which needs none)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "loket.sqlite3"))
    monkeypatch.setattr(writerturn, "_local", threading.local())
    return tmp_path / "loket.sqlite3-turn"


def test_a_second_writer_waits_for_the_first_to_finish(on_file: Path) -> None:
    events: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def first() -> None:
        with writerturn.turn():
            events.append("first in")
            holding.set()
            release.wait(5)
            events.append("first out")

    def second() -> None:
        holding.wait(5)
        with writerturn.turn():
            events.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    holding.wait(5)
    # The second is blocked in the kernel until the first lets go.
    threads[1].join(0.2)
    assert threads[1].is_alive()
    release.set()
    for thread in threads:
        thread.join(5)
    assert events == ["first in", "first out", "second in"]
    assert on_file.exists()


@pytest.mark.django_db
def test_no_turns_for_a_database_in_memory() -> None:
    if connection.vendor == "sqlite" and "memory" not in str(connection.settings_dict["NAME"]):
        pytest.skip("the test database is a file here")
    with writerturn.turn():
        pass
    assert writerturn._lock_file() is None


@pytest.mark.django_db
def test_a_long_writer_checkpoints_between_its_turns(on_file: Path) -> None:
    def autocheckpoint() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return int(cursor.fetchone()[0])

    with writerturn.checkpoints_outside_turns():
        assert autocheckpoint() == 0  # its commits leave the checkpoint ...
        writerturn.checkpoint()  # ... to these, taken between turns
    assert autocheckpoint() == writerturn.AUTOCHECKPOINT_PAGES
