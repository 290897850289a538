"""Fetch mail from an IMAP mailbox into raw deliveries.

Ownership model (email-lessons §11.1): Loket reads one folder and remembers, per channel, the
folder's UIDVALIDITY and the highest UID it has stored. Each new mail's bytes are fetched with
``BODY.PEEK[]`` (which does not mark it read), stored as a raw delivery, and only then marked
``\\Seen`` (``imap_after`` = ``flag``, the default) or moved to ``imap_move_to`` (``move``).
So a crash at any point loses nothing: at worst a mail is fetched again, and receiving is
idempotent on (channel, Message-ID).

- The first fetch of a channel takes the unread mail only (not years of old mail); after
  that every UID above the last one stored, read or not.
- When UIDVALIDITY changes (or the folder does), the UID state is dropped and the whole
  folder is read again; a mail whose Message-ID this channel already has is not stored again.
- Settings come from the channel's config (the email form's fields): ``imap_host``,
  ``imap_port``, ``imap_security`` (``tls``/``ssl``, ``starttls``, ``none``), ``imap_user``,
  ``imap_password`` (a secret) or ``imap_auth`` = ``oauth2`` (XOAUTH2 with a token from
  ``loket.channels.email.oauth``), ``imap_folder`` (INBOX), ``imap_after`` and
  ``imap_move_to``. The state is kept under ``imap_state``.
- A failure is recorded on the channel (``last_error``) and the next fetch tries again.
- Every fetch, good or bad, leaves its health in ``imap_state`` (``health()`` reads it): when
  it ran, the last one that got through, the last error and when, how many mails it stored,
  and whether a watcher uses IDLE or polls.
- One fetch per mailbox at a time: a database lease (``FetchLock``).
- A mail whose content cannot be fetched three times in a row is left in the mailbox, untouched,
  and named in the health; the mails after it come in (email-lessons §11.6).
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import os
import re
import select
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from loket.channels import secrets, services
from loket.channels.email import inbound, oauth
from loket.channels.models import Channel, Delivery
from loket.core import clock, leases

log = logging.getLogger(__name__)

TIMEOUT = 45  # seconds, for every step (email-lessons §11.7)
MAX_PER_RUN = 200  # mails stored per fetch; the rest come with the next one
GIVE_UP_AFTER = 3  # fetches failing on the same mail's content before it is left behind
GIVEN_UP_KEPT = 20  # of those, the latest ones shown in the channel's health
STATE_KEY = "imap_state"


class ImapError(Exception):
    """Something stopped a fetch; the text is for the admin."""


class Reauthorise(ImapError):
    """The OAuth2 authorisation is gone (revoked, expired): only an admin can fix it, by
    storing a new refresh token; trying again before that only annoys the provider."""


@dataclass
class FetchResult:
    stored: list[int] = field(default_factory=list)  # delivery ids, in UID order
    skipped: int = 0  # already known by Message-ID (after a UIDVALIDITY change)
    uidvalidity_changed: bool = False
    more: bool = False  # the per-run cap was reached
    busy: bool = False  # another fetch of this mailbox was running: nothing done
    reauthorise: bool = False  # the OAuth2 grant is gone: an admin must authorise again
    given_up: list[int] = field(default_factory=list)  # UIDs left behind (see _give_up)
    fetching: int = 0  # the UID whose content was being fetched when the fetch failed
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def fetch_once(channel: Channel, *, limit: int = MAX_PER_RUN) -> FetchResult:
    """Store the folder's new mail as deliveries (see the module text); never raises for
    server or network trouble: the result and the channel carry the error.

    One fetch per mailbox at a time (email-lessons §10.3), whichever process or thread asks:
    the others return at once with ``busy`` set.
    """
    result = FetchResult()
    lock = FetchLock(channel)
    if not lock.acquire():
        result.busy = True
        return result
    imap: imaplib.IMAP4 | None = None
    try:
        imap = connect(channel)
        _fetch(channel, imap, result, limit, lock)
    except (ImapError, imaplib.IMAP4.error, OSError, ssl.SSLError, EOFError) as exc:
        result.error = _describe(exc)
        result.reauthorise = isinstance(exc, Reauthorise)
        log.warning("IMAP fetch for channel %s failed: %s", channel.pk, result.error)
        _record_error(channel, result)
    else:
        _record_success(channel, result)
    finally:
        if imap is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError, EOFError):
                imap.logout()
        lock.release()
    return result


class FetchLock:
    """A database lease on one mailbox (``loket.core.leases``: a conditional UPDATE, so it
    holds on SQLite and PostgreSQL alike). It expires by itself when its holder dies, and is
    renewed after every stored mail while a long fetch runs."""

    TTL = timedelta(minutes=5)

    def __init__(self, channel: Channel) -> None:
        self.name = f"imap-fetch:{channel.pk}"
        self.holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"

    def acquire(self) -> bool:
        return leases.acquire(self.name, self.holder, self.TTL)

    def renew(self) -> None:
        if not leases.acquire(self.name, self.holder, self.TTL):
            raise ImapError(_("Another fetch of this mailbox took over; this one stopped."))

    def release(self) -> None:
        leases.release(self.name, self.holder)


def connect(channel: Channel) -> imaplib.IMAP4:
    """A logged-in connection to the channel's IMAP server."""
    config = channel.config
    host = str(config.get("imap_host") or "").strip()
    if not host:
        raise ImapError(_("No IMAP server is set for this channel."))
    security = str(config.get("imap_security") or "tls").lower()
    port = int(config.get("imap_port") or (993 if security in ("tls", "ssl") else 143))
    context = ssl.create_default_context()
    imap: imaplib.IMAP4
    if security in ("tls", "ssl"):
        imap = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=TIMEOUT)
    else:
        imap = imaplib.IMAP4(host, port, timeout=TIMEOUT)
        if security == "starttls":
            # Never fall back to plain text silently (email-lessons §11.12).
            try:
                imap.starttls(ssl_context=context)
            except (imaplib.IMAP4.error, ssl.SSLError, OSError) as exc:
                imap.shutdown()
                raise ImapError(
                    _("The IMAP server did not accept STARTTLS: %(error)s")
                    % {"error": _describe(exc)}
                ) from exc
        elif security != "none":
            imap.shutdown()
            raise ImapError(_("Unknown IMAP security setting: %(value)s") % {"value": security})
    try:
        _login(channel, imap)
    except BaseException:
        imap.shutdown()
        raise
    return imap


def _login(channel: Channel, imap: imaplib.IMAP4) -> None:
    user = str(channel.config.get("imap_user") or channel.address or "")
    try:
        if oauth.uses_oauth(channel, "imap"):
            try:
                token = oauth.bearer(channel, "imap")
            except oauth.OAuthError as exc:
                raise (Reauthorise if exc.reauthorise else ImapError)(str(exc)) from None
            sasl = oauth.xoauth2(user, token).encode()
            try:
                imap.authenticate("XOAUTH2", lambda _challenge: sasl)
            except imaplib.IMAP4.error:
                oauth.forget(channel)  # the next login gets a fresh token
                raise
        else:
            imap.login(user, secrets.get(channel, "imap_password"))
    except imaplib.IMAP4.error as exc:
        raise ImapError(
            _("The IMAP server refused the login for %(user)s: %(error)s")
            % {"user": user, "error": _describe(exc)}
        ) from exc


def _fetch(
    channel: Channel, imap: imaplib.IMAP4, result: FetchResult, limit: int, lock: FetchLock
) -> None:
    folder = str(channel.config.get("imap_folder") or "INBOX")
    typ, data = imap.select(encode_folder(folder))
    if typ != "OK":
        raise ImapError(
            _("The IMAP folder %(folder)s cannot be opened: %(error)s")
            % {"folder": folder, "error": _text(data)}
        )
    uidvalidity = int(_text(imap.untagged_responses.get("UIDVALIDITY", [b"0"])) or 0)
    uidnext = int(_text(imap.untagged_responses.get("UIDNEXT", [b"0"])) or 0)
    state = channel.config.get(STATE_KEY) or {}
    known = state.get("folder") == folder and state.get("uidvalidity") == uidvalidity
    last_uid = int(state.get("last_uid") or 0) if known else 0
    if not known:
        # The first fetch takes the unread mail; a changed UIDVALIDITY (or folder) rereads
        # everything. Either mode lasts until a fetch gets through the whole folder.
        first = "uidvalidity" not in state
        result.uidvalidity_changed = not first
        mode = "unseen" if first else "rescan"
        _save_state(
            channel, folder=folder, uidvalidity=uidvalidity, last_uid=0, mode=mode, trying={}
        )
    mode = str(state.get("mode") or "") if known else mode

    criteria = "UNSEEN" if mode == "unseen" else f"UID {last_uid + 1}:*"
    typ, data = imap.uid("SEARCH", criteria)
    if typ != "OK":
        raise ImapError(_("The IMAP search failed: %(error)s") % {"error": _text(data)})
    # "N:*" always matches the last mail, even below N; servers answer in no set order.
    uids = sorted(uid for uid in (int(x) for x in (data[0] or b"").split()) if uid > last_uid)
    if len(uids) > limit:
        uids, result.more = uids[:limit], True
    capabilities = set(imap.capabilities)
    trying = (state.get("trying") or {}) if known else {}  # UIDs of another UIDVALIDITY
    for uid in uids:
        if trying.get("uid") == uid and int(trying.get("count") or 0) >= GIVE_UP_AFTER:
            _give_up(channel, result, uid, str(trying.get("error") or ""))
            last_uid = uid
            _save_state(channel, folder=folder, uidvalidity=uidvalidity, last_uid=uid)
            continue
        result.fetching = uid
        raw, oversized = _body(imap, uid)
        result.fetching = 0
        message_id = inbound.header_message_id(raw)
        if mode == "rescan" and message_id and _already_have(channel, message_id):
            result.skipped += 1
        else:
            headers = _noted(uid, uidvalidity, message_id, oversized, folder)
            result.stored.append(services.store_delivery(channel, raw, headers).pk)
        # Stored (committed) first; only then does the server hear that we have it.
        last_uid = uid
        _save_state(channel, folder=folder, uidvalidity=uidvalidity, last_uid=uid)
        _done_with(channel, imap, uid, capabilities)
        lock.renew()
    if mode and not result.more:
        # Unread mail all taken: the read mail below UIDNEXT stays where it is.
        if mode == "unseen":
            last_uid = max(last_uid, uidnext - 1)
        _save_state(channel, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid, mode="")


def _noted(
    uid: int, uidvalidity: int, message_id: str, oversized: int, folder: str
) -> dict[str, str]:
    """What the delivery keeps about where the mail came from."""
    headers = {"source": "imap", "uid": str(uid), "uidvalidity": str(uidvalidity)}
    if message_id:
        headers["message_id"] = message_id
    if oversized:
        headers["oversized"] = str(oversized)
        headers["folder"] = folder
    return headers


_SIZE = re.compile(rb"RFC822\.SIZE (\d+)", re.IGNORECASE)


def _size(imap: imaplib.IMAP4, uid: int) -> int:
    """The mail's size as the server reports it (0 when it does not say)."""
    typ, data = imap.uid("FETCH", str(uid), "(RFC822.SIZE)")
    for part in data if typ == "OK" else []:
        line = part[0] if isinstance(part, tuple) else part
        found = _SIZE.search(line) if isinstance(line, bytes) else None
        if found:
            return int(found.group(1))
    return 0


def _body(imap: imaplib.IMAP4, uid: int) -> tuple[bytes, int]:
    """The raw mail, and 0; or, for a mail above ``LOKET_EMAIL_MAX_BYTES``, its header block
    only and its size (lessons §9.1: decided before downloading; the mail stays on the
    server, and the ticket says so)."""
    size = _size(imap, uid)
    if size > settings.LOKET_EMAIL_MAX_BYTES:
        return _fetched(imap, uid, "BODY.PEEK[HEADER]"), size
    return _fetched(imap, uid, "BODY.PEEK[]"), 0


def _fetched(imap: imaplib.IMAP4, uid: int, what: str) -> bytes:
    typ, data = imap.uid("FETCH", str(uid), f"({what})")
    if typ != "OK":
        raise ImapError(
            _("Mail UID %(uid)s could not be fetched: %(error)s")
            % {"uid": uid, "error": _text(data)}
        )
    for part in data:
        if isinstance(part, tuple) and len(part) == 2:
            return bytes(part[1])
    raise ImapError(_("Mail UID %(uid)s came back without its content.") % {"uid": uid})


def _already_have(channel: Channel, message_id: str) -> bool:
    from loket.tickets.models import Message

    return (
        Message.objects.filter(channel=channel, external_id=message_id).exists()
        or Delivery.objects.filter(channel=channel, headers__message_id=message_id).exists()
    )


def _done_with(channel: Channel, imap: imaplib.IMAP4, uid: int, capabilities: set[str]) -> None:
    after = str(channel.config.get("imap_after") or "flag").lower()
    target = str(channel.config.get("imap_move_to") or "").strip()
    if after != "move" or not target:
        _check(imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), uid)
        return
    mailbox = encode_folder(target)
    if "MOVE" in capabilities:
        _check(imap.uid("MOVE", str(uid), mailbox), uid)
        return
    _check(imap.uid("COPY", str(uid), mailbox), uid)
    _check(imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen \Deleted)"), uid)
    if "UIDPLUS" in capabilities:
        _check(imap.uid("EXPUNGE", str(uid)), uid)
    else:
        _check(imap.expunge(), uid)


def _check(answer: tuple[str, Any], uid: int) -> None:
    typ, data = answer
    if typ != "OK":
        raise ImapError(
            _("Mail UID %(uid)s was stored, but the server refused to mark it: %(error)s")
            % {"uid": uid, "error": _text(data)}
        )


def _save_state(channel: Channel, **state: Any) -> None:
    """Write the UID state into the stored config (other settings as they are now).

    An UPDATE rather than ``save()``: the state holds no secret to seal, and a channel
    "changed" signal per fetched mail would only empty caches (our own addresses).
    """
    with transaction.atomic():
        fresh = Channel.objects.select_for_update().get(pk=channel.pk)
        config = dict(fresh.config)
        config[STATE_KEY] = {**(config.get(STATE_KEY) or {}), **state}
        Channel.objects.filter(pk=channel.pk).update(config=config)
    channel.config = config


def _record_error(channel: Channel, result: FetchResult) -> None:
    """The failed fetch, on the channel (its error column) and in the health state; and when
    it failed on one mail's content, one more try counted against that mail."""
    now = clock.now()
    text = (_("IMAP: %(error)s") % {"error": result.error})[:2000]
    Channel.objects.filter(pk=channel.pk).update(last_error=text, last_error_at=now)
    channel.last_error = text
    channel.last_error_at = now
    extra: dict[str, Any] = {}
    if result.fetching:
        trying = (channel.config.get(STATE_KEY) or {}).get("trying") or {}
        count = int(trying.get("count") or 0) + 1 if trying.get("uid") == result.fetching else 1
        extra["trying"] = {"uid": result.fetching, "count": count, "error": result.error[:500]}
    _save_state(
        channel,
        error=text,
        error_at=now.isoformat(),
        fetched_at=now.isoformat(),
        fetched=len(result.stored),
        reauthorise=result.reauthorise,
        **extra,
    )


def _give_up(channel: Channel, result: FetchResult, uid: int, error: str) -> None:
    """A mail whose content failed to come ``GIVE_UP_AFTER`` times is left where it is
    (untouched, so a person can look at it in the mailbox) and the mail after it is fetched:
    one broken mail must not stop all the others (email-lessons §11.6)."""
    log.warning(
        "IMAP channel %s: mail UID %s left behind after %s tries: %s",
        channel.pk,
        uid,
        GIVE_UP_AFTER,
        error,
    )
    result.given_up.append(uid)
    state = channel.config.get(STATE_KEY) or {}
    entry = {"uid": uid, "error": error[:500], "at": clock.now().isoformat()}
    given_up = [*(state.get("given_up") or []), entry][-GIVEN_UP_KEPT:]
    _save_state(channel, given_up=given_up, trying={})


def _record_success(channel: Channel, result: FetchResult) -> None:
    """The fetch's numbers in the health state; the channel's error cleared if a fetch left it
    (not a delivery's)."""
    now = clock.now().isoformat()
    previous = (channel.config.get(STATE_KEY) or {}).get("error")
    if previous:
        Channel.objects.filter(pk=channel.pk, last_error=previous).update(last_error="")
        if channel.last_error == previous:
            channel.last_error = ""
    _save_state(
        channel,
        error="",
        reauthorise=False,
        fetched_at=now,
        ok_at=now,
        fetched=len(result.stored),
        skipped=result.skipped,
    )


def record_watch(channel: Channel, mode: str) -> None:
    """How new mail is noticed: "idle" (the server pushes) or "polling"; saved on change."""
    if (channel.config.get(STATE_KEY) or {}).get("watch") != mode:
        _save_state(channel, watch=mode)


@dataclass(frozen=True)
class GivenUp:
    uid: int
    error: str
    at: datetime | None


@dataclass(frozen=True)
class Health:
    """What the admin sees about a mailbox's fetching (from ``imap_state``)."""

    fetched_at: datetime | None = None  # the last fetch, whatever its outcome
    ok_at: datetime | None = None  # the last fetch that got through
    error: str = ""
    error_at: datetime | None = None
    fetched: int = 0  # mails stored by the last fetch
    folder: str = ""
    uidvalidity: int = 0
    last_uid: int = 0
    watch: str = ""  # "idle", "polling" or "" (no watcher has run yet)
    reauthorise: bool = False  # the OAuth2 grant is gone: fetching waits for a new one
    given_up: tuple[GivenUp, ...] = ()  # mails left in the mailbox, the latest last

    @property
    def failing(self) -> bool:
        return bool(self.error)


def health(channel: Channel) -> Health:
    state = channel.config.get(STATE_KEY) or {}

    def moment(key: str) -> datetime | None:
        return _moment(state, key)

    def number(key: str) -> int:
        try:
            return int(state.get(key) or 0)
        except (TypeError, ValueError):
            return 0

    return Health(
        fetched_at=moment("fetched_at"),
        ok_at=moment("ok_at"),
        error=str(state.get("error") or ""),
        error_at=moment("error_at") if state.get("error") else None,
        fetched=number("fetched"),
        folder=str(state.get("folder") or ""),
        uidvalidity=number("uidvalidity"),
        last_uid=number("last_uid"),
        watch=str(state.get("watch") or ""),
        reauthorise=bool(state.get("reauthorise")) and bool(state.get("error")),
        given_up=tuple(
            GivenUp(int(entry.get("uid") or 0), str(entry.get("error") or ""), _moment(entry, "at"))
            for entry in state.get("given_up") or []
            if isinstance(entry, dict)
        ),
    )


def _moment(values: dict[str, Any], key: str) -> datetime | None:
    try:
        return datetime.fromisoformat(str(values[key])) if values.get(key) else None
    except ValueError:
        return None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, bytes):
        text = exc.decode("utf-8", "replace")
    text = re.sub(r"^b'(.*)'$", r"\1", text)
    return text or type(exc).__name__


def _text(data: Any) -> str:
    if isinstance(data, list | tuple):
        data = data[-1] if data else b""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data or "")


def encode_folder(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3), quoted for imaplib."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    encoded = "".join(out)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


IDLE_LIMIT = 25 * 60  # servers may end IDLE after 30 minutes (email-lessons §11.10)
STOP_CHECK = 0.5  # seconds: how soon a waiting IDLE notices it should stop


def idle(channel: Channel, timeout: float, stop: threading.Event | None = None) -> bool:
    """Wait up to ``timeout`` seconds for new mail in the channel's folder; True when the
    server announced some. Only a wake-up hint: the caller fetches afterwards either way.

    Uses IMAP IDLE when the server offers it; otherwise (or on any trouble) it just waits,
    which makes the caller a plain poller. ``stop`` ends the wait early.
    """
    stop = stop or threading.Event()
    timeout = max(0.0, min(timeout, IDLE_LIMIT))
    deadline = time.monotonic() + timeout
    try:
        conn = connect(channel)
    except (ImapError, imaplib.IMAP4.error, OSError, ssl.SSLError, EOFError) as exc:
        log.info("IMAP IDLE for channel %s: cannot connect (%s); polling", channel.pk, exc)
        stop.wait(max(0.0, deadline - time.monotonic()))
        return False
    try:
        folder = str(channel.config.get("imap_folder") or "INBOX")
        if "IDLE" not in conn.capabilities or conn.select(encode_folder(folder))[0] != "OK":
            record_watch(channel, "polling")
            stop.wait(max(0.0, deadline - time.monotonic()))
            return False
        record_watch(channel, "idle")
        if _missed(channel, conn, folder):
            return True  # came between the last fetch and now: IDLE would not announce it
        return _idle(conn, deadline, stop)
    except (imaplib.IMAP4.error, OSError, ssl.SSLError, EOFError) as exc:
        log.info("IMAP IDLE for channel %s ended: %s", channel.pk, exc)
        return False
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError, EOFError):
            conn.logout()


def _missed(channel: Channel, conn: imaplib.IMAP4, folder: str) -> bool:
    """The folder (just selected) holds mail above the last UID stored."""
    state = channel.config.get(STATE_KEY) or {}
    uidvalidity = int(_text(conn.untagged_responses.get("UIDVALIDITY", [b"0"])) or 0)
    uidnext = int(_text(conn.untagged_responses.get("UIDNEXT", [b"0"])) or 0)
    if state.get("folder") != folder or state.get("uidvalidity") != uidvalidity:
        return True
    return uidnext > int(state.get("last_uid") or 0) + 1


def _pending(conn: imaplib.IMAP4) -> bool:
    """Bytes already read off the socket into imaplib's buffer (or TLS's): ``select`` cannot
    see them. "+ idling" and "* 3 EXISTS" often come in one packet, and the line after the
    first would otherwise wait in the buffer until the IDLE times out."""
    peek = getattr(conn.file, "peek", None)  # a BufferedReader over the socket
    if peek is None:
        return False
    sock = conn.sock
    timeout = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        return bool(peek(1))
    except (BlockingIOError, ssl.SSLWantReadError, InterruptedError):
        return False
    finally:
        sock.settimeout(timeout)


def _idle(conn: imaplib.IMAP4, deadline: float, stop: threading.Event) -> bool:
    """RFC 2177 by hand (``imaplib`` has no IDLE before Python 3.14)."""
    tag = f"LKIDLE{int(time.monotonic() * 1000) % 100000}".encode()
    conn.send(tag + b" IDLE\r\n")
    if not conn.readline().startswith(b"+"):
        raise imaplib.IMAP4.error("the server did not start IDLE")
    arrived = False
    while not arrived and not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if not _pending(conn):
            ready, _w, _x = select.select([conn.sock], [], [], min(remaining, STOP_CHECK))
            if not ready:
                continue
        line = conn.readline()
        if not line:
            raise EOFError("the IMAP server closed the connection")
        arrived = bool(re.match(rb"\* \d+ (EXISTS|RECENT)", line))
    conn.send(b"DONE\r\n")
    while True:
        line = conn.readline()
        if not line:
            raise EOFError("the IMAP server closed the connection")
        if line.startswith(tag + b" "):
            return arrived
