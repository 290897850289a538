"""Sending to WhatsApp: one Loket message becomes one or more Cloud API messages (§1.9).

- text: ``preview_url`` when it holds a link; over 4,096 characters it is split at paragraph,
  line or word ends into several messages;
- files: uploaded, then sent by media id (image: jpeg/png; video: mp4/3gpp; audio; anything
  else as a document); the text rides as the caption of the first file that takes one
  (audio takes none: the text then goes as its own message first);
- a quoted reply carries ``context.message_id`` on its first part;
- ``meta["wa"]``: ``reaction``, ``interactive`` (checked against Meta's limits first),
  ``template`` (name, language, params or components); see docs/adr/0004-whatsapp.md.

Every part carries ``biz_opaque_callback_data = "ticket:<number>"``. All wamids end in
``meta["wa"]["ids"]``; the first is the message's ``external_id``. A send that fails halfway
remembers the parts already out (``meta["wa"]["sent_parts"]``), so a retry never sends them
twice. Graph errors become DeliveryErrors through ``errors`` (retry policy, channel health).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from loket.channels.items import DeliveryError, SendResult
from loket.channels.models import Channel
from loket.channels.whatsapp import errors, graph, media, ratelimit
from loket.channels.whatsapp.graph import GraphError
from loket.contacts.models import IdentityKind
from loket.core import crypto
from loket.tickets.models import Attachment, Message

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CAPTIONED = frozenset({"image", "video", "document"})
_URL = re.compile(r"https?://\S", re.IGNORECASE)
PROGRESS = "sent_parts"
UPLOADED = "media_ids"
SLOTS = "slots"  # rate-limit slots a deferred message holds (ratelimit.acquire)


class InvalidMessage(ValueError):
    """The message cannot be sent as it is (a button title too long...). ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Part:
    """One Cloud API message: its type, the type's object, and the file it still needs."""

    type: str
    body: dict[str, Any]
    attachment: Attachment | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --- recipients -------------------------------------------------------------------------------
def recipient(message: Message) -> tuple[str, str]:
    """(``"to"``, digits) for a phone number, (``"recipient"``, BSUID) for a username."""
    identity = message.identity
    if identity is None or not identity.value:
        raise DeliveryError("no_recipient", _("The message has no recipient address."))
    if identity.kind == IdentityKind.WHATSAPP_USER:
        return "recipient", identity.value
    digits = re.sub(r"\D", "", identity.value)
    if not digits:
        raise DeliveryError(
            "no_recipient",
            _("%(address)s is not a WhatsApp number.") % {"address": identity.value},
        )
    return "to", digits


# --- text -------------------------------------------------------------------------------------
def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at a paragraph, line or word end."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        # The last paragraph, else line, else word end in the second half; else a hard cut.
        cut = next(
            (at for at in (window.rfind(sep) for sep in ("\n\n", "\n", " ")) if at > limit // 2),
            limit,
        )
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _text_parts(text: str, wa: dict[str, Any]) -> list[Part]:
    parts = []
    for piece in split_text(text):
        preview = wa.get("preview_url")
        preview = bool(_URL.search(piece)) if preview is None else bool(preview)
        body: dict[str, Any] = {"body": piece}
        if preview:
            body["preview_url"] = True
        parts.append(Part("text", body))
    return parts


# --- interactive ------------------------------------------------------------------------------
def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise InvalidMessage(reason)


def _short(value: Any, limit: int, what: str) -> str:
    text = str(value or "")
    _require(bool(text.strip()), _("%(what)s is empty.") % {"what": what})
    _require(
        len(text) <= limit,
        _("%(what)s is longer than %(limit)s characters.") % {"what": what, "limit": limit},
    )
    return text


def _common(obj: dict[str, Any], body_limit: int, *, text_header_only: bool) -> None:
    body = obj.get("body") or {}
    _short(body.get("text") if isinstance(body, dict) else "", body_limit, _("The message text"))
    footer = obj.get("footer")
    if footer:
        _short(footer.get("text") if isinstance(footer, dict) else "", 60, _("The footer"))
    header = obj.get("header")
    if header:
        _require(isinstance(header, dict), _("The header is not valid."))
        kind = header.get("type")
        allowed = {"text"} if text_header_only else {"text", "image", "video", "document"}
        _require(kind in allowed, _("This header type is not allowed here."))
        if kind == "text":
            _short(header.get("text"), 60, _("The header"))


def check_interactive(obj: Any) -> None:
    """Raise InvalidMessage unless ``obj`` keeps to Meta's limits for buttons, lists, links."""
    _require(isinstance(obj, dict), _("The interactive message is not valid."))
    kind = obj.get("type")
    action = obj.get("action") or {}
    _require(isinstance(action, dict), _("The interactive message has no action."))
    if kind == "button":
        _common(obj, 1024, text_header_only=False)
        buttons = action.get("buttons") or []
        _require(
            isinstance(buttons, list) and 1 <= len(buttons) <= 3, _("Use one to three buttons.")
        )
        ids = []
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if not isinstance(reply, dict):
                raise InvalidMessage(_("A button is not valid."))
            _short(reply.get("title"), 20, _("A button title"))
            ids.append(_short(reply.get("id"), 256, _("A button id")))
        _require(len(set(ids)) == len(ids), _("Two buttons have the same id."))
    elif kind == "list":
        _common(obj, 4096, text_header_only=True)
        _short(action.get("button"), 20, _("The list button"))
        sections = action.get("sections") or []
        _require(
            isinstance(sections, list) and 1 <= len(sections) <= 10,
            _("Use one to ten sections."),
        )
        rows = []
        for section in sections:
            _require(isinstance(section, dict), _("A section is not valid."))
            if len(sections) > 1 or section.get("title"):
                _short(section.get("title"), 24, _("A section title"))
            rows += list(section.get("rows") or [])
        _require(1 <= len(rows) <= 10, _("Use one to ten rows in all."))
        ids = []
        for row in rows:
            _require(isinstance(row, dict), _("A row is not valid."))
            ids.append(_short(row.get("id"), 200, _("A row id")))
            _short(row.get("title"), 24, _("A row title"))
            if row.get("description"):
                _short(row.get("description"), 72, _("A row description"))
        _require(len(set(ids)) == len(ids), _("Two rows have the same id."))
    elif kind == "cta_url":
        _common(obj, 1024, text_header_only=False)
        parameters = action.get("parameters") or {}
        _require(isinstance(parameters, dict), _("The link button is not valid."))
        _short(parameters.get("display_text"), 20, _("The link button text"))
        url = _short(parameters.get("url"), 2000, _("The link"))
        _require(url.startswith(("https://", "http://")), _("The link must start with https://."))
    else:
        raise InvalidMessage(_("Unknown interactive message type: %(type)s") % {"type": kind})


# --- template ---------------------------------------------------------------------------------
def template_body(spec: dict[str, Any]) -> dict[str, Any]:
    """Meta's ``template`` object from ``meta["wa"]["template"]``."""
    name = str(spec.get("name") or "")
    if not name:
        raise InvalidMessage(_("The template has no name."))
    language = spec.get("language") or ""
    code = str(language.get("code", "") if isinstance(language, dict) else language)
    if not code:
        raise InvalidMessage(_("The template has no language."))
    components = spec.get("components")
    if not components and spec.get("params"):
        components = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": str(p)} for p in spec["params"]],
            }
        ]
    body: dict[str, Any] = {"name": name, "language": {"code": code}}
    if components:
        body["components"] = components
    return body


# --- building the parts -----------------------------------------------------------------------
def _file_parts(message: Message) -> list[Part]:
    parts = []
    for attachment in message.attachments.order_by("pk"):
        if not attachment.file or not attachment.file.name:
            continue  # a file Loket could not store has nothing to send
        kind = media.kind_for(attachment.content_type)
        body: dict[str, Any] = {}
        if kind == "document":
            body["filename"] = attachment.name
        parts.append(Part(kind, body, attachment=attachment))
    return parts


def parts_for(message: Message) -> list[Part]:
    """The Cloud API messages that carry ``message``, in sending order. Raises InvalidMessage."""
    wa: dict[str, Any] = (message.meta or {}).get("wa") or {}
    text = message.text.strip()
    if wa.get("reaction"):
        reaction = dict(wa["reaction"])
        if not reaction.get("message_id") and message.reply_to is not None:
            reaction["message_id"] = message.reply_to.external_id or ""
        _require(bool(reaction.get("message_id")), _("The reaction names no message."))
        body = {"message_id": reaction["message_id"], "emoji": str(reaction.get("emoji") or "")}
        return [Part("reaction", body)]
    if wa.get("template"):
        return [Part("template", template_body(dict(wa["template"])))]
    if wa.get("interactive"):
        interactive = dict(wa["interactive"])
        if not interactive.get("body") and text:
            interactive["body"] = {"text": text}
        check_interactive(interactive)
        return [Part("interactive", interactive)]
    files = _file_parts(message)
    captioned = next((p for p in files if p.type in CAPTIONED), None)
    if captioned is not None and text and len(text) <= CAPTION_LIMIT:
        captioned.body["caption"] = text
        return files
    parts = _text_parts(text, wa) + files
    _require(bool(parts), _("The message is empty."))
    return parts


# --- sending ----------------------------------------------------------------------------------
def _save_progress(
    message: Message,
    sent: dict[str, str],
    uploaded: dict[str, str],
    slots: dict[str, int] | None = None,
) -> None:
    """Keep what a retry needs on the message: parts already out, files uploaded, slots."""
    meta = dict(message.meta or {})
    wa = dict(meta.get("wa") or {})
    for key, value in ((PROGRESS, sent), (UPLOADED, uploaded), (SLOTS, slots)):
        if value:
            wa[key] = value
        else:
            wa.pop(key, None)
    meta["wa"] = wa
    message.meta = meta
    Message.objects.filter(pk=message.pk).update(meta=meta)


def _file_data(attachment: Attachment) -> bytes:
    with default_storage.open(str(attachment.file.name), "rb") as handle:
        data: bytes = handle.read()
    return data


def _failure(channel: Channel, message: Message, err: GraphError, to: str) -> DeliveryError:
    mapped = errors.classify(err.code)
    log.warning(
        "whatsapp message %s: Graph %s (%s) %s",
        message.pk,
        err.code,
        mapped.code_name,
        err.details or err.title,
    )
    if mapped.channel_level:
        errors.flag_channel(channel, err, message=message)
    retry_after = ratelimit.strike(channel, to) if mapped.retry == "recipient_backoff" else None
    return errors.delivery_error(err, attempt=message.attempts, retry_after=retry_after)


def _client(channel: Channel) -> tuple[graph.Graph, str]:
    """The channel's Graph client and phone number id, or a DeliveryError an admin can fix."""
    phone_number_id = str(channel.config.get("phone_number_id") or "")
    if not phone_number_id:
        raise DeliveryError(
            "not_configured",
            _("This WhatsApp channel has no phone number ID; an administrator must set it."),
        )
    try:
        return graph.client(channel), phone_number_id
    except crypto.DecryptionError:
        raise DeliveryError(
            "secret_unreadable",
            _(
                "The channel's access token cannot be read (the encryption key changed). An "
                "administrator must enter the token again in the channel settings."
            ),
        ) from None


def send(channel: Channel, message: Message) -> SendResult:
    """Send ``message``; returns the first wamid. Raises DeliveryError."""
    field_name, to = recipient(message)
    try:
        parts = parts_for(message)
    except InvalidMessage as exc:
        raise DeliveryError("invalid_message", exc.reason) from None
    wa = dict((message.meta or {}).get("wa") or {})
    sent: dict[str, str] = dict(wa.get(PROGRESS) or {})
    uploaded: dict[str, str] = dict(wa.get(UPLOADED) or {})
    client, phone_number_id = _client(channel)
    try:
        ratelimit.acquire(channel, to, cost=len(parts) - len(sent), held=wa.get(SLOTS))
    except ratelimit.Deferred as deferred:
        _save_progress(message, sent, uploaded, deferred.slots)
        raise
    quoted = message.reply_to
    context = (
        {"message_id": quoted.external_id}
        if quoted is not None and quoted.channel_id == channel.pk and quoted.external_id
        else None
    )
    for index, part in enumerate(parts):
        key = str(index)
        if key in sent:
            continue
        try:
            if part.attachment is not None:
                if key not in uploaded:
                    uploaded[key] = media.upload(
                        channel,
                        _file_data(part.attachment),
                        part.attachment.content_type,
                        part.attachment.name,
                    )
                part.body["id"] = uploaded[key]
            envelope: dict[str, Any] = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                field_name: to,
                "type": part.type,
                part.type: part.body,
                "biz_opaque_callback_data": f"ticket:{message.ticket.number}",
            }
            if context is not None and index == 0:
                envelope["context"] = context
            answer = client.post(f"{phone_number_id}/messages", json=envelope)
        except media.MediaError as exc:
            _save_progress(message, sent, uploaded)
            raise DeliveryError("media_rejected", exc.reason, retryable=exc.transient) from None
        except GraphError as err:
            _save_progress(message, sent, uploaded)
            raise _failure(channel, message, err, to) from None
        sent[key] = _wamid(answer)
        if index < len(parts) - 1:
            _save_progress(message, sent, uploaded)
    errors.recovered(channel)
    ids = [sent[str(i)] for i in range(len(parts))]
    for key in (PROGRESS, UPLOADED, SLOTS):
        wa.pop(key, None)
    wa["ids"] = ids
    return SendResult(external_id=ids[0], meta={"wa": wa})


def _wamid(answer: dict[str, Any]) -> str:
    messages = answer.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        wamid = str(messages[0].get("id") or "")
        if wamid:
            return wamid
    # Accepted without an id: a broken proxy. Retrying could send it twice, so it fails.
    raise DeliveryError("no_message_id", _("WhatsApp accepted the message but gave no id."))


def mark_read(channel: Channel, wamid: str) -> None:
    """Tell the customer their messages up to ``wamid`` were read. Raises GraphError."""
    phone_number_id = str(channel.config.get("phone_number_id", ""))
    graph.client(channel).post(
        f"{phone_number_id}/messages",
        json={"messaging_product": "whatsapp", "status": "read", "message_id": wamid},
    )
