"""WhatsApp webhook bodies in the documented shape (reference §1.5 to 1.8, §1.14).

Plain functions returning dicts (and ``encode`` for the bytes Meta sends), shared by the
inbound tests and the emulator. A message builder returns one ``messages[]`` item; wrap
items with ``change`` (one ``value``), ``entry`` and ``webhook``, or use ``inbound`` /
``statuses`` for the common one-change body.
"""

from __future__ import annotations

import json
from typing import Any

PHONE_NUMBER_ID = "109876543210987"
DISPLAY_NUMBER = "6281100001111"
WABA_ID = "314159265358979"
DEWI = "6281234567890"  # the shop's customer Dewi Lestari (wa_id: digits, no plus)
DEWI_NAME = "Dewi Lestari"
DEWI_BSUID = "US.13491208655302741918"
TIMESTAMP = "1767225600"  # 2026-01-01 00:00:00 UTC
SHA256 = "0f2c5e9a7b1d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6"

Doc = dict[str, Any]


def encode(doc: Any) -> bytes:
    """The bytes as Meta sends them: non-ASCII as ``\\uXXXX``, ``/`` as ``\\/``."""
    return json.dumps(doc, separators=(",", ":")).replace("/", "\\/").encode()


def webhook(*entries: Doc) -> Doc:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def entry(*changes: Doc, waba_id: str = WABA_ID, time: int | None = None) -> Doc:
    doc: Doc = {"id": waba_id, "changes": list(changes)}
    if time is not None:
        doc["time"] = time
    return doc


def contact(
    wa_id: str | None = DEWI,
    name: str = DEWI_NAME,
    *,
    user_id: str | None = None,
    username: str | None = None,
) -> Doc:
    profile: Doc = {"name": name}
    if username:
        profile["username"] = username
    doc: Doc = {"profile": profile}
    if wa_id:
        doc["wa_id"] = wa_id
    if user_id:
        doc["user_id"] = user_id
    return doc


def change(
    *,
    messages: list[Doc] | None = None,
    statuses: list[Doc] | None = None,
    contacts: list[Doc] | None = None,
    errors: list[Doc] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> Doc:
    """A ``messages`` field change (inbound messages and status callbacks)."""
    value: Doc = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    }
    if messages is not None:
        value["contacts"] = contacts if contacts is not None else [contact()]
        value["messages"] = messages
    elif contacts is not None:
        value["contacts"] = contacts
    if statuses is not None:
        value["statuses"] = statuses
    if errors is not None:
        value["errors"] = errors
    return {"field": "messages", "value": value}


def inbound(*messages: Doc, contacts: list[Doc] | None = None, **kwargs: Any) -> Doc:
    """One webhook with these messages in one change."""
    return webhook(entry(change(messages=list(messages), contacts=contacts, **kwargs)))


def statuses(*items: Doc, **kwargs: Any) -> Doc:
    return webhook(entry(change(statuses=list(items), **kwargs)))


# --- messages[] items (§1.6) -----------------------------------------------------------------
def message(
    kind: str,
    body: Any,
    *,
    wamid: str,
    sender: str | None = DEWI,
    user_id: str | None = None,
    timestamp: str = TIMESTAMP,
    **extra: Any,
) -> Doc:
    doc: Doc = {"id": wamid, "timestamp": timestamp, "type": kind}
    if sender:
        doc["from"] = sender
    if user_id:
        doc["from_user_id"] = user_id
    if body is not None:
        doc[kind] = body
    doc.update(extra)
    return doc


def text(body: str, *, wamid: str = "wamid.IN.text", **kw: Any) -> Doc:
    return message("text", {"body": body}, wamid=wamid, **kw)


def media(
    kind: str,
    media_id: str,
    *,
    wamid: str,
    mime_type: str,
    caption: str | None = None,
    sha256: str = SHA256,
    **fields: Any,
) -> Doc:
    """image, video, audio (``voice=True``), document (``filename=``), sticker (``animated=``)."""
    body: Doc = {"id": media_id, "mime_type": mime_type, "sha256": sha256, **fields}
    if caption is not None:
        body["caption"] = caption
    return message(kind, body, wamid=wamid)


def location(
    latitude: float,
    longitude: float,
    *,
    wamid: str = "wamid.IN.location",
    name: str | None = None,
    address: str | None = None,
) -> Doc:
    body: Doc = {"latitude": latitude, "longitude": longitude}
    if name:
        body["name"] = name
    if address:
        body["address"] = address
    return message("location", body, wamid=wamid)


def contact_card(
    formatted_name: str,
    phone: str,
    *,
    wa_id: str | None = None,
    email: str | None = None,
    company: str | None = None,
) -> Doc:
    card: Doc = {
        "name": {
            "formatted_name": formatted_name,
            "first_name": formatted_name.split(maxsplit=1)[0],
        },
        "phones": [{"phone": phone, "type": "CELL", **({"wa_id": wa_id} if wa_id else {})}],
    }
    if email:
        card["emails"] = [{"email": email, "type": "WORK"}]
    if company:
        card["org"] = {"company": company, "title": "Owner"}
    return card


def contacts(*cards: Doc, wamid: str = "wamid.IN.contacts") -> Doc:
    return message("contacts", list(cards), wamid=wamid)


def button_reply(
    reply_id: str, title: str, *, wamid: str = "wamid.IN.button_reply", quoted: str = ""
) -> Doc:
    extra: Doc = {"context": {"from": DISPLAY_NUMBER, "id": quoted}} if quoted else {}
    body = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
    return message("interactive", body, wamid=wamid, **extra)


def list_reply(
    reply_id: str, title: str, description: str = "", *, wamid: str = "wamid.IN.list_reply"
) -> Doc:
    chosen = {"id": reply_id, "title": title}
    if description:
        chosen["description"] = description
    return message("interactive", {"type": "list_reply", "list_reply": chosen}, wamid=wamid)


def flow_reply(response: Doc, *, wamid: str = "wamid.IN.nfm_reply") -> Doc:
    chosen = {"name": "flow", "body": "Sent", "response_json": json.dumps(response)}
    return message("interactive", {"type": "nfm_reply", "nfm_reply": chosen}, wamid=wamid)


def button(payload: str, label: str, *, wamid: str = "wamid.IN.button", quoted: str = "") -> Doc:
    extra: Doc = {"context": {"from": DISPLAY_NUMBER, "id": quoted}} if quoted else {}
    return message("button", {"payload": payload, "text": label}, wamid=wamid, **extra)


def reaction(target: str, emoji: str | None, *, wamid: str, **kw: Any) -> Doc:
    """``emoji=None``: the customer removed their reaction (Meta omits the key)."""
    body: Doc = {"message_id": target}
    if emoji is not None:
        body["emoji"] = emoji
    return message("reaction", body, wamid=wamid, **kw)


def order(
    items: list[tuple[str, int, str]], *, text: str = "", wamid: str = "wamid.IN.order"
) -> Doc:
    """``items``: (product_retailer_id, quantity, item_price) in IDR."""
    products = [
        {"product_retailer_id": sku, "quantity": qty, "item_price": price, "currency": "IDR"}
        for sku, qty, price in items
    ]
    return message(
        "order",
        {"catalog_id": "cat-batik-1", "text": text, "product_items": products},
        wamid=wamid,
    )


def number_changed(new_wa_id: str, *, old: str = DEWI, wamid: str = "wamid.IN.system") -> Doc:
    body = {
        "body": f"User {DEWI_NAME} changed from {old} to {new_wa_id}",
        "wa_id": new_wa_id,
        "type": "user_changed_number",
    }
    return message("system", body, wamid=wamid, sender=old)


def identity_changed(*, wamid: str = "wamid.IN.identity") -> Doc:
    body = {"body": "User security code changed", "type": "customer_identity_changed"}
    identity = {"acknowledged": True, "created_timestamp": TIMESTAMP, "hash": "Sjvjlx8G6Z0="}
    return message("system", body, wamid=wamid, identity=identity)


def unsupported(what: str = "poll_creation", *, wamid: str = "wamid.IN.unsupported") -> Doc:
    error = {
        "code": 131051,
        "title": "Message type unknown",
        "message": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."},
    }
    return message("unsupported", {"type": what}, wamid=wamid, errors=[error])


def edit(original: str, new_text: str, *, wamid: str = "wamid.IN.edit") -> Doc:
    inner = {"type": "text", "text": {"body": new_text}}
    return message("edit", {"original_message_id": original, "message": inner}, wamid=wamid)


def revoke(original: str, *, wamid: str = "wamid.IN.revoke") -> Doc:
    return message("revoke", {"original_message_id": original}, wamid=wamid)


# --- statuses[] items (§1.7) -----------------------------------------------------------------
def graph_error(code: int, title: str = "", details: str = "") -> Doc:
    return {
        "code": code,
        "title": title or f"error {code}",
        "message": title or f"error {code}",
        "error_data": {"details": details or title or f"error {code}"},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }


def status(
    wamid: str,
    state: str,
    *,
    timestamp: str = TIMESTAMP,
    recipient: str = DEWI,
    error_code: int | None = None,
) -> Doc:
    doc: Doc = {"id": wamid, "status": state, "timestamp": timestamp, "recipient_id": recipient}
    if state in {"sent", "delivered"}:
        doc["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    if error_code is not None:
        doc["errors"] = [graph_error(error_code)]
    return doc


# --- other fields (§1.8) ---------------------------------------------------------------------
def template_status(
    name: str,
    event: str,
    *,
    language: str = "id",
    template_id: str = "",
    reason: str = "NONE",
    time: int = 1767225600,
    **extra: Any,
) -> Doc:
    value: Doc = {
        "event": event,
        "message_template_id": template_id,
        "message_template_name": name,
        "message_template_language": language,
        "reason": reason,
        **extra,
    }
    return webhook(entry({"field": "message_template_status_update", "value": value}, time=time))


def user_preference(value: str, *, wa_id: str = DEWI, timestamp: str = TIMESTAMP) -> Doc:
    pref = {
        "wa_id": wa_id,
        "detail": "User requested to stop marketing messages",
        "category": "marketing_messages",
        "value": value,
        "timestamp": timestamp,
    }
    return webhook(
        entry(
            {
                "field": "user_preferences",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": DISPLAY_NUMBER,
                        "phone_number_id": PHONE_NUMBER_ID,
                    },
                    "contacts": [contact(wa_id)],
                    "user_preferences": [pref],
                },
            }
        )
    )
