"""RFC 822 mail → normalised items. (The email channel issue deepens this, lesson by lesson.)"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import re
from datetime import datetime
from email.message import EmailMessage, Message

from loket.channels.email import parse
from loket.channels.items import InboundMessage, Sender

TICKET_TOKEN = re.compile(r"\[#(\d{1,12})\]")
_MSGID = re.compile(r"<([^<>\s]+)>")


class UnreadableMail(ValueError):
    pass


def message_ids(value: str | None) -> list[str]:
    """The Message-IDs in an In-Reply-To or References header, without angle brackets."""
    if not value:
        return []
    return _MSGID.findall(str(value))


# The sanitiser of the robust parser; kept here for callers of the old name.
sanitize_html = parse.sanitize_html


def is_automatic(msg: Message) -> bool:
    """RFC 3834 Auto-Submitted and the usual vendor headers of auto-replies."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return True
    precedence = str(msg.get("Precedence", "")).strip().lower()
    return precedence in {"auto_reply", "bulk", "junk"}


def parse_mail(raw: bytes) -> InboundMessage:
    try:
        parsed = parse.parse(raw)
    except Exception as exc:  # parse falls back on its own; this is a last resort
        raise UnreadableMail(f"cannot parse mail: {exc}") from exc
    msg, problems = parsed.message, parsed.problems
    name, address = parse.sender(msg, problems)
    if "@" not in address:
        raise UnreadableMail("mail has no sender address")
    message_id_list = message_ids(parse.header(msg, "Message-ID", problems))
    external_id = (
        message_id_list[0] if message_id_list else ("sha256:" + hashlib.sha256(raw).hexdigest())
    )
    subject = parse.header(msg, "Subject", problems)
    text, html, attachments = parsed.text, parsed.html, parsed.attachments
    sent_at: datetime | None = None
    try:
        date = parse.header(msg, "Date", problems)
        sent_at = email.utils.parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        sent_at = None
    if sent_at is not None and sent_at.tzinfo is None:
        sent_at = None
    token = TICKET_TOKEN.search(subject)
    return InboundMessage(
        external_id=external_id,
        sender=Sender(kind="email", value=address, name=name),
        text=text,
        html=html,
        subject=subject,
        sent_at=sent_at,
        attachments=attachments,
        reply_to_external_id=(message_ids(parse.header(msg, "In-Reply-To", problems)) or [""])[0],
        thread_external_ids=message_ids(parse.header(msg, "References", problems)),
        ticket_number=int(token.group(1)) if token else None,
        automatic=is_automatic(msg),
        meta={
            "message_id": external_id,
            "to": parse.header(msg, "To", problems)[:500],
            **({"parse_problems": sorted(set(problems))[:20]} if problems else {}),
        },
    )


def as_email_message(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(parsed, EmailMessage):
        raise UnreadableMail("not an email message")
    return parsed
