"""`loket run` keeps the web server, the worker and the scheduler alive, and stops them all."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest

from loket.core.supervisor import Program, Supervisor
from loket.core.tests.processes import (
    Running,
    alive,
    free_port,
    migrated_data_dir,
    pids_in,
    run_loket,
)


@pytest.fixture
def loket_run(tmp_path: Path) -> Iterator[tuple[Running, int]]:
    data_dir = migrated_data_dir(tmp_path / "data")
    port = free_port()
    running = Running(data_dir, "run", "--no-browser", "--port", str(port))
    yield running, port
    running.kill()


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return int(response.status)


def test_run_serves_restarts_a_crashed_child_and_stops_everything(
    loket_run: tuple[Running, int],
) -> None:
    running, port = loket_run
    running.wait_for_line("Loket is ready: ")
    assert get(f"http://127.0.0.1:{port}/masuk/") == 200
    [web] = pids_in(running.lines, "web")
    [worker] = pids_in(running.lines, "worker")
    [scheduler] = pids_in(running.lines, "scheduler")
    assert all(alive(pid) for pid in (web, worker, scheduler))

    # The worker dies hard: the crash is logged and a new worker takes its place.
    os.kill(worker, signal.SIGKILL)
    running.wait_for_line(f"worker (pid {worker}) killed by SIGKILL")
    running.wait_for(lambda: len(pids_in(running.lines, "worker")) == 2, "a new worker")
    new_worker = pids_in(running.lines, "worker")[1]
    assert new_worker != worker
    assert alive(new_worker)
    assert get(f"http://127.0.0.1:{port}/masuk/") == 200  # the web server never noticed

    # Ctrl-C: every child stops, the supervisor exits cleanly.
    assert running.stop(signal.SIGINT) == 0
    assert "Loket stopped." in running.output
    for pid in (web, new_worker, scheduler):
        assert not alive(pid), f"pid {pid} outlived the supervisor"


def test_run_refuses_a_port_in_use(tmp_path: Path) -> None:
    data_dir = migrated_data_dir(tmp_path / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_loket(data_dir, "run", "--no-browser", "--port", str(port))
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr


PYTHON = sys.executable


def test_supervisor_restarts_with_backoff_and_kills_what_ignores_sigterm(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without Django: a child that keeps crashing and one that ignores SIGTERM."""
    out = StringIO()
    flaky = Program("flaky", [PYTHON, "-c", "print('hello', flush=True); raise SystemExit(3)"])
    stubborn = Program(
        "stubborn",
        [
            PYTHON,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(120)",
        ],
    )
    # Stop once the flaky child has been restarted twice (a safety net stops it regardless).
    supervisor = Supervisor(
        [flaky, stubborn],
        out=out,
        backoff_base=0.05,
        backoff_cap=0.2,
        stop_timeout=0.5,
        ready_check=lambda: out.getvalue().count("flaky    | hello") >= 3,
        on_ready=lambda: supervisor.stop(),  # noqa: PLW0108 - defined in this very call
    )
    safety = threading.Timer(30, supervisor.stop)
    safety.start()
    try:
        with caplog.at_level(logging.INFO, logger="loket.supervisor"):
            assert supervisor.run() == 0
    finally:
        safety.cancel()

    assert out.getvalue().count("flaky    | hello") >= 3
    assert "stubborn | ready" in out.getvalue()
    crashes = [r.getMessage() for r in caplog.records if "exited with code 3" in r.getMessage()]
    assert len(crashes) >= 2
    assert "restarting in" in crashes[0]
    assert any("did not stop in time; killing it" in r.getMessage() for r in caplog.records)
    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("started ")]
    pids = [int(m.split("(pid ")[1].rstrip(")")) for m in started]
    assert not any(alive(pid) for pid in pids)
