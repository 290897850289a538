"""The WhatsApp webhook: ``/webhooks/whatsapp/<channel_id>/``.

GET is Meta's subscription handshake (the channel's verify token; no signature). POST is a
notification signed with the app secret over the exact raw bytes: a valid one is stored
as a raw ``Delivery`` and acknowledged at once; parsing happens in a task after commit, so
a body we cannot parse is kept (a failed delivery, replayable) rather than refused. Only a
bad signature gets a non-200: any other refusal would make Meta retry for days.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from loket.channels import secrets, services
from loket.channels.models import Channel, ChannelKind
from loket.core import clock, crypto
from loket.core.groupcommit import GroupCommit

log = logging.getLogger(__name__)

# Meta's payloads stay under about 3 MB; anything much larger is not Meta.
MAX_BODY = 4 * 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"
# Kept with the raw body: what a replay or an investigation may need, nothing personal.
KEPT_HEADERS = (SIGNATURE_HEADER, "Content-Type", "User-Agent", "X-Request-Id")


def signature_valid(raw: bytes, header: str | None, app_secret: str) -> bool:
    """HMAC-SHA256 of the raw bytes with the app secret, compared in constant time."""
    if not header or not header.startswith("sha256=") or not app_secret:
        return False
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[7:].strip().lower().encode())


def sign(raw: bytes, app_secret: str) -> str:
    """The header value Meta would send (for the emulator, tests and the benchmark)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def _channel(channel_id: int) -> Channel | None:
    """The enabled WhatsApp channel, read with one plain statement (a quarter of the cost of
    a queryset's compilation, on a path Meta may call hundreds of times a second)."""
    if not 0 < channel_id < 2**63:  # the URL takes any digits; the database does not
        return None
    sql = (
        f"SELECT * FROM {connection.ops.quote_name(Channel._meta.db_table)} "  # noqa: S608
        "WHERE id = %s AND kind = %s AND enabled = %s"
    )
    return next(iter(Channel.objects.raw(sql, [channel_id, ChannelKind.WHATSAPP, True])), None)


def _secret(channel: Channel, name: str) -> str:
    try:
        return secrets.get(channel, name)
    except crypto.DecryptionError:
        log.warning("whatsapp channel %s: the stored %s cannot be decrypted", channel.pk, name)
        return ""


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(channel_id)
    if channel is None:
        return HttpResponse(status=404)
    if request.method == "GET":
        return _handshake(request, channel)
    return _notification(request, channel)


def _handshake(request: HttpRequest, channel: Channel) -> HttpResponse:
    mode = request.GET.get("hub.mode", "")
    given = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge")
    expected = _secret(channel, "verify_token")
    if (
        mode != "subscribe"
        or challenge is None
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    _touch(channel)
    return HttpResponse(challenge, content_type="text/plain; charset=utf-8")


def _notification(request: HttpRequest, channel: Channel) -> HttpResponse:
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return HttpResponse(status=413)
    raw = request.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return HttpResponse(status=413)
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        return HttpResponse("Signature missing", status=401, content_type="text/plain")
    if not signature_valid(raw, header, _secret(channel, "app_secret")):
        return HttpResponse("Signature invalid", status=403, content_type="text/plain")
    headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    if not _store(channel, raw, headers):
        # Nothing is lost: Meta delivers again later (and a repeat is recognised by its id).
        response = HttpResponse("Busy, try again", status=503, content_type="text/plain")
        response["Retry-After"] = "5"
        return response
    return HttpResponse("OK", content_type="text/plain")


# Request threads that write at once. SQLite lets one writer in at a time, and a crowd of
# threads waiting on its lock starve one another (and the task worker) past the busy
# timeout; here they queue instead. PostgreSQL takes many.
_writers: threading.BoundedSemaphore | None = None
WRITER_WAIT = 10.0


def _writer_slots() -> threading.BoundedSemaphore:
    global _writers  # noqa: PLW0603 - one per process, sized for the database in use
    if _writers is None:
        _writers = threading.BoundedSemaphore(2 if connection.vendor == "sqlite" else 32)
    return _writers


def _store(channel: Channel, raw: bytes, headers: dict[str, str]) -> bool:
    """Store the delivery; False when the database is too busy to take it now."""
    slots = _writer_slots()
    if not slots.acquire(timeout=WRITER_WAIT):
        log.warning("whatsapp webhook: no database writer free for %s s", WRITER_WAIT)
        return False
    try:
        services.store_delivery(channel, raw, headers)
        _touch(channel)
    except DatabaseError as exc:
        log.warning("whatsapp webhook: delivery not stored: %s", exc)
        return False
    finally:
        slots.release()
    return True


def _touch(channel: Channel) -> None:
    """Record that Meta reached us; a minute's precision spares a write per request."""
    now = clock.now()
    if channel.last_webhook_at is None or now - channel.last_webhook_at > timedelta(minutes=1):
        try:
            Channel.objects.filter(pk=channel.pk).update(last_webhook_at=now)
        except DatabaseError as exc:  # only a health figure: never fail a request over it
            log.warning("whatsapp webhook: last_webhook_at not written: %s", exc)


# --- The lean path: what ``loket web`` serves for a notification ----------------------------
# Meta may post hundreds of notifications a second. Through Django's ASGI handler each one
# crosses its middleware (every ``MiddlewareMixin`` hops to a thread and back, ~38 hand-offs)
# and opens its own database connection: that alone caps a web process near 200 requests/s
# on two cores. None of that middleware has anything to do for a signed POST without cookies,
# so loket.core.asgi hands these requests here: the body is read on the event loop and the
# store runs in one writer thread that commits every waiting notification together.
# docs/adr/0005-webhook-group-commit.md.

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_PATH = re.compile(r"/webhooks/whatsapp/([0-9]{1,18})/")


def _no_checkpoints() -> None:
    """The writer never runs SQLite's WAL checkpoint itself: the checkpoint writes pages back
    into the database file and syncs it (sometimes hundreds of ms on a busy disk), and the
    connection whose commit crosses the threshold pays for it, here with acknowledgements
    waiting. The task worker, which commits as often (it reads every delivery), and every
    other connection keep the default and do it instead."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint = 0")


_WRITER = GroupCommit("whatsapp-webhook-writer", on_connect=_no_checkpoints)
_SECURITY_HEADERS = [
    (b"content-type", b"text/plain"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def lean_channel_id(scope: Scope) -> int | None:
    """The channel id when this request is a notification the lean path may take.

    Anything Django would answer differently (another method or path, a host not allowed, a
    plain-http request to be redirected to https) goes through Django as before.
    """
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    match = _PATH.fullmatch(scope["path"])
    if match is None or scope.get("query_string"):
        return None
    if settings.SECURE_SSL_REDIRECT and scope.get("scheme") != "https":
        return None
    host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return int(match.group(1))


async def lean_notification(scope: Scope, receive: Receive, send: Send, channel_id: int) -> None:
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    status, text = await _lean_answer(receive, headers, channel_id)
    extra = [(b"retry-after", b"5")] if status == 503 else []
    if settings.SECURE_HSTS_SECONDS and scope.get("scheme") == "https":
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        extra.append((b"strict-transport-security", hsts.encode()))
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_SECURITY_HEADERS, (b"content-length", str(len(body)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lean_answer(
    receive: Receive, headers: dict[str, str], channel_id: int
) -> tuple[int, str]:
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return 413, ""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return 400, ""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return 413, ""
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    raw = b"".join(chunks)
    signature = headers.get(SIGNATURE_HEADER.lower())
    kept = {name: headers[name.lower()] for name in KEPT_HEADERS if name.lower() in headers}
    try:
        status: int = await _WRITER.run(
            lambda: _take(channel_id, raw, signature, kept), timeout=WRITER_WAIT
        )
    except (DatabaseError, TimeoutError) as exc:
        log.warning("whatsapp webhook: delivery not stored: %s", type(exc).__name__)
        return 503, "Busy, try again"
    except Exception:  # never a 500: not stored, so Meta is asked to deliver again
        log.exception("whatsapp webhook: delivery not stored")
        return 503, "Busy, try again"
    return status, _TEXTS[status]


_TEXTS = {200: "OK", 401: "Signature missing", 403: "Signature invalid", 404: ""}


def _take(channel_id: int, raw: bytes, signature: str | None, headers: dict[str, str]) -> int:
    """In the writer thread, inside its batch's transaction: what the view does, in order."""
    key = ("channel", channel_id)
    if key not in _WRITER.cache:
        channel = _channel(channel_id)
        _WRITER.cache[key] = (channel, _secret(channel, "app_secret") if channel else "")
    channel, app_secret = _WRITER.cache[key]
    if channel is None:
        return 404
    if not signature:
        return 401
    if not signature_valid(raw, signature, app_secret):
        return 403
    services.store_delivery(channel, raw, headers)
    if channel.last_webhook_at is None or clock.now() - channel.last_webhook_at > timedelta(
        minutes=1
    ):
        channel.last_webhook_at = clock.now()
        Channel.objects.filter(pk=channel.pk).update(last_webhook_at=channel.last_webhook_at)
    return 200
