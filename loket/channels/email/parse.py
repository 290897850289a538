"""Robust RFC 822 parsing: broken MIME, odd charsets, encoded filenames, inline images.

``parse`` never lets an exception from the ``email`` package escape: a mail it cannot turn
into a message at all is refused with ``UnreadableMail`` (the raw delivery stays stored).
Every fallback it needed is recorded in ``ParsedMail.problems`` so the ticket page can say so.
"""

from __future__ import annotations

import codecs
import email
import email.header
import email.parser
import email.policy
import email.utils
import html
import re
from dataclasses import dataclass, field
from email.message import Message

import nh3
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from loket.channels.items import InboundAttachment

# A part larger than this is not decoded into memory; it becomes an attachment with a note.
MAX_PART_BYTES = 25 * 1024 * 1024
# Stored text or HTML bodies are cut here (Chatwoot stores 150,000 characters).
MAX_BODY_CHARS = 150_000

# Labels Python rejects or maps to a narrower codec than the sender's mail program meant.
CHARSET_ALIASES = {
    "iso-gb2312": "gb18030",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "uft-8": "utf-8",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-2022-jp": "iso2022_jp_ext",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "ansi_x3.4-1968": "cp1252",
}
_SINGLE_BYTE = {"cp1252", "iso-8859-15", "iso8859-15", "latin-1"}


@dataclass
class ParsedMail:
    message: Message
    text: str = ""
    html: str = ""
    attachments: list[InboundAttachment] = field(default_factory=list)
    # Fallbacks that were needed ("charset:unknown-x", "header:From", "part too large: x.pdf").
    problems: list[str] = field(default_factory=list)


def normalise_charset(label: str | None) -> str:
    name = (label or "").strip().strip("\"'").lower()
    return CHARSET_ALIASES.get(name, name)


def decode_bytes(data: bytes, label: str | None, problems: list[str]) -> str:
    """Declared charset (via the alias table), else utf-8, cp1252, latin-1 (marked)."""
    declared = normalise_charset(label)
    if declared:
        try:
            codecs.lookup(declared)
        except LookupError:
            problems.append(f"charset:{declared}")
            declared = ""
    if declared in _SINGLE_BYTE or not declared:
        # A single-byte label on valid UTF-8 is usually a wrong label.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if declared == "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # Mostly UTF-8 with a few broken bytes: keep the good characters.
            problems.append("undecodable:utf-8")
            return data.decode("utf-8", errors="replace")
    for candidate in (declared, "utf-8", "cp1252"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    # Latin-1 maps every byte (the bytes cp1252 leaves undefined too): nothing is lost, but the
    # text may be wrong, so it is marked.
    problems.append(f"charset fallback latin-1:{label or 'none'}")
    return data.decode("latin-1", errors="replace")


def decode_header_value(value: object, problems: list[str]) -> str:
    """A header as text: RFC 2047 words decoded, raw 8-bit bytes through the charset chain."""
    if value is None:
        return ""
    raw = str(value)
    if "=?" not in raw and not any(ord(c) > 127 for c in raw):
        return raw.strip()
    try:
        chunks = email.header.decode_header(raw)
    except Exception:
        problems.append("header-decoding")
        return raw.strip()
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset, problems))
        else:
            out.append(chunk)
    return "".join(out).strip()


def header(msg: Message, name: str, problems: list[str]) -> str:
    """One header, read with ``policy.default``; a header that makes it raise is read raw."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value).strip()
    except Exception:
        problems.append(f"header:{name}")
    for key, raw in msg.raw_items() if hasattr(msg, "raw_items") else []:
        if key.lower() == name.lower():
            return decode_header_value(raw, problems)
    return ""


def filename(part: Message, problems: list[str]) -> str:
    """RFC 2231 (via the stdlib) and RFC 2047 words inside quoted names (used in the wild)."""
    try:
        name = part.get_filename() or ""
    except Exception:
        problems.append("filename")
        name = ""
    if not name:
        try:
            name = str(part.get_param("name", header="content-type") or "")
        except Exception:
            name = ""
    if isinstance(name, tuple):  # pragma: no cover - compat32 may hand back RFC 2231 triples
        name = email.utils.collapse_rfc2231_value(name)
    name = decode_header_value(name, problems) if name else ""
    # Never a path: keep the last component, drop control characters.
    name = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:255]


def _payload(part: Message, problems: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        problems.append("transfer-encoding")
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return b""


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str:
    try:
        return part.get_content_disposition() or ""
    except Exception:
        return ""


def _content_id(part: Message) -> str:
    try:
        return str(part.get("Content-ID", "") or "").strip().strip("<>").strip()
    except Exception:
        return ""


# nh3's default URL schemes plus ``cid:`` (inline images, rewritten when they are shown).
URL_SCHEMES = {"cid", "http", "https", "mailto", "tel", "ftp"}


def sanitize_html(markup: str) -> str:
    return nh3.clean(markup, link_rel="noopener noreferrer nofollow", url_schemes=URL_SCHEMES)


def html_to_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>|</h[1-6]>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    # Plain text, not markup: templates escape it when they show it.
    text = html.unescape(text).replace("\xa0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _message_subject(part: Message, problems: list[str]) -> str:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(inner, Message):
        return header(inner, "Subject", problems)
    return ""


def _walk(msg: Message, out: ParsedMail, depth: int = 0) -> None:
    if depth > 50:
        out.problems.append("nesting too deep")
        return
    ctype = _content_type(msg)
    if ctype.startswith("message/") and depth:
        subject = _message_subject(msg, out.problems) if ctype == "message/rfc822" else ""
        name = filename(msg, out.problems) or (
            f"{subject or 'message'}.eml" if ctype == "message/rfc822" else _default_name(ctype)
        )
        data = _rfc822_bytes(msg, out.problems)
        out.attachments.append(InboundAttachment(name=name[:255], content_type=ctype, data=data))
        return
    if ctype.startswith("multipart/") and not msg.is_multipart() and _resplit(msg, out, depth):
        return
    if msg.is_multipart():
        payload = msg.get_payload()
        parts = payload if isinstance(payload, list) else []
        for sub in parts:
            if isinstance(sub, Message):
                _walk(sub, out, depth + 1)
        if msg.epilogue and "--" in msg.epilogue:
            _resplit(msg, out, depth, msg.epilogue)
        return
    _leaf(msg, ctype, out)


def _resplit(msg: Message, out: ParsedMail, depth: int, payload: object = None) -> bool:
    """A multipart the stdlib left as a leaf (a part nested with its parent's boundary, a
    missing start line), or parts after a premature end line (in the epilogue): cut the text at
    the boundary lines ourselves and read each piece."""
    boundary = msg.get_param("boundary")
    payload = msg.get_payload() if payload is None else payload
    if not isinstance(boundary, str) or not isinstance(payload, str):
        return False
    delimiter = re.compile(rf"^--{re.escape(boundary)}(?:--)?[ \t]*\r?$", re.MULTILINE)
    pieces = [piece.strip("\r\n") for piece in delimiter.split(payload)]
    pieces = [piece for piece in pieces[1:] if piece.strip()]
    if not pieces:
        return False
    out.problems.append("boundary re-split")
    for piece in pieces:
        part = email.message_from_string(piece, policy=email.policy.default)
        nested = part.get_content_maintype() == "multipart" and not part.is_multipart()
        if nested and not str(part.get_payload()).strip():
            # The header block of a nested part that shares the boundary: its body follows.
            continue
        _walk(part, out, depth + 1)
    return True


def _leaf(msg: Message, ctype: str, out: ParsedMail) -> None:
    disposition = _disposition(msg)
    name = filename(msg, out.problems)
    data = _payload(msg, out.problems)
    if len(data) > MAX_PART_BYTES:
        out.problems.append(f"part too large: {name or ctype}")
        out.attachments.append(
            InboundAttachment(
                name=name or "attachment",
                content_type=ctype,
                data=None,
                note=_("File too large (%(size)s; the limit is %(limit)s); not stored.")
                % {"size": filesizeformat(len(data)), "limit": filesizeformat(MAX_PART_BYTES)},
            )
        )
        return
    maintype = ctype.partition("/")[0]
    is_body = disposition != "attachment" and not name
    if ctype == "text/plain" and is_body:
        text = decode_bytes(data, msg.get_content_charset(), out.problems)
        out.text = f"{out.text}\n\n{text}" if out.text else text
        return
    if ctype == "text/html" and is_body and not out.html:
        out.html = decode_bytes(data, msg.get_content_charset(), out.problems)
        return
    if maintype == "multipart":
        # A multipart with a broken boundary arrives as a leaf: its body is text.
        text = decode_bytes(data, msg.get_content_charset(), out.problems)
        out.text = f"{out.text}\n\n{text}" if out.text else text
        return
    out.attachments.append(
        InboundAttachment(
            name=name or _default_name(ctype),
            content_type=ctype,
            data=data,
            content_id=_content_id(msg),
            meta={"inline": True} if disposition == "inline" else {},
        )
    )


def _rfc822_bytes(part: Message, problems: list[str]) -> bytes:
    payload = part.get_payload()
    try:
        if isinstance(payload, list) and payload:
            # One attached mail, or the header blocks of a delivery report.
            return b"\n".join(
                block.as_bytes(policy=email.policy.compat32)
                for block in payload
                if isinstance(block, Message)
            )
    except Exception:
        problems.append("attached message")
    return _payload(part, problems)


_NAMES_BY_TYPE = {
    "message/delivery-status": "delivery-status.txt",
    "text/calendar": "calendar.ics",
    "text/html": "message.html",
    "text/plain": "text.txt",
    "image/png": "image.png",
    "image/jpeg": "image.jpg",
    "image/gif": "image.gif",
    "application/pgp-signature": "signature.asc",
    "application/pkcs7-signature": "smime.p7s",
}


def _default_name(ctype: str) -> str:
    return _NAMES_BY_TYPE.get(ctype, "attachment")


def _gmail_placeholders(out: ParsedMail) -> None:
    """Gmail's text/plain shows inline images as ``[image: name]``: without an HTML part, build
    one from the text with the images in those places (the images then count as inline)."""
    if out.html or "[image: " not in out.text:
        return
    body = html.escape(out.text)
    found = False
    for attachment in out.attachments:
        placeholder = html.escape(f"[image: {attachment.name}]")
        is_image = attachment.content_type.startswith("image/")
        if attachment.content_id and is_image and placeholder in body:
            found = True
            tag = f'<img src="cid:{html.escape(attachment.content_id)}" alt="">'
            body = body.replace(placeholder, tag)
    if found:
        out.html = body.replace("\n", "<br>\n")
        for placeholder in re.findall(r"\[image: [^\]]*\]", out.text):
            out.text = out.text.replace(placeholder, "")


def _inline_images(out: ParsedMail) -> None:
    """Images the HTML shows by ``cid:`` stay attachments but are marked as inline."""
    _gmail_placeholders(out)
    if not out.html:
        return
    cids = set(re.findall(r"""(?i)cid:([^"'\s>)]+)""", out.html))
    for attachment in out.attachments:
        if attachment.content_id and attachment.content_id in cids:
            attachment.meta["inline"] = True
            attachment.meta["cid"] = True


def message_from_bytes(raw: bytes, problems: list[str]) -> Message:
    msg: Message
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        # Touch the headers that raise on broken values under policy.default.
        for name in ("From", "Subject", "To", "Date", "Content-Type"):
            msg.get(name)
    except Exception:
        problems.append("parsed with compat32")
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    return msg


def parse(raw: bytes) -> ParsedMail:
    problems: list[str] = []
    msg = message_from_bytes(raw, problems)
    out = ParsedMail(message=msg, problems=problems)
    _walk(msg, out)
    _inline_images(out)
    if out.html:
        clean = sanitize_html(out.html)
        if not out.text.strip():
            out.text = html_to_text(clean)
        out.html = clean[:MAX_BODY_CHARS]
    out.text = out.text.replace("\r\n", "\n").strip()[:MAX_BODY_CHARS]
    return out


_ANGLE_ADDRESS = re.compile(r"^(?P<name>.*?)\s*<(?P<address>[^<>@\s]+@[^<>\s]+)>\s*$", re.DOTALL)
SENDER_HEADERS = ("From", "Reply-To", "Sender", "Return-Path")


def _raw_header(msg: Message, name: str) -> str:
    for key, value in msg.raw_items() if hasattr(msg, "raw_items") else msg.items():
        if key.lower() == name.lower():
            return re.sub(r"\r?\n[ \t]+", " ", str(value)).strip()
    return ""


def _first_mailbox(raw: str) -> str:
    """The text of the first mailbox in an address list: up to the first comma outside quotes,
    angle brackets and comments."""
    quoted, angle, comment, escaped = False, False, 0, False
    for index, char in enumerate(raw):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"' and not comment:
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            comment += 1
        elif char == ")" and comment:
            comment -= 1
        elif char == "<" and not comment:
            angle = True
        elif char == ">" and not comment:
            angle = False
        elif char == "," and not angle and not comment and raw[:index].strip():
            return raw[:index]
    return raw


def _display_name(value: str, problems: list[str]) -> str:
    value = decode_header_value(value, problems) if value else ""
    value = re.sub(r'(?<!\\)"', "", value).replace('\\"', '"')
    return re.sub(r"\s+", " ", value).strip()


def address(msg: Message, name: str, problems: list[str]) -> tuple[str, str]:
    """(display name, address) of an address header; the address is never taken from a decoded
    encoded word when the raw header already shows one (``alice@x <bob@y>`` is bob)."""
    raw = _first_mailbox(_raw_header(msg, name)).strip()
    if not raw:
        return "", ""
    display, addr = "", ""
    match = _ANGLE_ADDRESS.match(raw)
    if match:
        display, addr = match["name"], match["address"]
    else:
        display, addr = email.utils.parseaddr(raw)
    if "@" not in addr or "=?" in addr:
        # The whole address is an encoded word: read it decoded.
        display, addr = email.utils.parseaddr(decode_header_value(raw, problems))
    display = _display_name(display, problems)
    if display.lower() == addr.lower():
        display = ""
    return display, addr.strip()


def sender(msg: Message, problems: list[str]) -> tuple[str, str]:
    """From first; a mail without a usable From falls back to Reply-To, Sender, Return-Path."""
    for name in SENDER_HEADERS:
        display, addr = address(msg, name, problems)
        if "@" in addr:
            if name != "From":
                problems.append(f"sender from {name}")
            return display, addr
    return "", ""
