"""WhatsApp media: download what customers send, upload what agents attach (reference §1.10).

Download is two steps: ``GET /{media_id}`` gives a URL that lives five minutes, then the URL
is fetched with the same Bearer token. An expired URL (a 4xx on the file) is fetched afresh
from the media id once; network trouble and 5xx are retried a few times with a short backoff;
any other 4xx is final at once (no retry storm). The bytes are checked against the sha256
Meta gives, and the size against both Meta's and Loket's attachment limit.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from loket.channels.models import Channel
from loket.channels.whatsapp import errors, graph
from loket.channels.whatsapp.graph import GraphError, TooLarge

log = logging.getLogger(__name__)

MB = 1024 * 1024
# Meta's limits per WhatsApp media type (§1.10). Inbound files over 100 MB never arrive.
LIMITS = {
    "audio": 16 * MB,
    "document": 100 * MB,
    "image": 5 * MB,
    "video": 16 * MB,
    "sticker": 500 * 1024,
}
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
VIDEO_TYPES = frozenset({"video/mp4", "video/3gpp"})
AUDIO_TYPES = frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"})

ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
# Replaced by tests that run on a controlled clock.
sleep: Callable[[float], None] = time.sleep


class MediaError(Exception):
    """A file could not be fetched or sent. ``reason`` is for people (translated)."""

    def __init__(self, reason: str, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str
    filename: str


def kind_for(content_type: str) -> str:
    """The WhatsApp message type that carries a file of ``content_type``.

    Only what every phone plays is sent as media; the rest (webp included) goes as a
    document, which always arrives.
    """
    base = content_type.split(";", maxsplit=1)[0].strip().lower()
    if base in IMAGE_TYPES:
        return "image"
    if base in VIDEO_TYPES:
        return "video"
    if base in AUDIO_TYPES:
        return "audio"
    return "document"


def _too_large(size: int, limit: int) -> MediaError:
    return MediaError(
        _("File too large (%(size)s; the limit is %(limit)s).")
        % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
        transient=False,
    )


def _size(value: Any) -> int | None:
    """Meta's ``file_size``: a number in most answers, a string in some."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _failed(err: GraphError, channel: Channel) -> MediaError:
    """A failed fetch in words that fit a file (the error table speaks of messages)."""
    mapped = errors.classify(err.code)
    transient = err.transient or (err.code != graph.NETWORK and mapped.retry == "backoff")
    if mapped.channel_level:
        errors.flag_channel(channel, err)
        reason = mapped.reason
    elif transient:
        reason = _("WhatsApp could not be reached to fetch the file; it can be fetched later.")
    elif err.code == 100 or err.http_status == 404:
        reason = _("WhatsApp no longer has this file (it keeps files for 7 days).")
    else:
        reason = _("WhatsApp refused to hand over the file (error %(code)s).") % {"code": err.code}
    return MediaError(reason, transient=transient)


def download(
    channel: Channel, media_id: str, *, sha256: str = "", mime_type: str = ""
) -> Downloaded:
    """Fetch one inbound file. Raises MediaError (``transient``: worth trying later)."""
    limit = min(LIMITS["document"], int(settings.LOKET_MAX_ATTACHMENT_BYTES))
    client = graph.client(channel)
    failures = 0
    refetched = False
    while True:
        try:
            info = client.get(media_id)
            declared = _size(info.get("file_size"))
            if declared is not None and declared > limit:
                raise _too_large(declared, limit)
            url = str(info.get("url") or "")
            if not url:
                raise MediaError(_("WhatsApp gave no address for the file."), transient=False)
            try:
                response = client.download(url, max_bytes=limit)
            except GraphError as err:
                if 400 <= err.http_status < 500 and not refetched:
                    # The five-minute URL expired (or was refused): ask for a fresh one, once.
                    log.info("media %s: URL refused (%s), asking again", media_id, err.http_status)
                    refetched = True
                    continue
                raise
            data = response.content
            expected = (sha256 or str(info.get("sha256") or "")).strip().lower()
            if expected and hashlib.sha256(data).hexdigest() != expected:
                log.warning("media %s: sha256 mismatch", media_id)
                raise MediaError(
                    _("The file arrived damaged (its checksum does not match)."), transient=True
                )
        except TooLarge as exc:
            raise _too_large(exc.size, limit) from None
        except (GraphError, MediaError) as exc:
            error = _failed(exc, channel) if isinstance(exc, GraphError) else exc
            failures += 1
            if not error.transient or failures >= ATTEMPTS:
                raise error from None
            sleep(BACKOFF_SECONDS * 2 ** (failures - 1))
            continue
        content_type = (
            str(info.get("mime_type") or "")
            or mime_type
            or response.headers.get("content-type", "").split(";")[0]
            or "application/octet-stream"
        )
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
        return Downloaded(data=data, content_type=content_type, filename=f"{media_id}{extension}")


def upload(channel: Channel, data: bytes, content_type: str, filename: str) -> str:
    """Upload one file for sending; returns Meta's media id.

    Raises MediaError when the file is over Meta's limit for its type; Graph failures
    propagate as GraphError so the sender can map them like any other (131053...).
    """
    limit = LIMITS[kind_for(content_type)]
    if len(data) > limit:
        raise _too_large(len(data), limit)
    phone_number_id = str(channel.config.get("phone_number_id", ""))
    answer = graph.client(channel).post(
        f"{phone_number_id}/media",
        files={"file": (filename or "file", data, content_type)},
        data={"type": content_type, "messaging_product": "whatsapp"},
    )
    media_id = str(answer.get("id") or "")
    if not media_id:
        raise GraphError(graph.NETWORK, title="upload", details="No media id in the answer.")
    return media_id
