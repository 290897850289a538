"""A local OAuth2 token endpoint for tests, faithful to what Google and Microsoft document.

It implements the ``refresh_token`` grant (RFC 6749 §6) and the ``authorization_code`` grant
with PKCE (RFC 6749 §4.1, RFC 7636) at two paths, the providers' consent pages, and token
introspection (RFC 7662) for a Dovecot that validates XOAUTH2 logins against it:

- ``GET /google/auth`` (as ``https://accounts.google.com/o/oauth2/v2/auth``) and
  ``GET /{tenant}/oauth2/v2.0/authorize`` (as ``login.microsoftonline.com``): the consent
  page, which consents at once: a 302 to ``redirect_uri?code=...&state=...`` (or
  ``?error=access_denied&state=...`` when ``deny`` is set). The user who consents is ``user``,
  else the ``login_hint``. An unknown client, a redirect URI the client did not register
  (when it registered any) or an unknown tenant is an error page (400), as at the providers:
  they never redirect to an address they cannot trust. ``code_challenge_method`` must be
  ``S256``. Codes live ten minutes and work once.
- ``grant_type=authorization_code`` at the token paths: ``code``, ``redirect_uri`` (equal to
  the one given to the consent page) and ``code_verifier`` (whose S256 must be the
  challenge). Google answers a refresh token (access was offline) with the access token;
  Microsoft too (``offline_access``). A code used twice is a 400 ``invalid_grant``.

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

import base64
import hashlib
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
from urllib.parse import parse_qs, urlencode, urlsplit

CODE_LIFETIME = 600  # seconds


@dataclass
class Grant:
    user: str
    client_id: str


@dataclass
class Code:
    """An authorisation code given out by a consent page, waiting for its exchange."""

    user: str
    client_id: str
    redirect_uri: str
    challenge: str
    tenant: str  # "" for Google
    expires: float


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
    consents: list[dict[str, str]] = field(default_factory=list)  # every consent page's query
    redirect_uris: dict[str, set[str]] = field(default_factory=dict)  # client id -> registered
    codes: dict[str, Code] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)
    user: str = ""  # who consents ("" = the login_hint)
    deny: bool = False  # the user refuses on the consent page
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, client_id: str, client_secret: str = "", redirect_uri: str = "") -> None:
        """A client as created in Google Cloud / Entra, with its redirect URI if given."""
        self.clients[client_id] = client_secret
        if redirect_uri:
            self.redirect_uris.setdefault(client_id, set()).add(redirect_uri)

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

    def authorize(self, path: str, query: dict[str, str]) -> tuple[int, str]:  # noqa: PLR0911 - one return per documented outcome
        """The consent page: (302, where to) or (400, the error page's text)."""
        with self.lock:
            self.consents.append({"path": path, **query})
            tenant = ""
            if path != "/google/auth":
                parts = path.strip("/").split("/")
                if len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "authorize"]:
                    return 404, "not found"
                tenant = parts[0]
                if tenant not in self.tenants:
                    return 400, f"AADSTS90002: Tenant '{tenant}' not found."
            client_id = query.get("client_id", "")
            redirect_uri = query.get("redirect_uri", "")
            if client_id not in self.clients:
                return 400, "invalid_client: The OAuth client was not found."
            registered = self.redirect_uris.get(client_id)
            if not redirect_uri or (registered and redirect_uri not in registered):
                return 400, "redirect_uri_mismatch"
            state = query.get("state", "")

            def back(**params: str) -> tuple[int, str]:
                if state:
                    params["state"] = state
                separator = "&" if urlsplit(redirect_uri).query else "?"
                return 302, redirect_uri + separator + urlencode(params)

            if query.get("response_type") != "code":
                return back(error="unsupported_response_type")
            if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                return back(error="invalid_request", error_description="PKCE S256 required")
            if self.deny:
                return back(error="access_denied", error_description="The user denied access.")
            code = ("4/0A" if not tenant else "0.AX") + secrets.token_urlsafe(32)
            self.codes[code] = Code(
                user=self.user or query.get("login_hint", ""),
                client_id=client_id,
                redirect_uri=redirect_uri,
                challenge=query["code_challenge"],
                tenant=tenant,
                expires=time.time() + CODE_LIFETIME,
            )
            if tenant:
                return back(code=code)
            return back(code=code, scope=query.get("scope", ""))

    def _redeem(self, form: dict[str, str], client_id: str, tenant: str) -> Code | str:
        """The form's code if it may be exchanged, else why not (for the error text)."""
        code = form.get("code", "")
        pending = self.codes.pop(code, None)
        if pending is None:
            return "used" if code in self.used_codes else "unknown"
        self.used_codes.add(code)
        if pending.client_id != client_id or pending.tenant != tenant:
            return "unknown"
        if pending.expires <= time.time():
            return "expired"
        if form.get("redirect_uri") != pending.redirect_uri:
            return "redirect"
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != pending.challenge:
            return "verifier"
        return pending

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
        if form.get("grant_type") == "authorization_code":
            return self._google_code(form, client_id)
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

    def _google_code(self, form: dict[str, str], client_id: str) -> tuple[int, dict[str, Any]]:
        pending = self._redeem(form, client_id, "")
        if pending == "redirect":
            return 400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
        if not isinstance(pending, Code):
            text = {"verifier": "Invalid code verifier.", "expired": "Bad Request"}
            return 400, {
                "error": "invalid_grant",
                "error_description": text.get(pending, "Malformed auth code."),
            }
        return 200, {
            "access_token": self._issue(pending.user),
            "expires_in": self.lifetime,
            "refresh_token": self.grant(pending.user, client_id, self.clients[client_id]),
            "scope": "https://mail.google.com/",
            "token_type": "Bearer",
        }

    def _microsoft(  # noqa: PLR0911 - one return per documented outcome
        self, tenant: str, form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
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
        if form.get("grant_type") == "authorization_code":
            pending = self._redeem(form, client_id, tenant)
            if not isinstance(pending, Code):
                number, text = {
                    "used": (
                        54005,
                        "OAuth2 Authorization code was already redeemed, please retry with "
                        "a new valid code or use an existing refresh token.",
                    ),
                    "expired": (70008, "The provided authorization code has expired."),
                    "redirect": (
                        500112,
                        "The reply address does not match the reply address provided when "
                        "requesting Authorization code.",
                    ),
                    "verifier": (
                        501481,
                        "The Code_Verifier does not match the code_challenge supplied in "
                        "the authorization request.",
                    ),
                }.get(pending, (9002313, "Invalid request. Request is malformed or invalid."))
                return error(400, "invalid_grant", number, text)
            grant: Grant | None = Grant(pending.user, client_id)
        elif form.get("grant_type") == "refresh_token":
            grant = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        else:
            return error(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            )
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

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        status, answer = self.server.state.authorize(parts.path, query)
        if status == 302:
            self.send_response(302)
            self.send_header("Location", answer)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = answer.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
