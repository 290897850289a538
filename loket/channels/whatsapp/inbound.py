"""WhatsApp webhook bodies → normalised items (pure: no I/O, no database).

The contract is ``shared/reference/channel-contracts.md`` §1.5 to 1.8 and the ``meta["wa"]``
schema of ``docs/adr/0004-whatsapp.md``. Meta batches freely (several entries, changes,
messages and statuses in one POST) and invents new types and fields over time, so every
level is walked and nothing unknown raises: one message that cannot be understood becomes a
placeholder (or an error notice) and the rest of the body still counts. Only a body that is
not a webhook envelope at all raises ``UnreadableWebhook``; the stored delivery is then kept
as failed and can be replayed.
"""

from __future__ import annotations

import json
import logging
import math
import mimetypes
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from loket.channels.items import (
    IdentityChange,
    InboundAttachment,
    InboundMessage,
    Item,
    Notice,
    Reaction,
    Sender,
    StatusUpdate,
)
from loket.channels.whatsapp import errors
from loket.core.phone import InvalidPhone, normalize_phone

log = logging.getLogger(__name__)

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
STATUSES = ("sent", "delivered", "read", "failed")
TEMPLATE_FIELDS = (
    "message_template_status_update",
    "template_category_update",
    "message_template_quality_update",
)
ACCOUNT_FIELDS = ("phone_number_quality_update", "account_update")
# Extensions the stdlib guesses oddly (".jpe", ".oga") or not at all.
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


class UnreadableWebhook(ValueError):
    """The body is not a WhatsApp webhook envelope (not JSON, or no ``entry`` list)."""


@dataclass
class Parsed:
    items: list[Item] = field(default_factory=list)
    # phone_number_id → an envelope holding only the changes for that number.
    foreign: dict[str, bytes] = field(default_factory=dict)


def parse(body: bytes, *, phone_number_id: str) -> Parsed:
    """Read one webhook body. Changes for another ``phone_number_id`` go to ``foreign``."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise UnreadableWebhook(f"not JSON: {str(exc)[:200]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("entry"), list):
        raise UnreadableWebhook("not a WhatsApp webhook envelope (no entry list)")
    obj = doc.get("object", "whatsapp_business_account")
    if obj != "whatsapp_business_account":
        raise UnreadableWebhook(f"not a WhatsApp webhook (object {str(obj)[:60]!r})")
    parsed = Parsed()
    # phone_number_id → {id(entry): a copy of the entry holding only that number's changes}
    foreign: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for entry in doc["entry"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            log.debug("whatsapp: entry without changes ignored")
            continue
        for change in entry["changes"]:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                log.debug("whatsapp: change without value ignored")
                continue
            number = _str(_dict(change["value"].get("metadata")).get("phone_number_id"))
            if number and phone_number_id and number != phone_number_id:
                copy = foreign[number].setdefault(id(entry), {**entry, "changes": []})
                copy["changes"].append(change)
                continue
            items = _change(_str(change.get("field")), change["value"])
            for item in items:
                if isinstance(item, Notice) and "time" in entry:
                    # When Meta sent it: tells a later notice from a replayed one.
                    item.data.setdefault("time", _str(entry["time"]))
            parsed.items.extend(items)
    parsed.foreign = {
        number: json.dumps({"object": obj, "entry": list(entries.values())}).encode()
        for number, entries in foreign.items()
    }
    return parsed


def _change(name: str, value: dict[str, Any]) -> list[Item]:
    if name == "messages":
        return _messages_change(value)
    if name in TEMPLATE_FIELDS:
        return [Notice("template_status", {"field": name, **_template_notice(value)})]
    if name == "user_preferences":
        return [
            Notice("user_preferences", _user_preference(pref))
            for pref in _list(value.get("user_preferences"))
            if isinstance(pref, dict)
        ]
    if name in ACCOUNT_FIELDS:
        return [Notice("account", {"field": name, **value})]
    log.debug("whatsapp: webhook field %r ignored", name[:60])
    return []


# --- field "messages" ------------------------------------------------------------------------
def _messages_change(value: dict[str, Any]) -> list[Item]:
    """Statuses, value-level errors and messages: each part survives the others failing."""
    items: list[Item] = []
    for status in _list(value.get("statuses")):
        try:
            update = _status(status)
        except Exception as exc:  # one odd status must not hide the rest
            log.warning("whatsapp: status not understood: %s: %s", type(exc).__name__, exc)
            continue
        if update is not None:
            items.append(update)
    for error in _list(value.get("errors")):
        log.warning("whatsapp: error reported by Meta: %s", error)
        items.append(Notice("error", _error(error)))
    profiles = _profiles(value.get("contacts"))
    for raw in _list(value.get("messages")):
        try:
            items.append(_message(raw, profiles))
        except Exception as exc:
            items.append(_not_understood(raw, profiles, f"{type(exc).__name__}: {exc}"))
    return items


@dataclass(frozen=True)
class _Profile:
    name: str = ""
    username: str = ""
    user_id: str = ""
    wa_id: str = ""


def _profiles(contacts: Any) -> dict[str, _Profile]:
    """``contacts[]`` keyed by wa_id and by user_id (a username sender may lack the wa_id)."""
    found: dict[str, _Profile] = {}
    for contact in _list(contacts):
        if not isinstance(contact, dict):
            continue
        profile = _dict(contact.get("profile"))
        entry = _Profile(
            name=_str(profile.get("name")),
            username=_str(profile.get("username")),
            user_id=_str(contact.get("user_id")),
            wa_id=_str(contact.get("wa_id")),
        )
        for key in (entry.wa_id, entry.user_id):
            if key:
                found[key] = entry
    return found


def _phone(value: str) -> str:
    """The wa_id if it is a real phone number, else ""."""
    if not value:
        return ""
    try:
        normalize_phone(value, international=True)
    except InvalidPhone:
        return ""
    return value


def _senders(
    raw: dict[str, Any], profiles: dict[str, _Profile]
) -> tuple[Sender, list[Sender], _Profile] | None:
    """The sender (phone first), further addresses of the same person, and their profile."""
    wa_id = _str(raw.get("from"))
    user_id = _str(raw.get("from_user_id"))
    profile = profiles.get(wa_id) or profiles.get(user_id) or _Profile()
    wa_id = _phone(wa_id or profile.wa_id)
    user_id = user_id or profile.user_id
    if wa_id:
        others = [Sender("whatsapp_user", user_id)] if user_id else []
        return Sender("phone", wa_id, profile.name, international=True), others, profile
    if user_id:
        return Sender("whatsapp_user", user_id, profile.name), [], profile
    return None


def _message(raw: Any, profiles: dict[str, _Profile]) -> Item:
    if not isinstance(raw, dict):
        raise TypeError("message is not an object")
    wamid = _str(raw.get("id"))
    senders = _senders(raw, profiles)
    if not wamid or senders is None:
        raise ValueError("message without id or sender")
    sender, others, profile = senders
    kind = _str(raw.get("type")) or "unknown"
    at = _timestamp(raw.get("timestamp"))
    if kind == "reaction":
        reaction = _dict(raw.get("reaction"))
        target = _str(reaction.get("message_id"))
        if not target:
            raise ValueError("reaction without message_id")
        return Reaction(wamid, sender, target, _str(reaction.get("emoji")), at)
    if kind == "system" and _dict(raw.get("system")).get("type") in {
        "user_changed_number",
        "customer_changed_number",
    }:
        change = _number_change(wamid, sender, _dict(raw.get("system")), at)
        if change is not None:
            return change
    item = InboundMessage(external_id=wamid, sender=sender, sent_at=at, other_senders=others)
    wa: dict[str, Any] = {"type": kind}
    _content(item, wa, raw, kind)
    _common(item, wa, raw, profile)
    item.meta["wa"] = wa
    return item


def _number_change(
    wamid: str, sender: Sender, system: dict[str, Any], at: datetime | None
) -> IdentityChange | None:
    new = _phone(_str(system.get("wa_id")) or _str(system.get("new_wa_id")))
    if sender.kind != "phone" or not new:
        return None  # shown as a system message instead
    return IdentityChange(
        external_id=wamid,
        old=sender,
        new=Sender("phone", new, sender.name, international=True),
        text=_str(system.get("body")),
        at=at,
    )


# Each reader fills the message's text, files and its type's ``meta["wa"]`` keys from the
# object under the type's key (``body``); ``raw`` is the whole ``messages[]`` item.
Reader = Callable[[InboundMessage, dict[str, Any], Any, dict[str, Any]], None]


def _content(item: InboundMessage, wa: dict[str, Any], raw: dict[str, Any], kind: str) -> None:
    reader = _READERS.get(kind)
    if reader is None:
        wa["type"] = "unsupported"
        wa["unsupported"] = _unsupported(raw, kind)
        return
    reader(item, wa, raw.get(kind), raw)


def _read_text(item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]) -> None:
    item.text = _str(_dict(body).get("body"))


def _read_media(item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]) -> None:
    media = _dict(body)
    item.text = _str(media.get("caption"))
    attachment = _attachment(_str(raw.get("type")) or "document", media)
    item.attachments.append(attachment)
    wa["media"] = dict(attachment.meta)


def _read_location(
    item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]
) -> None:
    wa["location"] = location = _location(_dict(body))
    item.text = "\n".join(p for p in (location["name"], location["address"]) if p) or (
        f"{location['latitude']}, {location['longitude']}"
    )


def _read_contacts(
    item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]
) -> None:
    wa["contacts"] = cards = [_card(c) for c in _list(body) if isinstance(c, dict)]
    item.text = "\n".join(_card_line(card) for card in cards)


def _read_interactive(
    item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]
) -> None:
    wa["reply"] = reply = _interactive(_dict(body))
    item.text = reply.get("title") or reply.get("body", "")


def _read_button(item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]) -> None:
    button = _dict(body)
    title = _str(button.get("text"))
    wa["reply"] = {"kind": "button", "title": title, "payload": _str(button.get("payload"))}
    item.text = title


def _read_order(item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]) -> None:
    wa["order"] = order = _order(_dict(body))
    item.text = order["text"]


def _read_system(item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]) -> None:
    """A notice from WhatsApp itself: stored, shown, never reopens a ticket."""
    system = _dict(body)
    wa["system"] = {
        "type": _str(system.get("type")),
        "body": _str(system.get("body")),
        "new_wa_id": _str(system.get("wa_id")) or _str(system.get("new_wa_id")),
    }
    if isinstance(raw.get("identity"), dict):
        wa["system"]["identity"] = raw["identity"]
    item.text = wa["system"]["body"]
    item.automatic = True


def _read_edit(item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]) -> None:
    """An edit is a new message quoting the original: what was said first stays on record."""
    edit = _dict(body)
    original = _str(edit.get("original_message_id"))
    inner = _dict(edit.get("message"))
    inner_kind = _str(inner.get("type")) or "text"
    if inner_kind in {"edit", "revoke"}:
        raise ValueError("an edit of an edit")
    _content(item, wa, inner, inner_kind)
    wa["edit"] = {"original_message_id": original, "type": inner_kind}
    item.reply_to_external_id = original


def _read_revoke(item: InboundMessage, wa: dict[str, Any], body: Any, raw: dict[str, Any]) -> None:
    """The customer deleted a message: recorded (automatic, so nothing reopens) beside the
    original, which is kept; the ticket page says it was deleted."""
    original = _str(_dict(body).get("original_message_id"))
    wa["revoke"] = {"original_message_id": original}
    item.reply_to_external_id = original
    item.automatic = True


_READERS: dict[str, Reader] = {
    "text": _read_text,
    **dict.fromkeys(MEDIA_TYPES, _read_media),
    "location": _read_location,
    "contacts": _read_contacts,
    "interactive": _read_interactive,
    "button": _read_button,
    "order": _read_order,
    "system": _read_system,
    "edit": _read_edit,
    "revoke": _read_revoke,
}


def _common(
    item: InboundMessage, wa: dict[str, Any], raw: dict[str, Any], profile: _Profile
) -> None:
    """Fields any type may carry: quote, forwarding, product, ad referral, errors, BSUID."""
    context = _dict(raw.get("context"))
    if context.get("frequently_forwarded"):
        wa["forwarded"] = "frequently"
    elif context.get("forwarded"):
        wa["forwarded"] = True
    quoted = _str(context.get("id"))
    if quoted:
        wa["context"] = {"id": quoted, "from": _str(context.get("from"))}
        item.reply_to_external_id = item.reply_to_external_id or quoted
    product = _dict(context.get("referred_product"))
    if product:
        wa["referred_product"] = {
            "catalog_id": _str(product.get("catalog_id")),
            "product_retailer_id": _str(product.get("product_retailer_id")),
        }
    referral = _dict(raw.get("referral"))
    if referral:
        wa["referral"] = {
            key: _str(referral.get(key))
            for key in (
                "source_url",
                "source_type",
                "source_id",
                "headline",
                "body",
                "media_type",
                "image_url",
                "video_url",
                "thumbnail_url",
                "ctwa_clid",
            )
        }
    problems = [_error(e) for e in _list(raw.get("errors")) if isinstance(e, dict)]
    if problems:
        wa["errors"] = problems
        if "unsupported" in wa and not wa["unsupported"].get("code"):
            wa["unsupported"].update(code=problems[0]["code"], reason=problems[0]["details"])
    user_id = _str(raw.get("from_user_id")) or profile.user_id
    if user_id:
        wa["user_id"] = user_id
    if profile.username:
        wa["username"] = profile.username


def _not_understood(raw: Any, profiles: dict[str, _Profile], reason: str) -> Item:
    """A message that broke the parser: a placeholder when it can be placed, else an error."""
    log.warning("whatsapp: message not understood: %s", reason)
    raw_dict = _dict(raw)
    wamid = _str(raw_dict.get("id"))
    senders = _senders(raw_dict, profiles)
    if not wamid or senders is None:
        return Notice(
            "error", {"code": "", "title": "message not understood", "details": reason[:500]}
        )
    kind = _str(raw_dict.get("type")) or "unknown"
    return InboundMessage(
        external_id=wamid,
        sender=senders[0],
        sent_at=_timestamp(raw_dict.get("timestamp")),
        other_senders=senders[1],
        meta={
            "wa": {
                "type": "unsupported",
                "unsupported": {"type": kind, "code": "", "reason": reason[:500]},
            }
        },
    )


# --- message parts ---------------------------------------------------------------------------
def _attachment(kind: str, media: dict[str, Any]) -> InboundAttachment:
    mime = _str(media.get("mime_type"))
    base = mime.split(";")[0].strip().lower()
    voice = kind == "audio" and media.get("voice") is True
    name = _safe_name(_str(media.get("filename")))
    if not name:
        extension = _EXTENSIONS.get(base) or mimetypes.guess_extension(base) or ""
        name = ("voice" if voice else kind) + extension
    media_id = _str(media.get("id"))
    if not media_id:
        raise ValueError(f"{kind} without a media id")
    return InboundAttachment(
        name=name,
        content_type=base or "application/octet-stream",
        data=None,
        meta={
            "media_id": media_id,
            "sha256": _str(media.get("sha256")),
            "mime_type": mime,
            "voice": voice,
            "animated": kind == "sticker" and media.get("animated") is True,
        },
    )


def _safe_name(name: str) -> str:
    """A customer's file name without paths or control characters."""
    return _UNSAFE_NAME.sub("_", name).strip(" ._")[:200]


def _location(body: dict[str, Any]) -> dict[str, Any]:
    latitude, longitude = _number(body.get("latitude")), _number(body.get("longitude"))
    if latitude is None or longitude is None:
        raise ValueError("location without coordinates")
    return {
        "latitude": latitude,
        "longitude": longitude,
        "name": _str(body.get("name")),
        "address": _str(body.get("address")),
        "url": _str(body.get("url")),
        "map_url": f"https://www.google.com/maps/search/?api=1&query={latitude},{longitude}",
    }


def _card(card: dict[str, Any]) -> dict[str, Any]:
    name = _dict(card.get("name"))
    formatted = _str(name.get("formatted_name")) or " ".join(
        p for p in (_str(name.get("first_name")), _str(name.get("last_name"))) if p
    )
    org = _dict(card.get("org"))
    company = " — ".join(p for p in (_str(org.get("company")), _str(org.get("title"))) if p)
    return {
        "name": formatted,
        "phones": [
            {
                "phone": _str(p.get("phone")),
                "wa_id": _str(p.get("wa_id")),
                "type": _str(p.get("type")),
            }
            for p in _list(card.get("phones"))
            if isinstance(p, dict)
        ],
        "emails": [
            {"email": _str(e.get("email")), "type": _str(e.get("type"))}
            for e in _list(card.get("emails"))
            if isinstance(e, dict)
        ],
        "org": company,
        "urls": [_str(u.get("url")) for u in _list(card.get("urls")) if isinstance(u, dict)],
    }


def _card_line(card: dict[str, Any]) -> str:
    phones = ", ".join(p["phone"] or p["wa_id"] for p in card["phones"] if p["phone"] or p["wa_id"])
    return " ".join(part for part in (card["name"], phones) if part)


def _interactive(body: dict[str, Any]) -> dict[str, Any]:
    kind = _str(body.get("type"))
    chosen = _dict(body.get(kind))
    if kind in {"button_reply", "list_reply"}:
        return {
            "kind": kind,
            "id": _str(chosen.get("id")),
            "title": _str(chosen.get("title")),
            "description": _str(chosen.get("description")),
        }
    if kind == "nfm_reply":
        try:
            response = json.loads(_str(chosen.get("response_json")) or "{}")
        except ValueError:
            response = {"raw": _str(chosen.get("response_json"))}
        return {
            "kind": kind,
            "title": "",
            "name": _str(chosen.get("name")),
            "body": _str(chosen.get("body")),
            "response": response if isinstance(response, dict) else {"value": response},
        }
    raise ValueError(f"interactive reply of type {kind[:40]!r}")


def _order(body: dict[str, Any]) -> dict[str, Any]:
    items = []
    total = Decimal(0)
    currencies = set()
    for product in _list(body.get("product_items")):
        if not isinstance(product, dict):
            continue
        quantity, price = _decimal(product.get("quantity")), _decimal(product.get("item_price"))
        currency = _str(product.get("currency"))
        currencies.add(currency)
        total += quantity * price
        items.append(
            {
                "product_retailer_id": _str(product.get("product_retailer_id")),
                "quantity": _str(product.get("quantity")),
                "item_price": _str(product.get("item_price")),
                "currency": currency,
            }
        )
    return {
        "catalog_id": _str(body.get("catalog_id")),
        "text": _str(body.get("text")),
        "items": items,
        # Items in several currencies cannot be added up.
        "total": format(total.normalize(), "f") if len(currencies) == 1 else "",
        "currency": next(iter(currencies)) if len(currencies) == 1 else "",
    }


def _unsupported(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    what = _str(_dict(raw.get("unsupported")).get("type")) if kind == "unsupported" else kind
    return {"type": what or kind, "code": "", "reason": ""}


def _error(error: Any) -> dict[str, Any]:
    error = _dict(error)
    return {
        "code": _str(error.get("code")),
        "title": _str(error.get("title")),
        "message": _str(error.get("message")),
        "details": _str(_dict(error.get("error_data")).get("details")),
    }


# --- statuses and notices --------------------------------------------------------------------
def _status(raw: Any) -> StatusUpdate | None:
    status = _dict(raw)
    wamid, state = _str(status.get("id")), _str(status.get("status"))
    if not wamid or state not in STATUSES:
        log.debug("whatsapp: status %r ignored", state[:40])
        return None
    update = StatusUpdate(wamid, state, _timestamp(status.get("timestamp")))
    if state == "failed":
        problems = [_error(e) for e in _list(status.get("errors")) if isinstance(e, dict)]
        first = problems[0] if problems else _error({})
        update.error_code = first["code"]
        update.error_reason = _reason(first)
    return update


def _reason(error: dict[str, Any]) -> str:
    """The translated reason for a Graph error code; Meta's own words when there is no code."""
    try:
        code = int(error["code"])
    except ValueError:
        return str(error["details"] or error["title"] or error["message"])
    return str(errors.classify(code).reason)


def _template_notice(value: dict[str, Any]) -> dict[str, Any]:
    data = {
        "event": _str(value.get("event")),
        "template_id": _str(value.get("message_template_id")),
        "name": _str(value.get("message_template_name")),
        "language": _str(value.get("message_template_language")),
        "reason": _str(value.get("reason")),
        "category": _str(value.get("new_category")) or _str(value.get("message_template_category")),
    }
    for key in (
        "previous_category",
        "new_quality_score",
        "previous_quality_score",
        "disable_info",
        "other_info",
        "rejection_info",
    ):
        if key in value:
            data[key] = value[key]
    return data


def _user_preference(pref: dict[str, Any]) -> dict[str, Any]:
    return {
        "wa_id": _str(pref.get("wa_id")),
        "user_id": _str(pref.get("user_id")),
        "category": _str(pref.get("category")),
        "value": _str(pref.get("value")),
        "detail": _str(pref.get("detail")),
        "timestamp": _str(pref.get("timestamp")),
    }


# --- defensive readers -----------------------------------------------------------------------
def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    """Strings as given, numbers as text (ids sometimes arrive as numbers), else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(_str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def _timestamp(value: Any) -> datetime | None:
    """Meta's epoch seconds (a string) as an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(int(_str(value)), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
