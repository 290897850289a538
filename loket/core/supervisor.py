"""One parent for Loket's processes: start them, relay their output, restart a crashed one with
backoff, and stop them all cleanly.

Each child runs in its own process group (and session), so a terminal's Ctrl-C reaches only
the supervisor, which then stops the children in order: SIGTERM to each group, a grace period,
SIGKILL for whatever is left. On Linux a child also receives SIGTERM if the supervisor itself
dies without cleaning up (``PR_SET_PDEATHSIG``), so no orphan keeps the port or the database.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import IO

log = logging.getLogger("loket.supervisor")

_PR_SET_PDEATHSIG = 1


def _pdeathsig_setter() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
    prctl.restype = ctypes.c_int

    def set_pdeathsig() -> None:  # runs in the child between fork and exec: keep it tiny
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_pdeathsig


_SET_PDEATHSIG = _pdeathsig_setter()


@dataclass(frozen=True)
class Program:
    """A child to keep running: a name for the logs and the command line."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Child:
    program: Program
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    pending: bytes = b""


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """Keeps ``programs`` running until SIGINT, SIGTERM or SIGHUP, then stops them all.

    ``ready_check`` is polled until it returns True; ``on_ready`` then runs once (the caller
    prints the URL there, after the web server really answers).
    """

    def __init__(
        self,
        programs: Sequence[Program],
        *,
        out: IO[str] | None = None,
        stop_timeout: float = 10.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        stable_after: float = 30.0,
        ready_check: Callable[[], bool] | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        if len({p.name for p in programs}) != len(programs):
            raise ValueError("program names must be unique")
        self.children = [_Child(p) for p in programs]
        self.out = out or sys.stdout
        self.stop_timeout = stop_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stable_after = stable_after
        self.ready_check = ready_check
        self.on_ready = on_ready
        self._ready = ready_check is None
        self._next_ready_check = 0.0
        self._stop_signal: int | None = None
        self._force = False
        self._selector = selectors.DefaultSelector()
        self._width = max((len(p.name) for p in programs), default=0)

    # --- public -------------------------------------------------------------------------------
    def run(self) -> int:
        """Run until asked to stop; returns 0 after a clean stop."""
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            for child in self.children:
                self._start(child)
            while self._stop_signal is None:
                self._pump(0.2)
                self._watch()
                self._check_ready()
            log.info("received %s, stopping", signal.Signals(self._stop_signal).name)
        finally:
            self._stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._selector.close()
        return 0

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Ask the loop to stop (as a signal would)."""
        if self._stop_signal is None:
            self._stop_signal = signum
        else:
            self._force = True

    # --- children -----------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stop_signal is not None:
            log.warning("second %s: killing the children now", signal.Signals(signum).name)
        self.stop(signum)

    def _start(self, child: _Child) -> None:
        program = child.program
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **program.env}
        child.restart_at = None
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv built by Loket itself
                list(program.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_SET_PDEATHSIG,  # noqa: PLW1509 - single-threaded supervisor
            )
        except OSError as exc:
            log.error("cannot start %s: %s", program.name, exc)
            self._schedule_restart(child, ran_for=0.0)
            return
        child.proc = proc
        child.started = time.monotonic()
        child.pending = b""
        if proc.stdout is not None:
            os.set_blocking(proc.stdout.fileno(), False)
            self._selector.register(proc.stdout, selectors.EVENT_READ, child)
        log.info("started %s (pid %s)", program.name, proc.pid)

    def _schedule_restart(self, child: _Child, ran_for: float) -> float:
        if ran_for >= self.stable_after:
            child.failures = 0
        child.failures += 1
        delay = min(self.backoff_cap, self.backoff_base * 2.0 ** (child.failures - 1))
        child.restart_at = time.monotonic() + delay
        return delay

    def _watch(self) -> None:
        now = time.monotonic()
        for child in self.children:
            proc = child.proc
            if proc is not None:
                code = proc.poll()
                if code is None:
                    continue
                self._drain(child)
                self._kill_group(proc.pid)  # leftovers of a crashed child (its own workers)
                child.proc = None
                ran_for = now - child.started
                delay = self._schedule_restart(child, ran_for)
                log.warning(
                    "%s (pid %s) %s after %.1f s; restarting in %.0f s",
                    child.program.name,
                    proc.pid,
                    describe_exit(code),
                    ran_for,
                    delay,
                )
            elif child.restart_at is not None and now >= child.restart_at:
                self._start(child)

    def _check_ready(self) -> None:
        if self._ready or self.ready_check is None:
            return
        now = time.monotonic()
        if now < self._next_ready_check:
            return
        self._next_ready_check = now + 0.5
        try:
            ready = self.ready_check()
        except Exception:  # a readiness probe must never take the supervisor down
            ready = False
        if ready:
            self._ready = True
            if self.on_ready is not None:
                try:
                    self.on_ready()
                except Exception:
                    log.exception("the ready hook failed; the children keep running")

    # --- output -------------------------------------------------------------------------------
    def _pump(self, timeout: float) -> None:
        if not self._selector.get_map():
            time.sleep(timeout)
            return
        for key, _mask in self._selector.select(timeout):
            child: _Child = key.data
            self._read(child, key.fileobj)  # type: ignore[arg-type]

    def _read(self, child: _Child, stream: IO[bytes]) -> bool:
        """Relay what the child wrote; False at end of file."""
        try:
            data = os.read(stream.fileno(), 65536)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            self._selector.unregister(stream)
            stream.close()
            if child.pending:
                self._emit(child, child.pending)
                child.pending = b""
            return False
        lines = (child.pending + data).split(b"\n")
        child.pending = lines.pop()
        for line in lines:
            self._emit(child, line)
        return True

    def _drain(self, child: _Child) -> None:
        proc = child.proc
        if proc is None or proc.stdout is None or proc.stdout.closed:
            return
        with contextlib.suppress(KeyError, ValueError):
            while self._read(child, proc.stdout):
                if not self._readable(proc.stdout):
                    break
        if not proc.stdout.closed:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(proc.stdout)
            proc.stdout.close()
        if child.pending:
            self._emit(child, child.pending)
            child.pending = b""

    @staticmethod
    def _readable(stream: IO[bytes]) -> bool:
        with selectors.DefaultSelector() as probe:
            probe.register(stream, selectors.EVENT_READ)
            return bool(probe.select(0))

    def _emit(self, child: _Child, line: bytes) -> None:
        text = line.decode("utf-8", errors="replace").rstrip("\r")
        try:
            self.out.write(f"{child.program.name:<{self._width}} | {text}\n")
            self.out.flush()
        except (OSError, ValueError):
            pass  # our own stdout is gone (terminal closed); keep supervising

    # --- stopping -----------------------------------------------------------------------------
    @staticmethod
    def _kill_group(pgid: int, signum: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)

    def _stop_all(self) -> None:
        running = [
            (child, child.proc)
            for child in self.children
            if child.proc is not None and child.proc.poll() is None
        ]
        for _child, proc in running:
            self._kill_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while running and time.monotonic() < deadline and not self._force:
            self._pump(0.1)
            running = [(child, proc) for child, proc in running if proc.poll() is None]
        for child, proc in running:
            log.warning(
                "%s (pid %s) did not stop in time; killing it", child.program.name, proc.pid
            )
            self._kill_group(proc.pid)
        for child in self.children:
            if child.proc is not None:
                self._reap(child, child.proc)

    def _reap(self, child: _Child, proc: subprocess.Popen[bytes]) -> None:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            code = -signal.SIGKILL
        self._drain(child)
        self._kill_group(proc.pid)
        if code in {0, -signal.SIGTERM, -signal.SIGINT}:
            log.info("%s (pid %s) stopped", child.program.name, proc.pid)
        else:
            log.warning(
                "%s (pid %s) stopped: %s", child.program.name, proc.pid, describe_exit(code)
            )
        child.proc = None
