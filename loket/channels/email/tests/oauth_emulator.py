"""A local OAuth2 token endpoint for tests, faithful to what Google and Microsoft document.

It implements the ``refresh_token`` grant (RFC 6749 §6) at two paths, and token
introspection (RFC 7662) for a Dovecot that validates XOAUTH2 logins against it:

- ``POST /google/token`` (as ``https://oauth2.googleapis.com/token``): needs ``client_id`` and
  ``client_secret``; answers ``access_token``, ``expires_in``, ``scope``, ``token_type``; the
  refresh token stays the same. Errors: 400 ``invalid_grant`` "Token has been expired or
  revoked.", 401 ``invalid_client`` "The OAuth client was not found.".
- ``POST /{tenant}/oauth2/v2.0/token`` (as ``login.microsoftonline.com``): a public client
  needs no secret; every answer carries a NEW refresh token and the old one stops working
  (rotation); errors carry AADSTS codes in ``error_description`` plus ``error_codes``,
  ``trace_id``, ``correlation_id``. An unknown tenant is a 400 ``invalid_request``.
- ``POST /introspect`` (form ``token=...``): ``{"active": true, "username": ...}`` for a live
  access token, ``{"active": false}`` otherwise.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Grant:
    user: str
    client_id: str


@dataclass
class TokenServer:
    """The emulator's state; ``url`` is its base (``http://127.0.0.1:PORT``)."""

    url: str = ""
    clients: dict[str, str] = field(default_factory=dict)  # client id -> secret ("" = public)
    tenants: set[str] = field(default_factory=lambda: {"common", "organizations"})
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # -> user, expiry
    lifetime: int = 3599
    requests: list[dict[str, str]] = field(default_factory=list)  # every token request's form
    lock: threading.Lock = field(default_factory=threading.Lock)

    def grant(self, user: str, client_id: str, client_secret: str = "") -> str:
        """Register a client (if new) and authorise ``user``: returns a refresh token."""
        self.clients.setdefault(client_id, client_secret)
        token = "1//" + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = Grant(user, client_id)
        return token

    def revoke(self, refresh_token: str) -> None:
        self.refresh_tokens.pop(refresh_token, None)

    def revoke_access(self) -> None:
        self.access_tokens.clear()

    # --- the endpoints ---------------------------------------------------------------------
    def token(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append({"path": path, **form})
            if path == "/google/token":
                return self._google(form)
            parts = path.strip("/").split("/")
            if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
                return self._microsoft(parts[0], form)
            return 404, {"error": "not_found"}

    def introspect(self, token: str) -> dict[str, Any]:
        with self.lock:
            user, expiry = self.access_tokens.get(token, ("", 0.0))
        if not user or expiry <= time.time():
            return {"active": False}
        return {"active": True, "username": user, "scope": "https://mail.google.com/"}

    def _issue(self, user: str) -> str:
        token = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[token] = (user, time.time() + self.lifetime)
        return token

    def _google(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        client_id = form.get("client_id", "")
        if client_id not in self.clients or form.get("client_secret") != self.clients[client_id]:
            return 401, {
                "error": "invalid_client",
                "error_description": "The OAuth client was not found.",
            }
        if form.get("grant_type") != "refresh_token":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type: ",
            }
        grant = self.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or grant.client_id != client_id:
            return 400, {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
        return 200, {
            "access_token": self._issue(grant.user),
            "expires_in": self.lifetime,
            "scope": "https://mail.google.com/",
            "token_type": "Bearer",
        }

    def _microsoft(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        def error(status: int, code: str, number: int, text: str) -> tuple[int, dict[str, Any]]:
            return status, {
                "error": code,
                "error_description": f"AADSTS{number}: {text}\r\nTrace ID: {uuid.uuid4()}",
                "error_codes": [number],
                "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                "trace_id": str(uuid.uuid4()),
                "correlation_id": str(uuid.uuid4()),
            }

        if tenant not in self.tenants:
            return error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        client_id = form.get("client_id", "")
        if client_id not in self.clients:
            return error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory.",
            )
        secret = self.clients[client_id]
        if secret and form.get("client_secret") != secret:
            return error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        grant = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if grant is None or grant.client_id != client_id:
            return error(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity.",
            )
        rotated = "0.A" + secrets.token_urlsafe(40)
        self.refresh_tokens[rotated] = grant  # the old one is gone (popped above)
        return 200, {
            "token_type": "Bearer",
            "scope": "https://outlook.office.com/IMAP.AccessAsUser.All "
            "https://outlook.office.com/SMTP.Send",
            "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime,
            "access_token": self._issue(grant.user),
            "refresh_token": rotated,
        }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        form = {key: values[-1] for key, values in parse_qs(body).items()}
        state = self.server.state
        if self.path == "/introspect":
            token = form.get("token", "")
            auth = self.headers.get("Authorization", "")
            if not token and auth.lower().startswith("bearer "):
                token = auth[7:].strip()
            self._json(200, state.introspect(token))
            return
        if (
            self.headers.get("Content-Type", "").split(";")[0]
            != "application/x-www-form-urlencoded"
        ):
            self._json(400, {"error": "invalid_request", "error_description": "form expected"})
            return
        status, answer = state.token(self.path, form)
        self._json(status, answer)

    def _json(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: TokenServer


@contextmanager
def running_token_server() -> Iterator[TokenServer]:
    """The emulator on a free loopback port until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    state = TokenServer(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.state = state
    thread = threading.Thread(target=server.serve_forever, name="oauth-emulator", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
