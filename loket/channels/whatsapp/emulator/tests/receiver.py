"""A webhook endpoint for the emulator's own tests: records every POST, answers as told."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loket.channels.whatsapp.emulator import wire


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    def values(self) -> list[dict[str, Any]]:
        return [c["value"] for e in self.payload["entry"] for c in e["changes"]]

    def statuses(self) -> list[dict[str, Any]]:
        return [s for v in self.values() for s in v.get("statuses", [])]

    def messages(self) -> list[dict[str, Any]]:
        return [m for v in self.values() for m in v.get("messages", [])]


@dataclass
class Receiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    # Status codes to answer with, first to last; 200 once they run out.
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def statuses(self) -> list[tuple[str, str]]:
        """(wamid, status) pairs in arrival order."""
        with self.lock:
            return [(s["id"], s["status"]) for r in self.received for s in r.statuses()]

    def status_objects(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s for r in self.received for s in r.statuses()]

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [m for r in self.received for m in r.messages()]

    def all_signed(self, secret: str) -> bool:
        with self.lock:
            return all(
                r.headers.get("X-Hub-Signature-256") == wire.sign(r.body, secret)
                for r in self.received
            )


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                status = receiver.answers.pop(0) if receiver.answers else 200
                if status == 200:
                    receiver.received.append(Received(body, dict(self.headers.items())))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
