"""Sending mail over SMTP with the channel's own server settings (email lessons §13, §7.10).

``build`` turns an outbound message into the mail the customer gets:

- From: the agent's name at the channel's address (never a customer's address), Reply-To the
  channel address;
- our own signed Message-ID (``ids.make``), In-Reply-To the customer mail we answer and
  References oldest first, so Gmail and Outlook keep the thread;
- a stable subject, "Re: <the customer's subject> [#1042]";
- text/plain and a generated text/html alternative, attachments with RFC 2231 names;
- automatic mail (``automatic=True``, or ``message.meta["automatic"]``) carries the RFC 3834
  headers; an agent's reply carries none of them.

``send`` checks the size, talks SMTP (TLS, STARTTLS or plain; password or XOAUTH2 login) and
maps every failure to a ``DeliveryError``: temporary ones (4xx replies, connection errors,
timeouts) are retried with backoff by ``tickets.services``, permanent ones (5xx, refused
login, a mail too large) fail the message at once with the server's words.
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail.utils import DNS_NAME
from django.template.defaultfilters import filesizeformat
from django.utils.html import escape, urlize
from django.utils.translation import gettext as _

from loket.channels import secrets as channel_secrets
from loket.channels.email import ids, inbound
from loket.channels.email.inbound import LOOP_MARKER
from loket.channels.items import DeliveryError, SendResult
from loket.channels.models import Channel
from loket.core import clock, crypto, site
from loket.tickets import subjects
from loket.tickets.models import Direction, Message

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 25 * 1024 * 1024  # the usual limit of Gmail, Microsoft 365 and most ISPs
MAX_REFERENCES = 20  # ids in References: the thread's first and the latest ones
SUBJECT_LIMIT = 110  # characters of the customer's subject kept (Zammad's default)
ID_LIMIT = 250  # longer "Message-IDs" from a customer's mail are not repeated


# --- headers that never fold inside an id ------------------------------------------------------
class _IdListHeader(UnstructuredHeader, BaseHeader):
    """Message-ID, In-Reply-To and References: folded between ids only.

    The default policy folds long unstructured headers by RFC 2047-encoding what does not fit,
    which turns a long Message-ID in References into ``=?utf-8?q?...?=`` garbage, and it folds
    a Message-ID onto the line after an empty ``Message-ID:``. Here every id stays whole; a
    line only grows past 78 characters when one id is that long (the hard limit is 998).
    """

    def fold(self, *, policy: Any) -> str:
        lines: list[str] = []
        line = f"{self.name}:"
        for word in str(self).split():
            if len(line) + 1 + len(word) > 78 and line.strip() and not line.endswith(":"):
                lines.append(line)
                line = ""
            line += f" {word}"
        lines.append(line)
        linesep: str = policy.linesep
        return linesep.join(lines) + linesep


_REGISTRY = HeaderRegistry()
for _name in ("message-id", "in-reply-to", "references"):
    _REGISTRY.map_to_type(_name, _IdListHeader)
# Built with the default policy (Unicode headers, RFC 2231 parameters) and 7-bit bodies
# (quoted-printable or base64: no server needs 8BITMIME); sent as SMTP bytes (CRLF).
POLICY = email_policy.default.clone(header_factory=_REGISTRY, cte_type="7bit")
WIRE_POLICY = email_policy.SMTP.clone(header_factory=_REGISTRY)
WIRE_POLICY_UTF8 = email_policy.SMTPUTF8.clone(header_factory=_REGISTRY)


# --- the subject ---------------------------------------------------------------------------------
def clean_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, our "[#N]" tokens and extra spacing, cut
    to ``SUBJECT_LIMIT``.

    Case and other systems' tokens ("[Ticket#123]") are kept: the customer recognises their
    own subject, and another helpdesk still threads its copy.
    """
    text = subjects.strip(subject)
    if len(text) > SUBJECT_LIMIT:
        text = text[: SUBJECT_LIMIT - 6].rstrip() + " [...]"
    return text


def reply_subject(subject: str, ticket_number: int, *, reply: bool) -> str:
    """ "Re: <subject> [#N]" (``reply``) or "<subject> [#N]"; the hook stays on the right."""
    text = clean_subject(subject) or _("Your message")
    return f"{'Re: ' if reply else ''}{text} [#{ticket_number}]"


# --- the thread ----------------------------------------------------------------------------------
def _usable_id(value: str | None) -> str:
    """A Message-ID we can repeat in a header ("" for hashes of id-less mail, WhatsApp ids)."""
    value = (value or "").strip().strip("<>")
    if not value or value.startswith("sha256:") or "@" not in value or len(value) > ID_LIMIT:
        return ""
    if any(ord(ch) <= 32 or ord(ch) > 126 or ch in "<>" for ch in value):
        return ""
    return value


def _dedupe(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        usable = _usable_id(value)
        if usable and usable not in seen:
            seen.add(usable)
            out.append(usable)
    return out


class Thread:
    """What the outbound mail answers: its parent id, References and the subject to keep."""

    def __init__(self, message: Message) -> None:
        earlier = list(
            Message.objects.filter(
                ticket_id=message.ticket_id,
                direction__in=[Direction.INBOUND, Direction.OUTBOUND],
                channel__kind="email",
                external_id__isnull=False,
            )
            .exclude(pk=message.pk)
            .filter(created_at__lte=message.created_at)
            .order_by("created_at", "pk")
            .only("pk", "direction", "external_id", "subject", "meta", "created_at")
        )
        earlier = [m for m in earlier if _usable_id(m.external_id)]
        inbound = [m for m in earlier if m.direction == Direction.INBOUND]
        # The mail answered: the one the agent picked, else the customer's latest (an
        # auto-reply only when nothing else came in), else our own previous mail.
        answered: Message | None = None
        reply_to = message.reply_to
        if reply_to is not None and reply_to in earlier:
            answered = reply_to
        elif inbound:
            human = [m for m in inbound if not (m.meta or {}).get("automatic")]
            answered = (human or inbound)[-1]
        elif earlier:
            answered = earlier[-1]
        self.answered = answered
        self.customer_mail = (
            answered if answered and answered.direction == Direction.INBOUND else None
        )
        self.in_reply_to = _usable_id(answered.external_id) if answered else ""
        # The References the ticket's first mail and the answered one came with (kept by
        # inbound.py as meta["references"], by us as meta["sent_headers"]["references"]).
        stored: list[str] = []
        for source in (inbound[0] if inbound else None, answered):
            meta = (source.meta or {}) if source is not None else {}
            sent = meta.get("sent_headers") or {}
            for refs in (meta.get("references"), sent.get("references")):
                stored += [v for v in refs or [] if isinstance(v, str)]
        # Those, then every earlier id of the ticket, oldest first, the parent last
        # (RFC 5322 §3.6.4).
        chain = _dedupe([*stored, *(m.external_id or "" for m in earlier), self.in_reply_to])
        if self.in_reply_to:
            chain = [ref for ref in chain if ref != self.in_reply_to] + [self.in_reply_to]
        if len(chain) > MAX_REFERENCES:
            chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
        self.references = chain
        subject = message.subject
        if not subject and self.customer_mail is not None:
            subject = self.customer_mail.subject
        if not subject:
            subject = message.ticket.subject
        self.subject = subject


# --- the body ------------------------------------------------------------------------------------
_HTML_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body style="{body_style}">
<div style="max-width:640px">
{body}
</div>
</body>
</html>
"""
_BODY_STYLE = (
    "margin:0;padding:16px;background:#ffffff;color:#1f2328;"
    "font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5"
)
_QUOTE_STYLE = "margin:0 0 1em;padding-left:12px;border-left:3px solid #d0d7de;color:#59636e"


def _paragraph(lines: list[str]) -> str:
    html = "<br>\n".join(urlize(line, nofollow=True, autoescape=True) for line in lines)
    return f'<p style="margin:0 0 1em">{html}</p>'


def text_to_html(text: str, *, title: str = "") -> str:
    """A small clean HTML page for a plain-text message: escaped, paragraphs and line breaks,
    links made clickable, "> " quotes as blockquotes; no external resources."""
    blocks: list[str] = []
    for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip()):
        lines = chunk.split("\n")
        if not chunk.strip():
            continue
        if all(line.startswith(">") for line in lines):
            inner = [re.sub(r"^> ?", "", line) for line in lines]
            blocks.append(f'<blockquote style="{_QUOTE_STYLE}">{_paragraph(inner)}</blockquote>')
        else:
            blocks.append(_paragraph(lines))
    return html_page("\n".join(blocks), title=title)


def html_page(body: str, *, title: str = "") -> str:
    """``body`` (safe HTML) in the page every HTML mail of ours uses."""
    return _HTML_PAGE.format(
        lang=escape(site.default_language()),
        title=escape(title),
        body_style=_BODY_STYLE,
        body=body,
    )


# --- building the mail ---------------------------------------------------------------------------
def _display_name(channel: Channel, message: Message) -> str:
    author = message.author
    name = ""
    if author is not None:
        name = author.name or ""
    if not name:
        name = channel.name or site.business_name()
    return " ".join(name.split())[:100]


def sender_domain(channel: Channel) -> str:
    return channel.address.rpartition("@")[2].strip().lower()


def mark_automatic(mail: EmailMessage, loop_marker: str = LOOP_MARKER) -> None:
    """Headers of every mail Loket sends by itself (email lessons §7.10): other robots do not
    answer it, and our own copy coming back is recognised (X-Loop, checked by inbound.py)."""
    replied = bool(mail.get("In-Reply-To"))
    for header in ("Auto-Submitted", "Precedence", "X-Loop", "X-Auto-Response-Suppress"):
        del mail[header]
    mail["Auto-Submitted"] = "auto-replied" if replied else "auto-generated"
    mail["Precedence"] = "bulk"
    mail["X-Loop"] = loop_marker
    mail["X-Auto-Response-Suppress"] = "All"


def _attach(mail: EmailMessage, message: Message) -> None:
    """The message's files as attachments; a name that is not plain ASCII goes out
    RFC 2231-encoded ("Faktur Januari \u2013 Toko Ibu.pdf" in UTF-8)."""
    for attachment in message.attachments.all().order_by("pk"):
        if not attachment.file or not attachment.file.name:
            raise DeliveryError(
                "attachment_missing",
                _("The attached file %(name)s is no longer stored.") % {"name": attachment.name},
            )
        try:
            with default_storage.open(attachment.file.name, "rb") as handle:
                data = handle.read()
        except FileNotFoundError as exc:
            raise DeliveryError(
                "attachment_missing",
                _("The attached file %(name)s is no longer stored.") % {"name": attachment.name},
            ) from exc
        except OSError as exc:  # the storage is unreachable for now
            raise DeliveryError(
                "attachment_unreadable",
                _("The attached file %(name)s could not be read (%(error)s); trying again.")
                % {"name": attachment.name, "error": exc},
                retryable=True,
            ) from exc
        maintype, _sep, subtype = (attachment.content_type or "").partition("/")
        if not maintype or not subtype or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        name = " ".join((attachment.name or "").split()) or "attachment"
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def build(channel: Channel, message: Message, *, automatic: bool | None = None) -> EmailMessage:
    """The mail for an outbound message. ``automatic`` defaults to ``message.meta["automatic"]``.

    An agent's reply carries no Auto-Submitted header at all: RFC 3834 reads "no" like a
    missing header, but some filters only check that the header is there.
    """
    ticket = message.ticket
    if message.identity is None:
        raise DeliveryError("no_recipient", _("The message has no recipient address."))
    domain = sender_domain(channel)
    if "@" not in channel.address or not domain:
        raise DeliveryError(
            "no_sender_address",
            _("The email channel has no address of its own to send from."),
        )
    if inbound.is_ours(message.identity.value):
        # It would come straight back in (and be dropped as our own), email lessons §13.8.
        raise DeliveryError(
            "recipient_is_us",
            _("%(to)s is one of our own mailboxes; the mail was not sent.")
            % {"to": message.identity.value},
        )
    thread = Thread(message)
    mail = EmailMessage(policy=POLICY)
    mail["From"] = formataddr((_display_name(channel, message), channel.address))
    mail["Reply-To"] = channel.address
    mail["To"] = message.identity.value
    subject = reply_subject(thread.subject, ticket.number, reply=bool(thread.in_reply_to))
    mail["Subject"] = subject
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = f"<{ids.make(ticket.number, message.pk, domain)}>"
    if thread.in_reply_to:
        mail["In-Reply-To"] = f"<{thread.in_reply_to}>"
    if thread.references:
        mail["References"] = " ".join(f"<{ref}>" for ref in thread.references)
    if automatic is None:
        automatic = bool((message.meta or {}).get("automatic"))
    if automatic:
        mark_automatic(mail)
    text = message.text or ""
    mail.set_content(text if text.endswith("\n") else text + "\n")
    if message.html:
        from loket.channels.email.parse import sanitize_html

        html = html_page(sanitize_html(message.html), title=subject)
    else:
        html = text_to_html(text, title=subject)
    mail.add_alternative(html, subtype="html")
    _attach(mail, message)
    for part in mail.walk():
        if part is not mail:
            del part["MIME-Version"]  # the email package repeats it in parts it moves down
    return mail


def to_bytes(mail: EmailMessage) -> bytes:
    """The mail as it goes over the wire (CRLF line ends; UTF-8 headers only when an address
    needs them, SMTPUTF8)."""
    addresses = "".join(
        address.addr_spec
        for header in ("From", "To", "Reply-To")
        for address in getattr(mail.get(header), "addresses", ())
    )
    policy = WIRE_POLICY if addresses.isascii() else WIRE_POLICY_UTF8
    return mail.as_bytes(policy=policy)


# --- sending -------------------------------------------------------------------------------------
def _reply_text(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {' '.join(text.split())}"[:500]


def _temporary(code: int) -> bool:
    return 400 <= code < 500


def max_bytes(channel: Channel) -> int:
    try:
        limit = int(channel.config.get("smtp_max_bytes") or DEFAULT_MAX_BYTES)
    except (TypeError, ValueError):
        limit = DEFAULT_MAX_BYTES
    return limit if limit > 0 else DEFAULT_MAX_BYTES


def _too_large(size: int, limit: int) -> DeliveryError:
    return DeliveryError(
        "too_large",
        _(
            "The mail is %(size)s, more than the %(limit)s the mail server takes; send fewer "
            "or smaller attachments."
        )
        % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
    )


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _connect(host: str, port: int, security: str, timeout: float) -> smtplib.SMTP:
    local = str(DNS_NAME)
    if security == "tls":
        return smtplib.SMTP_SSL(
            host, port, local_hostname=local, timeout=timeout, context=_tls_context()
        )
    client = smtplib.SMTP(host, port, local_hostname=local, timeout=timeout)
    if security == "none":
        return client
    try:
        client.ehlo()
        if not client.has_extn("starttls"):
            # Never fall back to sending in the clear (email lessons §11.12).
            raise DeliveryError(
                "smtp_no_starttls",
                _(
                    "The mail server does not offer STARTTLS, so nothing was sent. Choose TLS, "
                    "or no encryption if the server is on a trusted network."
                ),
            )
        client.starttls(context=_tls_context())
        client.ehlo()
    except BaseException:
        client.close()
        raise
    return client


def _login(client: smtplib.SMTP, channel: Channel) -> None:
    from loket.channels.email import oauth

    config = channel.config
    user = str(config.get("smtp_user") or "").strip()
    if oauth.uses_oauth(channel, "smtp"):
        _login_oauth(client, channel, user or channel.address)
        return
    if not user:
        return
    try:
        password = channel_secrets.get(channel, "smtp_password")
    except crypto.DecryptionError as exc:
        raise DeliveryError(
            "secret_unreadable",
            _("The stored SMTP password cannot be decrypted; type it again in the settings."),
        ) from exc
    client.login(user, password)


def _xoauth2(sasl: str) -> Callable[..., str]:
    # smtplib calls it without a challenge for the initial response; a second call carries
    # the server's error details (RFC 7628 §3.2.3), answered with an empty line.
    def respond(challenge: bytes | None = None) -> str:
        return sasl if challenge is None else ""

    return respond


def _login_oauth(client: smtplib.SMTP, channel: Channel, user: str) -> None:
    """AUTH XOAUTH2 with the channel's access token; a refused cached token is dropped and a
    fresh one tried once on the same connection."""
    from loket.channels.email import oauth

    client.ehlo_or_helo_if_needed()  # smtplib's auth() does not, unlike login()
    if "XOAUTH2" not in client.esmtp_features.get("auth", "").upper().split():
        raise DeliveryError(
            "smtp_not_supported",
            _("The mail server does not offer an OAuth2 (XOAUTH2) login."),
        )
    for attempt in (1, 2):
        try:
            token = oauth.bearer(channel, "smtp")
        except oauth.OAuthError as exc:
            raise DeliveryError(
                "smtp_oauth",
                _("No OAuth2 access token for the mail server: %(error)s") % {"error": exc},
                retryable=not exc.reauthorise,
            ) from exc
        try:
            client.auth("XOAUTH2", _xoauth2(oauth.xoauth2(user, token)), initial_response_ok=True)
            return
        except smtplib.SMTPAuthenticationError:
            oauth.forget(channel)
            if attempt == 2:
                raise


def _transmit(client: smtplib.SMTP, sender: str, recipient: str, raw: bytes) -> str:
    """MAIL, RCPT, DATA by hand: the final reply is kept (some providers put the id they
    gave the mail there), and the server's announced SIZE is checked first."""
    client.ehlo_or_helo_if_needed()
    options: list[str] = []
    if client.does_esmtp and client.has_extn("size"):
        announced = client.esmtp_features.get("size", "").strip()
        if announced.isdigit() and 0 < int(announced) < len(raw):
            raise _too_large(len(raw), int(announced))
        options.append(f"SIZE={len(raw)}")
    if not (sender + recipient).isascii() or not raw.isascii():
        # An internationalised address (RFC 6531): the headers are UTF-8 too.
        if not client.has_extn("smtputf8"):
            raise DeliveryError(
                "recipient_refused",
                _("The mail server cannot send to the address %(to)s (no SMTPUTF8).")
                % {"to": recipient},
            )
        options += ["SMTPUTF8", "BODY=8BITMIME"]
    code, reply = client.mail(sender, options)
    if code != 250:
        client.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = client.rcpt(recipient)
    if code not in (250, 251):
        client.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = client.data(raw)
    if code != 250:
        client.rset()
        raise smtplib.SMTPDataError(code, reply)
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"[:200]


def _quit(client: smtplib.SMTP) -> None:
    """QUIT, whatever it answers: once DATA was accepted the mail is on its way, and a
    failing goodbye must not make us send it again."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def send(channel: Channel, message: Message) -> SendResult:
    mail = build(channel, message)
    config = channel.config
    host = str(config.get("smtp_host", "")).strip()
    if not host:
        raise DeliveryError("smtp_not_configured", _("No SMTP server is set for this channel."))
    raw = to_bytes(mail)
    limit = max_bytes(channel)
    if len(raw) > limit:
        raise _too_large(len(raw), limit)
    port = int(config.get("smtp_port") or 587)
    security = str(config.get("smtp_security") or "starttls")
    timeout = float(config.get("smtp_timeout") or 30)
    recipient = mail["To"].addresses[0].addr_spec
    try:
        client = _connect(host, port, security, timeout)
        try:
            _login(client, channel)
            server_reply = _transmit(client, channel.address, recipient, raw)
        finally:
            _quit(client)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (550, b""))
        words = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        server = f"{code} {' '.join(words.split())}"[:500]
        raise DeliveryError(
            "recipient_refused",
            _("The mail server refused the address %(to)s: %(reply)s")
            % {"to": recipient, "reply": server},
            retryable=_temporary(code),
        ) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            "smtp_auth",
            _("The mail server rejected the login (%(reply)s); check the channel settings.")
            % {"reply": _reply_text(exc)},
            retryable=_temporary(exc.smtp_code),
        ) from exc
    except smtplib.SMTPResponseException as exc:
        if _temporary(exc.smtp_code):
            raise DeliveryError(
                "smtp_deferred",
                _("The mail server asked to try later (%(reply)s); trying again.")
                % {"reply": _reply_text(exc)},
                retryable=True,
            ) from exc
        if exc.smtp_code == 552:
            raise DeliveryError(
                "too_large",
                _("The mail server refused the mail as too large (%(reply)s).")
                % {"reply": _reply_text(exc)},
            ) from exc
        raise DeliveryError(
            "smtp_rejected",
            _("The mail server refused the mail: %(reply)s") % {"reply": _reply_text(exc)},
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(
            "smtp_not_supported",
            _("The mail server does not support what the channel settings ask (%(error)s).")
            % {"error": exc},
        ) from exc
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(
            "smtp_tls",
            _("The mail server's certificate could not be verified (%(error)s).")
            % {"error": exc.verify_message or exc},
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:  # timeouts, resets, refused connections
        raise DeliveryError(
            "smtp_unavailable",
            _("The mail server could not be reached (%(error)s); trying again.")
            % {"error": exc or type(exc).__name__},
            retryable=True,
        ) from exc
    message_id = str(mail["Message-ID"]).strip().strip("<>")
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    meta: dict[str, Any] = {
        "sent_headers": {
            "message_id": message_id,
            "in_reply_to": str(mail.get("In-Reply-To", "")).strip().strip("<>"),
            "references": [ref.strip("<>") for ref in str(mail.get("References", "")).split()],
            "subject": str(mail["Subject"]),
            "from": str(mail["From"]),
            "to": str(mail["To"]),
            "date": str(mail["Date"]),
        },
        "raw_headers": head[:8000],
        "raw_size": len(raw),
        "raw_sha256": hashlib.sha256(raw).hexdigest(),
        "smtp_reply": server_reply,
    }
    path = _keep_raw(raw, meta["raw_sha256"])
    if path:
        meta["raw_path"] = path
    return SendResult(external_id=message_id, meta=meta)


def _keep_raw(raw: bytes, digest: str) -> str:
    """The sent mail byte for byte, content-addressed beside the attachments (email lessons
    §13.10: what "show original" and bounce evidence need). The mail is already sent: a
    storage that fails is logged, never a failed send."""
    path = f"mail/sent/{digest[:2]}/{digest}.eml"
    try:
        if not default_storage.exists(path):
            path = default_storage.save(path, ContentFile(raw))
    except OSError as exc:
        log.warning("sent mail %s not kept: %s", digest[:12], exc)
        return ""
    return path
