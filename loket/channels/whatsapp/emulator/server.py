"""The emulator over real HTTP (stdlib ``ThreadingHTTPServer``), and its test harness.

Graph paths (any ``vNN.N`` version):

- ``POST /{v}/{phone_number_id}/messages`` sends, mark-as-read, typing indicator
- ``POST /{v}/{phone_number_id}/media`` upload; ``GET /{v}/{media_id}`` its URL;
  ``DELETE /{v}/{media_id}``; ``GET /whatsapp_business/attachments/?mid=...`` the bytes
- ``GET /{v}/{waba_id}/message_templates``; ``GET /{v}/{phone_number_id}`` (token check)

Emulator paths: ``/`` the customer phone page, ``/_emulator/...`` its API and the knobs.
``running_emulator()`` runs it in a thread on a free port for tests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.state import Config, Knobs
from loket.channels.whatsapp.emulator.wire import MEDIA_KINDS, GraphFault

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
VERSION = r"v\d+\.\d+"
MAX_BODY = 110 * 1024 * 1024  # documents up to 100 MB, plus the multipart wrapping
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}


class BadRequest(Exception):
    """A request to the emulator's own API that cannot be used (answered 400, in plain text)."""


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- plumbing -------------------------------------------------------------------------
    @property
    def emu(self) -> Emulator:
        return self.server.emulator

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            self.body = self._read_body()
            if url.path == "/" or url.path.startswith("/_emulator/"):
                self._emulator(method, url.path)
            else:
                self._graph(method, url.path)
        except GraphFault as fault:
            self._json(fault.body(), status=fault.http_status)
        except BadRequest as exc:
            self._send(400, str(exc).encode(), "text/plain; charset=utf-8")
        except Exception:
            log.exception("emulator: %s %s failed", method, self.path)
            self._json(GraphFault(1, "An unknown error occurred").body(), status=500)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise GraphFault(100, "Request body too large.", http_status=413)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload: Any, *, status: int = 200) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _json_body(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise GraphFault(100, "The request body is not valid JSON.") from None

    # --- the Graph API ----------------------------------------------------------------------
    def _graph(self, method: str, path: str) -> None:
        if path.rstrip("/") == "/whatsapp_business/attachments" and method == "GET":
            self.emu.authorize(self.headers.get("Authorization"))
            media = self.emu.download(
                self.query.get("mid", ""), self.query.get("ext", ""), self.query.get("hash", "")
            )
            self._send(200, media.data, media.mime_type)
            return
        match = re.fullmatch(rf"/({VERSION})/([\w.]+)(?:/(\w+))?/?", path)
        if match is None:
            raise GraphFault(100, f"Unknown path components: {path}", http_status=404)
        self.emu.authorize(self.headers.get("Authorization"))
        _version, node, edge = match.groups()
        route = (method, edge)
        if route == ("POST", "messages"):
            self.emu.own_number(node)
            self._json(self.emu.send(self._json_body()))
        elif route == ("POST", "media"):
            self.emu.own_number(node)
            self._json({"id": self._upload()})
        elif route == ("GET", "message_templates"):
            limit = self.query.get("limit", "25")
            self._json(
                self.emu.templates(
                    node,
                    _fields(self.query.get("fields", "")),
                    max(1, min(int(limit) if limit.isdigit() else 25, 100)),
                    self.query.get("after", ""),
                )
            )
        elif route == ("GET", None) and node == self.emu.config.phone_number_id:
            self._json(self.emu.phone_number(_fields(self.query.get("fields", ""))))
        elif route == ("GET", None):
            self._json(self.emu.media_info(node, self.query.get("phone_number_id", "")))
        elif route == ("DELETE", None):
            self._json(self.emu.delete_media(node))
        else:
            raise GraphFault(100, f"Unsupported {method} request.", http_status=400)

    def _upload(self) -> str:
        form = self._multipart()
        file = form.get("file")
        if file is None:
            raise GraphFault(131008, "The parameter file is required.")
        data, filename, part_type = file
        mime = form.get("type", (b"", "", ""))[0].decode() or part_type
        product = form.get("messaging_product", (b"", "", ""))[0].decode()
        return self.emu.upload(data, mime, filename, product)

    def _multipart(self) -> dict[str, tuple[bytes, str, str]]:
        """Form fields of a multipart body: name -> (bytes, filename, content type)."""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise GraphFault(100, "The request must be multipart/form-data.")
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + self.body
        )
        fields: dict[str, tuple[bytes, str, str]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            fields[name] = (data, part.get_filename() or "", part.get_content_type())
        return fields

    # --- the emulator's own pages and API -------------------------------------------------
    def _emulator(self, method: str, path: str) -> None:
        if path == "/_emulator/knobs" and method in ("GET", "POST"):
            self._knobs(method)
        elif method == "POST" and path == "/_emulator/customer":
            self._json({"id": self._customer_action()})
        elif method == "GET":
            self._emulator_get(path)
        else:
            raise BadRequest(f"no such page: {method} {path}")

    def _emulator_get(self, path: str) -> None:
        if path == "/":
            self._static("phone.html")
        elif path.startswith("/_emulator/static/"):
            self._static(path.rsplit("/", 1)[1])
        elif path.startswith("/_emulator/media/"):
            media_id = path.rsplit("/", 1)[1]
            with self.emu.state.lock:
                media = self.emu.state.media.get(media_id)
            if media is None:
                raise BadRequest("no such media")
            self._send(200, media.data, media.mime_type)
        elif path == "/_emulator/chat":
            wa_id = self.query.get("wa_id", "")
            self._json(self.emu.chat_view(wa_id, seen=self.query.get("seen") == "1"))
        elif path == "/_emulator/sent":
            self._json(self.emu.sent)
        elif path == "/_emulator/webhooks":
            self._json(
                [
                    {"job": a.job, "status": a.status, "error": a.error, "body": a.body.decode()}
                    for a in self.emu.webhook_log
                ]
            )
        else:
            raise BadRequest(f"no such page: GET {path}")

    def _knobs(self, method: str) -> None:
        if method == "POST":
            changes = self._json_body()
            if not isinstance(changes, dict):
                raise BadRequest("send a JSON object of knobs")
            try:
                self.emu.set_knobs(**changes)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
        self._json(self.emu.knobs.as_dict())

    def _static(self, name: str) -> None:
        file = STATIC / name
        if file.suffix not in STATIC_TYPES or not file.is_file():
            raise BadRequest("no such file")
        self._send(
            200,
            file.read_bytes(),
            STATIC_TYPES[file.suffix] + "; charset=utf-8",
            {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
        )

    def _customer_action(self) -> str:
        """One thing the person on the phone page did, as a webhook to the business."""
        if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            form = self._multipart()
            fields = {k: v[0].decode("utf-8", "replace") for k, v in form.items() if k != "file"}
            if "file" not in form:
                raise BadRequest("choose a file")
            data, filename, content_type = form["file"]
            kind = _media_kind(content_type, fields.get("kind", ""))
            return self.emu.customer_sends_media(
                _wa_id(fields),
                data,
                content_type,
                caption=fields.get("caption", ""),
                kind=kind,
                filename=filename,
                name=fields.get("name", ""),
                wait=False,
            )
        action = self._json_body()
        if not isinstance(action, dict):
            raise BadRequest("send a JSON object")
        wa_id, name, what = _wa_id(action), str(action.get("name", "")), action.get("action")
        try:
            if what == "text" and str(action.get("text", "")).strip():
                return self.emu.customer_says(
                    wa_id,
                    str(action["text"]),
                    name=name,
                    context=str(action.get("context", "")),
                    wait=False,
                )
            if what == "location":
                return self.emu.customer_shares_location(
                    wa_id,
                    float(action["latitude"]),
                    float(action["longitude"]),
                    place=str(action.get("place", "")),
                    address=str(action.get("address", "")),
                    name=name,
                    wait=False,
                )
            if what == "tap":
                return self.emu.customer_taps(
                    wa_id, str(action["message_id"]), str(action["reply_id"]), name=name, wait=False
                )
            if what == "react":
                return self.emu.customer_reacts(
                    wa_id,
                    str(action["message_id"]),
                    str(action.get("emoji", "")),
                    name=name,
                    wait=False,
                )
        except (KeyError, ValueError) as exc:
            raise BadRequest(f"bad {what}: {exc}") from None
        raise BadRequest("unknown action")


def _fields(value: str) -> list[str]:
    return [f.strip() for f in value.split(",") if f.strip()]


def _wa_id(fields: dict[str, Any]) -> str:
    wa_id = re.sub(r"\D", "", str(fields.get("wa_id", "")))
    if not 8 <= len(wa_id) <= 15:
        raise BadRequest("the customer's number must have 8 to 15 digits")
    return wa_id


def _media_kind(content_type: str, asked: str) -> str:
    if asked in MEDIA_KINDS:
        return asked
    major = content_type.split("/", 1)[0]
    if content_type == "image/webp":
        return "sticker"
    return major if major in ("image", "video", "audio") else "document"


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        super().__init__(address, Handler)
        self.emulator = emulator
        host, port = self.server_address[:2]
        emulator.base_url = f"http://{host!s}:{port}"


def serve(emulator: Emulator, host: str, port: int) -> EmulatorServer:
    """Bind (raises OSError when the port is taken); the caller runs ``serve_forever``."""
    return EmulatorServer((host, port), emulator)


@contextlib.contextmanager
def running_emulator(
    *,
    webhook_url: str = "",
    app_secret: str = "",
    host: str = "127.0.0.1",
    port: int = 0,
    knobs: Knobs | None = None,
    **config: str,
) -> Iterator[Emulator]:
    """The emulator in a thread on a free port (``emu.base_url``), stopped on exit.

    ``config`` overrides the other ``Config`` fields (phone_number_id, access_token...).
    """
    settings = Config(webhook_url=webhook_url, **config)
    if app_secret:
        settings.app_secret = app_secret
    emulator = Emulator(settings, knobs)
    server = serve(emulator, host, port)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="emulator-http", daemon=True
    )
    thread.start()
    try:
        yield emulator
    finally:
        server.shutdown()
        server.server_close()
        emulator.stop()
