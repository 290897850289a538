"""Shared by the inbound and adapter tests: a configured channel, a delivery read end to end,
and a loopback Graph media server (real HTTP: ``GET /{version}/{media_id}`` gives a URL,
the URL gives the bytes, both only with the Bearer token)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loket.channels import secrets, services
from loket.channels.models import Channel, Delivery
from loket.channels.whatsapp.tests import payloads
from loket.core import clock
from loket.core.tests.processes import free_port
from loket.tickets.models import DeliveryStatus, Direction, Message, Ticket

TOKEN = "EAAG-test-token-batik"
VERSION = "v23.0"


def configure(
    channel: Channel,
    *,
    base_url: str = "http://127.0.0.1:9",
    phone_number_id: str = payloads.PHONE_NUMBER_ID,
) -> Channel:
    """Give the shop's WhatsApp channel its Meta ids (and a base URL nobody answers on)."""
    channel.config = secrets.seal(
        "whatsapp",
        {
            "phone_number_id": phone_number_id,
            "waba_id": payloads.WABA_ID,
            "api_version": VERSION,
            "base_url": base_url,
            "access_token": TOKEN,
        },
    )
    channel.save()
    return channel


def deliver(channel: Channel, body: bytes | dict[str, Any]) -> Delivery:
    """Store a webhook body as the view does, then read it as the task does."""
    raw = body if isinstance(body, bytes) else payloads.encode(body)
    delivery = services.store_delivery(
        channel, raw, {"X-Hub-Signature-256": "sha256=…"}, process=False
    )
    return services.process(delivery.pk)


def outbound(
    ticket: Ticket, wamid: str, *, status: str = DeliveryStatus.SENDING, text: str = "Ada kak"
) -> Message:
    """An agent's message on the ticket's channel that Meta knows as ``wamid``."""
    return Message.objects.create(
        ticket=ticket,
        channel=ticket.channel,
        direction=Direction.OUTBOUND,
        text=text,
        external_id=wamid,
        delivery_status=status,
        created_at=clock.now(),
    )


@dataclass
class MediaServer:
    base_url: str
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # media ids whose file answers 500 (a broken CDN)
    broken: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def add(self, media_id: str, data: bytes, mime_type: str) -> str:
        """Serve ``data`` under ``media_id``; returns its sha256 (what the webhook carries)."""
        self.files[media_id] = (data, mime_type)
        return hashlib.sha256(data).hexdigest()


@contextmanager
def media_server() -> Iterator[MediaServer]:
    port = free_port()
    server_state = MediaServer(base_url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, code: int, message: str) -> None:
            body = json.dumps(
                {"error": {"message": message, "type": "OAuthException", "code": code}}
            )
            self._answer(status, body.encode(), "application/json")

        def do_GET(self) -> None:
            server_state.requests.append(self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._error(401, 190, "Invalid OAuth access token")
                return
            parts = self.path.split("?")[0].strip("/").split("/")
            if len(parts) == 2 and parts[0] == VERSION and parts[1] in server_state.files:
                data, mime = server_state.files[parts[1]]
                info = {
                    "messaging_product": "whatsapp",
                    "id": parts[1],
                    "url": f"{server_state.base_url}/files/{parts[1]}?ext=1767225600",
                    "mime_type": mime,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "file_size": len(data),
                }
                self._answer(200, json.dumps(info).encode(), "application/json")
            elif len(parts) == 2 and parts[0] == "files" and parts[1] in server_state.broken:
                self._answer(500, b"upstream trouble", "text/plain")
            elif len(parts) == 2 and parts[0] == "files" and parts[1] in server_state.files:
                data, mime = server_state.files[parts[1]]
                self._answer(200, data, mime)
            else:
                self._error(404, 100, "Unsupported get request.")

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
