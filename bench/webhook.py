"""WhatsApp webhook benchmark (issue 4), part of ``make bench``.

    .venv/bin/python bench/webhook.py [--messages 3000] [--rate 200] [--seconds 15] [--quick]

Runs the real server on a fresh SQLite database in a temporary directory: ``loket web``
(uvicorn) and ``loket db_worker`` (the task worker that parses stored deliveries into
messages), with one WhatsApp channel. A client in this process sends Meta-shaped, correctly
signed webhook POSTs (one customer message each, 400 customers, escaped unicode as Meta
sends it) over keep-alive connections:

1. end to end: ``--messages`` POSTs as fast as ``--concurrency`` connections allow; messages
   per second from the first POST until the last message is committed in tickets_message
   (target >= 300), and the acknowledgement rate on its own;
2. acknowledgement latency at a fixed ``--rate`` (open loop: latency counts from when each
   request was due, so a stall is not hidden; target p99 <= 100 ms), while the worker
   processes in the background as it would in production.

Both beside ``/bench/bare/``, a bare Django view on the same server (bench/webhook_urls.py),
which goes through Django's ASGI handler and all of Loket's middleware; the webhook itself
takes the lean path ``loket web`` serves it by (loket.core.asgi, docs/adr/0005-*).
Results are printed and written to docs/benchmarks.md (section "webhook").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "bench-app-secret"  # noqa: S105 - a throwaway channel in a temporary directory
CUSTOMERS = 400
TARGET_RATE = 300.0
TARGET_P99_MS = 100.0
MAX_CONNECTIONS = 128
# An idle keep-alive connection is reused within this many seconds, else closed: as HTTP
# clients do, so as not to race the server's own keep-alive timeout (uvicorn's is 5 s).
KEEP_ALIVE_REUSE = 2.0


# --- payloads ---------------------------------------------------------------------------------
def body(n: int) -> bytes:
    """One inbound text, escaped as Meta sends it (non-ASCII as \\uXXXX, "/" as "\\/")."""
    wa_id = f"62812{n % CUSTOMERS:07d}"
    doc = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "6281138002024",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [
                                {
                                    "profile": {"name": f"Pelanggan {n % CUSTOMERS} é"},
                                    "wa_id": wa_id,
                                }
                            ],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": f"wamid.bench.{n}",
                                    "timestamp": str(1_764_400_000 + n),
                                    "type": "text",
                                    "text": {
                                        "body": f"Kak, batik tulis #{n} masih ada? 🙏 "
                                        "https://batiksari.id/p/7"
                                    },
                                },
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(doc, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def signed_request(path: str, port: int, raw: bytes) -> bytes:
    import hashlib
    import hmac

    signature = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nUser-Agent: facebookexternalua\r\n"
        f"X-Hub-Signature-256: sha256={signature}\r\nContent-Length: {len(raw)}\r\n\r\n"
    )
    return head.encode() + raw


# --- a minimal keep-alive HTTP/1.1 client -------------------------------------------------------
class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = time.monotonic()

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _sep, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


@dataclass
class Run:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def closed_loop(name: str, port: int, requests: list[bytes], concurrency: int) -> Run:
    """Every request as fast as ``concurrency`` connections allow."""
    run = Run(name)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        connection = await Connection.open(port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                started = time.perf_counter()
                run.count(await connection.send(request))
                run.latencies_ms.append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


async def open_loop(name: str, port: int, requests: list[bytes], rate: float) -> Run:
    """One request every 1/rate s, each on an idle connection (a new one if none is idle)."""
    run = Run(name)
    idle: list[Connection] = [await Connection.open(port) for _ in range(8)]
    tasks: list[asyncio.Task[None]] = []
    # At most this many requests in flight (Meta's own concurrency is bounded too); a request
    # waiting for one still counts its latency from when it was due.
    in_flight = asyncio.Semaphore(MAX_CONNECTIONS)

    async def one(request: bytes, due: float) -> None:
        async with in_flight:
            connection = None
            try:
                stale = time.monotonic() - KEEP_ALIVE_REUSE
                for old in [c for c in idle if c.idle_since < stale]:
                    idle.remove(old)  # the server may be closing it (uvicorn: after 5 s)
                    old.close()
                connection = idle.pop() if idle else await Connection.open(port)
                run.count(await connection.send(request))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                # Counted, never dropped: a request the server did not answer is a failure.
                run.errors[type(exc).__name__] = run.errors.get(type(exc).__name__, 0) + 1
                if connection is not None:
                    connection.close()
                return
            run.latencies_ms.append((time.perf_counter() - due) * 1000)
            connection.idle_since = time.monotonic()
            idle.append(connection)

    start = time.perf_counter() + 0.05
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(request, due))
        tasks.append(task)
    await asyncio.gather(*tasks)  # every one awaited: an unexpected error is not lost
    run.seconds = time.perf_counter() - start
    for connection in idle:
        connection.close()
    return run


# --- the server under test ---------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path) -> None:
        from cryptography.fernet import Fernet

        self.data_dir = data_dir
        self.port = free_port()
        self.env = {
            **os.environ,
            "LOKET_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "webhook_settings",
            # LOKET_BENCH_PYTHONPATH: extra packages for the server (e.g. httptools) to try.
            "PYTHONPATH": os.pathsep.join(
                p for p in [os.environ.get("LOKET_BENCH_PYTHONPATH"), str(BENCH), str(ROOT)] if p
            ),
            "LOKET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "LOKET_LOG_LEVEL": "WARNING",
            "LOKET_DEBUG": "false",
        }
        for name in ("LOKET_DATABASE_URL", "LOKET_TASKS_BACKEND"):
            self.env.pop(name, None)
        self.children: list[subprocess.Popen[bytes]] = []

    def loket(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "loket", *args],
            env=self.env,
            cwd=self.data_dir,
            capture_output=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"loket {' '.join(args)} failed:\n{done.stderr.decode()}")
        return done.stdout.decode()

    def start(self) -> int:
        self.loket("migrate", "--no-input")
        added = self.loket(
            "channel", "add", "whatsapp",
            "--name", "WA Bench",
            "--phone", "+6281138002024",
            "--phone-number-id", PHONE_NUMBER_ID,
            "--waba-id", "102290129340398",
            "--access-token", "bench-token",
            "--app-secret", APP_SECRET,
            "--verify-token", "bench-verify",
            "--base-url", "http://127.0.0.1:9",
        )  # fmt: skip
        channel_id = int(added.split()[1])
        self._spawn("web", "--port", str(self.port))
        worker_env = {}
        if os.environ.get("LOKET_BENCH_WORKER_PERSISTENT_CONNECTION"):
            worker_env["LOKET_BENCH_PERSISTENT_CONNECTION"] = "1"
        self._spawn(
            "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.5", **worker_env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with __import__("socket").create_connection(("127.0.0.1", self.port), 0.2):
                    return channel_id
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def _spawn(self, *args: str, **env: str) -> None:
        self.children.append(
            subprocess.Popen(
                [sys.executable, "-m", "loket", *args], env={**self.env, **env}, cwd=self.data_dir
            )
        )

    def stop(self) -> None:
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time used so far by (the web server, the worker): immune to other load."""
        ticks = os.sysconf("SC_CLK_TCK")

        def used(pid: int) -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        web, worker = self.children
        return used(web.pid), used(worker.pid)

    def committed(self) -> tuple[int, int]:
        """(messages committed from the benchmark, deliveries that failed)."""
        with sqlite3.connect(f"file:{self.data_dir / 'loket.sqlite3'}?mode=ro", uri=True) as db:
            messages = db.execute(
                "SELECT COUNT(*) FROM tickets_message WHERE external_id LIKE 'wamid.bench.%'"
            ).fetchone()[0]
            failed = db.execute(
                "SELECT COUNT(*) FROM channels_delivery WHERE state = 'failed'"
            ).fetchone()[0]
        return int(messages), int(failed)

    def wait_for(self, expected: int, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.committed()[0] >= expected:
                return time.perf_counter()
            time.sleep(0.05)
        raise RuntimeError(f"only {self.committed()} of {expected} messages after {timeout} s")


# --- the benchmark -------------------------------------------------------------------------------
@dataclass
class Results:
    messages: int
    concurrency: int
    rate: float
    e2e_seconds: float
    e2e_per_second: float
    webhook_burst: Run
    bare_burst: Run
    webhook_steady: Run
    bare_steady: Run
    failed: int
    web_cpu_ms: float  # per webhook request, in the web server
    worker_cpu_ms: float  # per message, in the worker (parse, receive, task bookkeeping)
    bare_cpu_ms: float  # per bare request


def bench(args: argparse.Namespace) -> Results:
    data_dir = Path(tempfile.mkdtemp(prefix="loket-bench-webhook-"))
    server = Server(data_dir)
    try:
        channel_id = server.start()
        hook = f"/webhooks/whatsapp/{channel_id}/"
        port = server.port
        warm = [signed_request(hook, port, body(10_000_000 + i)) for i in range(50)]
        asyncio.run(closed_loop("warm-up", port, warm, 4))
        server.wait_for(0, 1)
        time.sleep(1.0)
        bare_requests = [
            signed_request("/bench/bare/", port, body(i)) for i in range(args.messages)
        ]

        web_before, _worker = server.cpu_seconds()
        bare_burst = asyncio.run(closed_loop("bare", port, bare_requests, args.concurrency))
        bare_cpu = (server.cpu_seconds()[0] - web_before) / args.messages

        baseline = server.committed()[0]
        requests = [signed_request(hook, port, body(i)) for i in range(args.messages)]
        web_before, worker_before = server.cpu_seconds()
        started = time.perf_counter()
        webhook_burst = asyncio.run(closed_loop("webhook", port, requests, args.concurrency))
        accepted = webhook_burst.statuses.get(200, 0)
        done = server.wait_for(baseline + accepted, timeout=600)
        e2e = done - started
        web_after, worker_after = server.cpu_seconds()

        count = int(args.rate * args.seconds)
        bare_steady = asyncio.run(
            open_loop(
                "bare",
                port,
                [signed_request("/bench/bare/", port, body(i)) for i in range(count)],
                args.rate,
            )
        )
        offset = 20_000_000
        steady = [signed_request(hook, port, body(offset + i)) for i in range(count)]
        webhook_steady = asyncio.run(open_loop("webhook", port, steady, args.rate))
        server.wait_for(baseline + accepted + webhook_steady.statuses.get(200, 0), timeout=600)
        return Results(
            messages=args.messages,
            concurrency=args.concurrency,
            rate=args.rate,
            e2e_seconds=e2e,
            e2e_per_second=accepted / e2e,
            webhook_burst=webhook_burst,
            bare_burst=bare_burst,
            webhook_steady=webhook_steady,
            bare_steady=bare_steady,
            failed=server.committed()[1],
            web_cpu_ms=(web_after - web_before) / args.messages * 1000,
            worker_cpu_ms=(worker_after - worker_before) / args.messages * 1000,
            bare_cpu_ms=bare_cpu * 1000,
        )
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def render(results: Results, command: str) -> str:
    def per_second(run: Run) -> float:
        return len(run.latencies_ms) / run.seconds

    def row(run: Run) -> str:
        statuses = " ".join(f"{k}: {v}" for k, v in sorted(run.statuses.items()))
        statuses += "".join(f" {name}: {n}" for name, n in sorted(run.errors.items()))
        return (
            f"| {run.name} | {per_second(run):.0f} | {run.pct(50):.1f} | {run.pct(95):.1f} "
            f"| {run.pct(99):.1f} | {statuses} |"
        )

    e2e_ok = "ok" if results.e2e_per_second >= TARGET_RATE else "MISSED"
    p99_ok = "ok" if results.webhook_steady.pct(99) <= TARGET_P99_MS else "MISSED"
    machine = machine_line()
    return "\n".join(
        [
            "### WhatsApp webhook (issue 4)",
            "",
            f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} with `{command}` "
            "(bench/webhook.py): `loket web` (uvicorn, 1 process) and `loket db_worker` on a "
            "fresh SQLite database, signed Meta-shaped POSTs with one text message each from "
            f"{CUSTOMERS} customers, keep-alive connections from one client process. The "
            "webhook is served as in production, by the lean path of loket.core.asgi (no "
            "Django middleware, one writer thread committing waiting notifications together); "
            "the bare view goes through Django's ASGI handler and Loket's whole middleware "
            "stack.",
            "",
            "Machine: " + machine + ".",
            "",
            f"**End to end**: {results.messages} POSTs over {results.concurrency} connections; "
            "from the first POST until the last message is committed in tickets_message: "
            f"{results.e2e_seconds:.1f} s = **{results.e2e_per_second:.0f} messages/s** "
            f"(target ≥ {TARGET_RATE:.0f}: {e2e_ok}); failed deliveries: {results.failed}.",
            "",
            f"CPU per message: web server {results.web_cpu_ms:.2f} ms (bare view "
            f"{results.bare_cpu_ms:.2f} ms), worker {results.worker_cpu_ms:.2f} ms. With a core "
            f"each, that is at most {1000 / results.web_cpu_ms:.0f} acknowledgements/s and "
            f"{1000 / results.worker_cpu_ms:.0f} processed messages/s: the figures above "
            "also show how busy the machine was.",
            "",
            "| burst | requests/s acknowledged | p50 ms | p95 ms | p99 ms | statuses |",
            "|---|---:|---:|---:|---:|---|",
            row(results.webhook_burst),
            row(results.bare_burst),
            "",
            f"**Acknowledgement latency at {results.rate:.0f} requests/s** (open loop, "
            f"{len(results.webhook_steady.latencies_ms)} requests, worker processing meanwhile; "
            f"target p99 ≤ {TARGET_P99_MS:.0f} ms: {p99_ok}):",
            "",
            "| steady | requests/s | p50 ms | p95 ms | p99 ms | statuses |",
            "|---|---:|---:|---:|---:|---|",
            row(results.webhook_steady),
            row(results.bare_steady),
            "",
        ]
    )


def machine_line() -> str:
    import platform

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"cpus (nproc) {os.cpu_count()}; cpu {cpu}; python {platform.python_version()}; "
        f"sqlite {sqlite3.sqlite_version}; load average at the end {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--quick", action="store_true", help="a short smoke run; docs untouched")
    parser.add_argument(
        "--no-checkpoint-on-close",
        action="store_true",
        help="SQLite connections skip the WAL checkpoint when they close (an experiment; "
        "see bench/webhook_settings.py); docs untouched",
    )
    parser.add_argument(
        "--persistent-worker-connection",
        action="store_true",
        help="the task worker keeps its database connection between tasks (an experiment); "
        "docs untouched",
    )
    args = parser.parse_args()
    if args.no_checkpoint_on_close:
        os.environ["LOKET_BENCH_NO_CHECKPOINT_ON_CLOSE"] = "1"
    if args.persistent_worker_connection:
        os.environ["LOKET_BENCH_WORKER_PERSISTENT_CONNECTION"] = "1"
    if args.quick:
        args.messages, args.seconds = 300, 2.0
    results = bench(args)
    command = "make bench" if not sys.argv[1:] else "bench/webhook.py " + " ".join(sys.argv[1:])
    section = render(results, command)
    print(section)
    if not (args.quick or args.no_checkpoint_on_close or args.persistent_worker_connection):
        import run

        run.write_doc("webhook", section)
        print(f"written to {run.DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
