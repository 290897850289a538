"""A small Graph API on a loopback port, answering in Meta's documented shapes (§1.9 to §1.11).

The outbound tests talk to it over real HTTP (httpx, sockets, multipart), so what they check
is what goes over the wire. Unlike the full emulator (``whatsapp.emulator``), a test can make
any call fail with any Graph error body, status or broken answer, which is what the error
table needs. Nothing is mocked on the Loket side.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loket.channels import registry
from loket.channels.items import Item, SendResult
from loket.channels.models import Channel, Delivery
from loket.tickets.models import Message

TOKEN = "EAAGtest-token-4f2a9c"  # a fake token for a fake server
VERSION = "v23.0"
PHONE_NUMBER_ID = "110000111122"


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name, type, bytes
    at: float = field(default_factory=time.time)  # arrival (a test's controlled clock)


@dataclass
class Answer:
    status: int
    body: Any  # dict → JSON; bytes → as is
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def graph_error(code: int, *, status: int = 400, transient: bool | None = None) -> Answer:
    error: dict[str, Any] = {
        "message": f"(#{code}) Something about {code}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": f"Details of {code}"},
        "fbtrace_id": "AbCdEf123",
    }
    if transient is not None:
        error["is_transient"] = transient
    return Answer(status, {"error": error})


class FakeGraph:
    """The server's state: what it received, what it answers next, the files it holds."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        # (method, path suffix) → answers to give, in order, before behaving normally.
        self.script: list[tuple[str, str, Answer]] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self.file_size_as_string = False
        self.wrong_sha256 = False
        self.gzip_files = False
        self.url_refusals = 0  # the next N file downloads answer 404 (an expired URL)
        self._ids = itertools.count(1)
        self.base_url = ""

    # --- what tests call ---
    def fail(self, method: str, suffix: str, *answers: Answer) -> None:
        with self.lock:
            self.script += [(method, suffix, answer) for answer in answers]

    def sent(self) -> list[dict[str, Any]]:
        """Bodies of the send calls (``/messages`` without read receipts), in order."""
        return [
            s.json
            for s in self.seen
            if s.method == "POST" and s.path.endswith("/messages") and "status" not in s.json
        ]

    def add_file(self, data: bytes, mime_type: str) -> str:
        media_id = f"{next(self._ids) + 900000000000}"
        self.files[media_id] = (data, mime_type)
        return media_id

    def configure(self, channel: Channel, **extra: Any) -> Channel:
        channel.config = {
            **channel.config,
            "base_url": self.base_url,
            "api_version": VERSION,
            "phone_number_id": PHONE_NUMBER_ID,
            "waba_id": "220000333344",
            "access_token": TOKEN,
            **extra,
        }
        channel.save()
        channel.refresh_from_db()
        return channel

    # --- what the handler calls ---
    def scripted(self, method: str, path: str) -> Answer | None:
        with self.lock:
            for index, (m, suffix, answer) in enumerate(self.script):
                if m == method and path.endswith(suffix):
                    del self.script[index]
                    return answer
        return None

    def answer(self, seen: Seen) -> Answer:  # noqa: PLR0911 - one return per route
        if seen.headers.get("authorization") != f"Bearer {TOKEN}":
            return graph_error(190, status=401)
        scripted = self.scripted(seen.method, seen.path)
        if scripted is not None:
            return scripted
        parts = seen.path.strip("/").split("/")
        if parts[0] == "files" and seen.method == "GET":
            return self._file(parts[1])
        if parts[0] == "redirect" and seen.method == "GET":  # lookaside → CDN
            return Answer(302, b"", "text/plain", {"Location": f"/files/{parts[1]}"})
        if len(parts) < 2 or parts[0] != VERSION:
            return graph_error(100, status=404)
        if seen.method == "POST" and parts[-1] == "messages":
            return self._message(seen.json or {})
        if seen.method == "POST" and parts[-1] == "media":
            return self._upload(seen)
        if seen.method == "GET" and len(parts) == 2:
            return self._media_info(parts[1])
        if seen.method == "DELETE" and len(parts) == 2:
            return Answer(200, {"success": True})
        return graph_error(100, status=400)

    def _message(self, body: dict[str, Any]) -> Answer:
        if body.get("status") == "read":
            return Answer(200, {"success": True})
        to = str(body.get("to") or body.get("recipient") or "")
        wamid = f"wamid.FAKE{next(self._ids):06d}"
        return Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                "messages": [{"id": wamid}],
            },
        )

    def _upload(self, seen: Seen) -> Answer:
        if seen.form.get("messaging_product") != "whatsapp" or "file" not in seen.files:
            return graph_error(100)
        _name, content_type, data = seen.files["file"]
        if seen.form.get("type") != content_type:
            return graph_error(131053)
        return Answer(200, {"id": self.add_file(data, content_type)})

    def _media_info(self, media_id: str) -> Answer:
        if media_id not in self.files:
            return graph_error(100)
        data, mime_type = self.files[media_id]
        digest = hashlib.sha256(b"not-" + data if self.wrong_sha256 else data).hexdigest()
        return Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "id": media_id,
                "url": f"{self.base_url}/files/{media_id}?ext=1700000000&hash=ATs",
                "mime_type": mime_type,
                "sha256": digest,
                "file_size": str(len(data)) if self.file_size_as_string else len(data),
            },
        )

    def _file(self, media_id: str) -> Answer:
        with self.lock:
            if self.url_refusals:
                self.url_refusals -= 1
                return Answer(404, b"<html>URL expired</html>", "text/html")
        if media_id not in self.files:
            return Answer(404, b"not found", "text/plain")
        data, mime_type = self.files[media_id]
        if self.gzip_files:  # a CDN that compresses
            return Answer(200, gzip.compress(data), mime_type, {"Content-Encoding": "gzip"})
        return Answer(200, data, mime_type)


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    parsed = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    form: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in parsed.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), payload)
        else:
            form[name] = payload.decode()
    return form, files


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        seen = Seen(
            self.command,
            url.path,
            parse_qs(url.query),
            {k.lower(): v for k, v in self.headers.items()},
        )
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            seen.json = json.loads(raw)
        elif content_type.startswith("multipart/form-data"):
            seen.form, seen.files = _multipart(content_type, raw)
        fake = self.server.fake
        with fake.lock:
            fake.seen.append(seen)
        answer = fake.answer(seen)
        body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGraph

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a pooled connection closed) is no error worth a trace."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def running() -> Iterator[FakeGraph]:
    """The fake Graph API on a free loopback port, stopped on exit."""
    server = _Server(("127.0.0.1", 0), _Handler)
    fake = FakeGraph()
    server.fake = fake
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-graph", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


class SendOnlyAdapter:
    """The WhatsApp adapter's sending half, so these tests need nothing of the inbound side."""

    def parse(self, channel: Channel, delivery: Delivery) -> list[Item]:
        raise NotImplementedError

    def send(self, channel: Channel, message: Message) -> SendResult:
        from loket.channels.whatsapp import transport

        return transport.send(channel, message)


@contextmanager
def sending() -> Iterator[None]:
    """``tickets.services.deliver_now`` sends WhatsApp messages through ``transport.send``."""
    before = registry.ADAPTERS.get("whatsapp")
    registry.ADAPTERS["whatsapp"] = f"{__name__}.SendOnlyAdapter"
    registry.adapter_for.cache_clear()
    try:
        yield
    finally:
        if before is None:
            del registry.ADAPTERS["whatsapp"]
        else:
            registry.ADAPTERS["whatsapp"] = before
        registry.adapter_for.cache_clear()
