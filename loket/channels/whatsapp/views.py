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
import threading
from datetime import timedelta

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from loket.channels import secrets, services
from loket.channels.models import Channel, ChannelKind
from loket.core import clock, crypto

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
