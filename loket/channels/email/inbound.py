"""RFC 822 mail → normalised items, with the email lessons' rules on noise and identity.

``items`` decides what a mail is before it becomes a message: a bounce marks our outbound
message failed (§8), our own mail coming back is not ingested (§6, §7.7), automated mail is
flagged so it never reopens a ticket or gets an answer (§7), and the sender is the From
addr-spec, with warnings when the display name or the receiving server's authentication
results suggest a forgery (§14).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import re
import time
from datetime import datetime
from email.message import EmailMessage, Message
from typing import Any

from django.utils.translation import gettext as _

from loket.channels.email import ids, noise, parse
from loket.channels.items import InboundMessage, Item, Notice, Sender, StatusUpdate
from loket.channels.models import Channel, ChannelKind
from loket.tickets import subjects
from loket.tickets.models import DeliveryStatus

_MSGID = re.compile(r"<([^<>\s]+)>")
_ADDRESS_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_DMARC_FAIL = re.compile(r"\bdmarc\s*=\s*fail\b", re.IGNORECASE)
# X-Loop value on mail Loket sends automatically (the transport sets it).
LOOP_MARKER = "loket"
_OUT_OF_OFFICE_SUBJECT = re.compile(
    r"out of (the )?office|automatic reply|auto(matic)?[- ]?reply|vacation|abwesenheit"
    r"|balasan otomatis|sedang cuti|di luar kantor|tidak di kantor",
    re.IGNORECASE,
)


class UnreadableMail(ValueError):
    pass


def message_ids(value: str | None) -> list[str]:
    """The Message-IDs in an In-Reply-To or References header, without angle brackets."""
    if not value:
        return []
    return _MSGID.findall(str(value))


# The sanitiser of the robust parser; kept here for callers of the old name.
sanitize_html = parse.sanitize_html


def header_message_id(raw: bytes) -> str:
    """The Message-ID of a raw mail, read off its header block with one pattern (cheap: for
    deduplication and logs, before or without parsing), or ``""``."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = re.search(rb"^message-id:[ \t]*((?:.|\r?\n[ \t])*)", head, re.I | re.M)
    if not found:
        return ""
    ids = message_ids(found.group(1).decode("ascii", "replace"))
    return ids[0] if ids else ""


# --- our own addresses ------------------------------------------------------------------------
_OURS_TTL = 30.0  # seconds: a new alias is honoured within half a minute, without a query per mail
_ours: dict[str, Any] = {"at": 0.0, "addresses": frozenset()}


def _base(address: str) -> str:
    """The address without a +tag ("cs+1042@toko.id" is "cs@toko.id"), lower-cased."""
    local, _at, domain = address.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def our_addresses() -> frozenset[str]:
    """Every address an email channel serves (its address and aliases), +tags removed."""
    found: frozenset[str] = _ours["addresses"]
    if found and time.monotonic() - _ours["at"] < _OURS_TTL:
        return found
    addresses: set[str] = set()
    for address, config in Channel.objects.filter(kind=ChannelKind.EMAIL).values_list(
        "address", "config"
    ):
        aliases = (config or {}).get("aliases") or []
        if isinstance(aliases, str):
            aliases = re.split(r"[\s,;]+", aliases)
        addresses.update(_base(a) for a in [address, *aliases] if a and "@" in str(a))
    found = frozenset(addresses)
    _ours.update(at=time.monotonic(), addresses=found)
    return found


def forget_addresses() -> None:
    """Drop the cached address list (a channel was added or changed)."""
    _ours.update(at=0.0, addresses=frozenset())


def is_ours(address: str) -> bool:
    return "@" in address and _base(address) in our_addresses()


# --- what a mail is ----------------------------------------------------------------------------
def items(channel: Channel, raw: bytes, received: dict[str, Any] | None = None) -> list[Item]:
    """The items one raw mail stands for: a bounce's status, a notice, or a message.

    ``received`` is what the receiving side noted with the raw bytes (the delivery's headers:
    an IMAP mail too large to download has ``oversized`` = its size, and only its header
    block was kept)."""
    headers = noise.header_block(raw)
    if noise.looks_like_bounce(headers):
        found = noise.bounce(raw)
        if found is not None:
            return [_bounce_item(found)]
    sender_addr = parse.address(headers, "From", [])[1].lower()
    loop = str(headers.get("X-Loop", "")).strip().lower() == LOOP_MARKER
    own_id = ids.read(str(headers.get("Message-ID", ""))) is not None
    if loop or own_id or (sender_addr and is_ours(sender_addr)):
        reason = "loop" if loop else "own_message" if own_id else "own_address"
        return [
            Notice(
                kind="email_ignored",
                data={
                    "reason": reason,
                    "from": sender_addr[:320],
                    "message_id": str(headers.get("Message-ID", "")).strip()[:500],
                    "subject": str(headers.get("Subject", "")).strip()[:255],
                },
            )
        ]
    item = parse_mail(raw, headers)
    oversized = str((received or {}).get("oversized") or "")
    if oversized.isdigit():
        item.meta["oversized"] = {
            "size": int(oversized),
            "folder": str((received or {}).get("folder") or "")[:200],
        }
    return [item]


def _bounce_item(found: noise.Bounce) -> Item:
    """A permanent failure of a mail we sent marks it failed; anything else is a notice."""
    failed = [r for r in found.recipients if r.permanent]
    original = found.original_message_id.strip().strip("<>")
    domain = original.rpartition("@")[2].lower()
    ours = ids.read(original) is not None or (
        bool(original) and any(a.endswith("@" + domain) for a in our_addresses())
    )
    if failed and ours:
        first = failed[0]
        details = "; ".join(
            " ".join(part for part in (r.address, r.status, r.diagnostic[:300]) if part)
            for r in failed[:5]
        )
        return StatusUpdate(
            external_id=original,
            status=DeliveryStatus.FAILED,
            error_code=f"bounce:{first.status or 'unknown'}",
            error_reason=_("The mail to %(to)s bounced: %(details)s")
            % {"to": ", ".join(r.address for r in failed[:5]), "details": details},
        )
    return Notice(
        kind="email_bounce",
        data={
            "original_message_id": original[:500],
            "permanent": bool(failed),
            "recipients": [
                {"address": r.address, "action": r.action, "status": r.status}
                for r in found.recipients[:20]
            ],
        },
    )


def _sender_warnings(msg: Message, name: str, address: str, problems: list[str]) -> dict[str, Any]:
    """What makes the sender look forged (lessons §14): never used as identity, only shown."""
    warnings: dict[str, Any] = {}
    shown = [a.lower() for a in _ADDRESS_IN_TEXT.findall(name)]
    if shown and any(a != address.lower() for a in shown):
        warnings["display_address"] = shown[0][:320]
    # The topmost Authentication-Results is the one our own receiving server added.
    results = msg.get_all("Authentication-Results") or []
    if results and _DMARC_FAIL.search(str(results[0])):
        warnings["dmarc"] = "fail"
    reply_to = parse.address(msg, "Reply-To", problems)[1]
    if reply_to and "@" in reply_to and reply_to.lower() != address.lower():
        warnings["reply_to"] = reply_to[:320]
    return warnings


def parse_mail(raw: bytes, headers: Message | None = None) -> InboundMessage:
    """The message a customer's mail is; ``headers`` (``noise.header_block(raw)``), when the
    caller has them, spare a second read of the header block."""
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
    warnings = _sender_warnings(msg, name, address, problems)
    # The automation checks read raw header values: on the cheap header block, not on the
    # parsed message (whose every header read is parsed again by the default policy).
    block = headers if headers is not None else noise.header_block(raw)
    automated = noise.auto_reply(block)
    out_of_office = bool(automated) and (
        noise.out_of_office(block) or bool(_OUT_OF_OFFICE_SUBJECT.search(subject))
    )
    in_reply_to = message_ids(parse.header(msg, "In-Reply-To", problems))
    references = message_ids(parse.header(msg, "References", problems))
    return InboundMessage(
        external_id=external_id,
        sender=Sender(kind="email", value=address, name=name),
        text=text,
        html=html,
        subject=subject,
        sent_at=sent_at,
        attachments=attachments,
        reply_to_external_id=(in_reply_to or [""])[0],
        thread_external_ids=references,
        ticket_number=subjects.ticket_number(subject),
        automatic=bool(automated),
        threading="mail",
        meta={
            "message_id": external_id,
            "to": parse.header(msg, "To", problems)[:500],
            **({"cc": cc[:500]} if (cc := parse.header(msg, "Cc", problems)) else {}),
            **({"in_reply_to": in_reply_to[:5]} if in_reply_to else {}),
            **({"references": references[-20:]} if references else {}),
            **({"auto_reply": automated[:255]} if automated else {}),
            **({"out_of_office": True} if out_of_office else {}),
            **({"sender_warnings": warnings} if warnings else {}),
            **({"parse_problems": sorted(set(problems))[:20]} if problems else {}),
        },
    )


def as_email_message(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(parsed, EmailMessage):
        raise UnreadableMail("not an email message")
    return parsed
