"""Run the real ``loket`` command in a child process, on a throwaway SQLite data directory.

The database is migrated once per test process into a template directory and copied for each
test (migrating takes seconds; copying a file does not). Children always use SQLite in their
own data directory, even when the suite itself runs on PostgreSQL, and run outside the
repository so that a developer's ``.env`` cannot reach them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_template: Path | None = None


def loket_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LOKET_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(LOKET_DATA_DIR=str(data_dir), LOKET_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def loket_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "loket", *args]


def migrated_data_dir(target: Path) -> Path:
    """A data directory with a migrated, empty SQLite database."""
    global _template  # noqa: PLW0603 - one template per test process
    if _template is None:
        template = Path(tempfile.mkdtemp(prefix="loket-template-"))
        subprocess.run(
            loket_argv("migrate", "--verbosity", "0"),
            env=loket_env(template),
            cwd=template,
            check=True,
            timeout=180,
        )
        _template = template
        atexit.register(shutil.rmtree, template, ignore_errors=True)
    shutil.copytree(_template, target)
    return target


def run_loket(
    data_dir: Path, *args: str, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run one command to completion; stdout and stderr are captured as text."""
    result = subprocess.run(
        loket_argv(*args),
        env=loket_env(data_dir),
        cwd=data_dir,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Running:
    """A long-running ``loket`` process whose merged output is collected as it comes."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            loket_argv(*args),
            env=env or loket_env(data_dir),
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, found: Callable[[], bool], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found():
                return
            if self.proc.poll() is not None and not found():
                self._reader.join(timeout=2)
                if found():
                    return
                raise AssertionError(
                    f"exited ({self.proc.returncode}) before {what}:\n{self.output}"
                )
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output}")

    def wait_for_line(self, needle: str, timeout: float = 20) -> str:
        self.wait_for(lambda: any(needle in line for line in self.lines), repr(needle), timeout)
        return next(line for line in self.lines if needle in line)

    def stop(self, signum: int = signal.SIGINT, timeout: float = 20) -> int:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        """A test's cleanup: nothing may outlive the test (SIGTERM, then SIGKILL)."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def alive(pid: int) -> bool:
    """True while ``pid`` is a running process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def pids_in(lines: Sequence[str], name: str) -> list[int]:
    """The pids the supervisor reported for ``name`` ("started worker (pid 123)")."""
    marker = f"started {name} (pid "
    return [int(line.split(marker, 1)[1].split(")", 1)[0]) for line in lines if marker in line]
