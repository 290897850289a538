"""`loket run` also keeps the mailbox watcher running, and the inbound SMTP listener when
LOKET_SMTP_LISTEN says where."""

from __future__ import annotations

import smtplib
import sys
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from loket.core.management.commands.run import Command, smtp_listen
from loket.core.tests.processes import Running, free_port, loket_env, migrated_data_dir, pids_in


def names_and_argv(monkeypatch: pytest.MonkeyPatch, listen: str | None) -> dict[str, list[str]]:
    if listen is None:
        monkeypatch.delenv("LOKET_SMTP_LISTEN", raising=False)
    else:
        monkeypatch.setenv("LOKET_SMTP_LISTEN", listen)
    programs = Command().programs("127.0.0.1", 8000)
    return {program.name: list(program.argv) for program in programs}


def test_the_mailbox_watcher_is_always_one_of_the_programs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    programs = names_and_argv(monkeypatch, None)
    assert programs["email"] == [sys.executable, "-m", "loket", "email_fetch", "--watch"]
    assert "smtp" not in programs


def test_the_smtp_listener_runs_where_loket_smtp_listen_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    programs = names_and_argv(monkeypatch, "192.0.2.10:25")
    assert programs["smtp"][-5:] == ["serve", "--host", "192.0.2.10", "--port", "25"]
    assert "--lmtp" not in programs["smtp"]
    programs = names_and_argv(monkeypatch, "lmtp://127.0.0.1:2424")
    assert programs["smtp"][-6:] == ["serve", "--host", "127.0.0.1", "--port", "2424", "--lmtp"]
    assert smtp_listen(":2525") == ("127.0.0.1", 2525, False)
    assert smtp_listen("[::1]:2525") == ("::1", 2525, False)
    assert smtp_listen("smtp://[::1]:25") == ("::1", 25, False)
    assert smtp_listen("") is None
    for wrong in ("2525x", "mail.toko.id", "127.0.0.1:99999", "http://127.0.0.1:80"):
        with pytest.raises(CommandError, match="LOKET_SMTP_LISTEN"):
            smtp_listen(wrong)


def test_run_starts_the_watcher_and_the_listener(tmp_path: Path) -> None:
    data_dir = migrated_data_dir(tmp_path / "data")
    smtp_port = free_port()
    env = loket_env(data_dir, LOKET_SMTP_LISTEN=f"127.0.0.1:{smtp_port}")
    running = Running(data_dir, "run", "--no-browser", "--port", str(free_port()), env=env)
    try:
        running.wait_for_line("Loket is ready: ", timeout=60)
        # No email channel yet: the watcher waits instead of crashing (and being restarted).
        running.wait_for_line("waiting for one")
        running.wait_for_line(f"Listening for SMTP on 127.0.0.1:{smtp_port}")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            code, _banner = client.noop()
        assert code == 250
        assert len(pids_in(running.lines, "email")) == 1
        assert len(pids_in(running.lines, "smtp")) == 1
    finally:
        running.kill()
