"""The Cloud API's bodies, as Meta writes them (reference §1.5 to §1.11).

Webhook bodies are encoded the way Meta sends them: non-ASCII escaped as ``\\uXXXX`` and
``/`` as ``\\/``, and signed over exactly those bytes, so a receiver that re-serialises the
JSON before checking the signature fails here as it would against Meta.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from typing import Any

HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code -> (title, details): Meta's wording where known (pywa errors.py, reference §1.11).
ERRORS: dict[int, tuple[str, str]] = {
    100: ("Invalid parameter", "Invalid parameter"),
    190: (
        "Error validating access token: Session has expired.",
        "The access token has expired or is not valid.",
    ),
    130429: (
        "Rate limit hit",
        "Cloud API message throughput has been reached.",
    ),
    131008: ("Required parameter is missing", "Required parameter is missing"),
    131009: ("Parameter value is not valid", "Parameter value is not valid"),
    131026: (
        "Message undeliverable",
        "Message failed to send because the recipient is not on WhatsApp, or has not "
        "accepted the latest Terms of Service.",
    ),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    131053: ("Media upload error", "Media upload error"),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
    ),
    132000: (
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values included in the request did not match "
        "the number of variable parameters defined in the template.",
    ),
    132001: (
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or has not been approved.",
    ),
}

# HTTP status Graph answers with, per code (400 for everything not listed).
HTTP_STATUS = {190: 401, 130429: 429}

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
SEND_TYPES = (
    "text",
    *MEDIA_KINDS,
    "location",
    "contacts",
    "interactive",
    "template",
    "reaction",
)


class GraphFault(Exception):
    """A request the Graph API refuses: answered with the Graph error object."""

    def __init__(self, code: int, details: str = "", *, http_status: int | None = None) -> None:
        title, default = ERRORS.get(code, ("Error", "Error"))
        super().__init__(f"({code}) {details or default}")
        self.code = code
        self.title = title
        self.details = details or default
        self.http_status = http_status or HTTP_STATUS.get(code, 400)

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": f"(#{self.code}) {self.title}",
                "type": "OAuthException",
                "code": self.code,
                "error_data": {"messaging_product": "whatsapp", "details": self.details},
                "fbtrace_id": "A" + secrets.token_urlsafe(16),
            }
        }


def error_object(code: int) -> dict[str, Any]:
    """The error object of a ``failed`` status or a ``messages[].errors`` entry."""
    title, details = ERRORS.get(code, ("Error", "Error"))
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": HREF,
    }


# --- webhooks -----------------------------------------------------------------------------
def encode(payload: dict[str, Any]) -> bytes:
    """Meta's byte form: ASCII only, ``\\uXXXX`` in lowercase hex, ``/`` as ``\\/``.

    Replacing ``/`` is safe on serialised JSON: outside strings it never occurs.
    """
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode()


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value for these exact bytes."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(
    *,
    waba_id: str,
    phone_number_id: str,
    display_phone_number: str,
    values: list[dict[str, Any]],
) -> dict[str, Any]:
    """One notification: each value (messages/contacts/statuses) as its own entry."""
    metadata = {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                    }
                ],
            }
            for value in values
        ],
    }


def new_wamid() -> str:
    return "wamid.HBgN" + secrets.token_hex(12).upper()


def new_media_id() -> str:
    return str(10**15 + secrets.randbelow(9 * 10**15))


# --- send validation ----------------------------------------------------------------------
def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        raise GraphFault(131008, f"The parameter {key} is required.")
    if not isinstance(value, dict):
        raise GraphFault(131009, f"The parameter {key} must be an object.")
    return value


def _text(obj: dict[str, Any], key: str, *, limit: int, required: bool = True) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise GraphFault(131008, f"The parameter {key} is required.")
        return ""
    if not isinstance(value, str):
        raise GraphFault(131009, f"The parameter {key} must be a string.")
    if len(value) > limit:
        raise GraphFault(131009, f"The parameter {key} is too long (at most {limit}).")
    return value


def recipient(body: dict[str, Any]) -> str:
    """The ``to`` of a send, digits only (``+`` and separators allowed in the input)."""
    to = body.get("to") or body.get("recipient")
    if not to:
        raise GraphFault(131008, "The parameter to is required.")
    if not isinstance(to, str):
        raise GraphFault(131009, "The parameter to must be a string.")
    digits = re.sub(r"[\s\-()+]", "", to)
    if to.startswith("US.") or not digits.isdigit():
        return to  # a BSUID, or garbage the emulator reports as undeliverable
    return digits


def validate_send(body: dict[str, Any]) -> str:
    """Check a ``/messages`` body the way the Graph API does; return its type."""
    if body.get("messaging_product") != "whatsapp":
        raise GraphFault(100, "The parameter messaging_product is required and must be whatsapp.")
    kind = body.get("type", "text")
    if kind not in SEND_TYPES:
        raise GraphFault(100, f"Unsupported message type: {kind}")
    recipient(body)
    context = body.get("context")
    if context is not None and not (
        isinstance(context, dict) and isinstance(context.get("message_id"), str)
    ):
        raise GraphFault(131009, "context.message_id must be a string.")
    if kind == "contacts":
        _contacts(body)
    elif kind in MEDIA_KINDS:
        _media(kind, _object(body, kind))
    else:
        _CHECKS[kind](_object(body, kind))
    return str(kind)


def _text_message(obj: dict[str, Any]) -> None:
    _text(obj, "body", limit=4096)
    if "preview_url" in obj and not isinstance(obj["preview_url"], bool):
        raise GraphFault(131009, "text.preview_url must be a boolean.")


def _location(obj: dict[str, Any]) -> None:
    for key in ("latitude", "longitude"):
        if not isinstance(obj.get(key), int | float | str):
            raise GraphFault(131008, f"The parameter location.{key} is required.")


def _reaction(obj: dict[str, Any]) -> None:
    _text(obj, "message_id", limit=256)
    if not isinstance(obj.get("emoji", ""), str):
        raise GraphFault(131009, "reaction.emoji must be a string.")


def _template(obj: dict[str, Any]) -> None:
    _text(obj, "name", limit=512)
    _text(_object(obj, "language"), "code", limit=16)
    if not isinstance(obj.get("components", []), list):
        raise GraphFault(131009, "template.components must be a list.")


def _media(kind: str, obj: dict[str, Any]) -> None:
    has_id, has_link = bool(obj.get("id")), bool(obj.get("link"))
    if has_id == has_link:
        raise GraphFault(131008, f"{kind} needs exactly one of id and link.")
    if has_link and not str(obj["link"]).startswith(("http://", "https://")):
        raise GraphFault(131009, f"{kind}.link must be an http(s) URL.")
    if kind in ("audio", "sticker") and "caption" in obj:
        raise GraphFault(131009, f"{kind} takes no caption.")
    _text(obj, "caption", limit=1024, required=False)


def _contacts(body: dict[str, Any]) -> None:
    cards = body.get("contacts")
    if not isinstance(cards, list) or not cards:
        raise GraphFault(131008, "The parameter contacts is required.")
    for card in cards:
        name = card.get("name") if isinstance(card, dict) else None
        if not isinstance(name, dict) or not name.get("formatted_name"):
            raise GraphFault(131008, "contacts[].name.formatted_name is required.")


def _interactive(obj: dict[str, Any]) -> None:
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise GraphFault(131008, "The parameter interactive.type is required.")
    action = _object(obj, "action")
    if kind in ("button", "list", "cta_url"):
        _text(_object(obj, "body"), "text", limit=1024 if kind == "button" else 4096)
    footer = obj.get("footer")
    if isinstance(footer, dict):
        _text(footer, "text", limit=60)
    if kind == "button":
        _buttons(action)
    elif kind == "list":
        _list(action)
    elif kind == "cta_url":
        parameters = _object(action, "parameters")
        _text(parameters, "display_text", limit=20)
        _text(parameters, "url", limit=2000)


def _buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise GraphFault(131009, "interactive.action.buttons takes 1 to 3 buttons.")
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict):
            raise GraphFault(131008, "Each button needs a reply object.")
        _text(reply, "id", limit=256)
        _text(reply, "title", limit=20)


def _list(action: dict[str, Any]) -> None:
    _text(action, "button", limit=20)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise GraphFault(131009, "interactive.action.sections takes 1 to 10 sections.")
    rows = [row for s in sections if isinstance(s, dict) for row in s.get("rows") or []]
    if not 1 <= len(rows) <= 10:
        raise GraphFault(131009, "A list takes 1 to 10 rows in total.")
    for row in rows:
        if not isinstance(row, dict):
            raise GraphFault(131009, "Each row must be an object.")
        _text(row, "id", limit=200)
        _text(row, "title", limit=24)
        _text(row, "description", limit=72, required=False)


_CHECKS = {
    "text": _text_message,
    "location": _location,
    "interactive": _interactive,
    "reaction": _reaction,
    "template": _template,
}


def placeholders(text: str) -> int:
    """How many distinct ``{{n}}`` / ``{{name}}`` parameters a template text takes."""
    return len(set(re.findall(r"\{\{\s*([\w]+)\s*\}\}", text)))


def check_template(send: dict[str, Any], templates: list[dict[str, Any]]) -> dict[str, Any]:
    """The APPROVED template a send names, with the right number of parameters (132001/132000)."""
    name = send["name"]
    language = send["language"]["code"]
    found = next(
        (
            t
            for t in templates
            if t["name"] == name and t["language"] == language and t["status"] == "APPROVED"
        ),
        None,
    )
    if found is None:
        raise GraphFault(132001, f"template name ({name}) does not exist in {language}")
    given: dict[str, int] = {}
    for component in send.get("components") or []:
        if isinstance(component, dict) and component.get("type") in ("header", "body"):
            given[component["type"]] = len(component.get("parameters") or [])
    for component in found["components"]:
        part = str(component.get("type", "")).lower()
        if part in ("header", "body"):
            expected = placeholders(str(component.get("text", "")))
            if given.get(part, 0) != expected:
                raise GraphFault(
                    132000,
                    f"{part}: expected number of params ({expected}) does not match "
                    f"received number of params ({given.get(part, 0)})",
                )
    return found
