"""The emulated Cloud API's behaviour, without HTTP: sends, statuses, media, customers.

``server`` maps requests onto these methods; tests call the customer side directly
(``customer_says``...) and read what Loket sent (``sent``). Every customer action becomes a
signed webhook in the documented shape (reference §1.5/1.6); every accepted send is answered
with the documented response and followed by ``sent``/``delivered``/``read`` (or ``failed``)
status webhooks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from loket.channels.whatsapp.emulator import wire
from loket.channels.whatsapp.emulator.state import (
    DEMO_CUSTOMER,
    Chat,
    ChatMessage,
    Config,
    Knobs,
    Media,
    State,
)
from loket.channels.whatsapp.emulator.webhooks import Attempt, Dispatcher, Job
from loket.channels.whatsapp.emulator.wire import GraphFault

T = TypeVar("T")

# How long a send waits for its early ``sent`` webhook to be answered before responding.
EARLY_SENT_WAIT = 3.0
# A typing indicator shows this long unless a message comes first (Meta: 25 s).
TYPING_SECONDS = 25.0


class Emulator:
    def __init__(self, config: Config | None = None, knobs: Knobs | None = None) -> None:
        self.state = State(config or Config(), knobs or Knobs())
        self.dispatcher = Dispatcher(self.state)
        self.random = random.Random()  # noqa: S311 - behaviour, not security
        self.base_url = ""  # set by the server once it listens

    # --- reading (tests) ----------------------------------------------------------------
    @property
    def config(self) -> Config:
        return self.state.config

    @property
    def knobs(self) -> Knobs:
        return self.state.knobs

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The ``/messages`` bodies accepted so far (a copy)."""
        with self.state.lock:
            return list(self.state.sent)

    @property
    def webhook_log(self) -> list[Attempt]:
        with self.state.lock:
            return list(self.dispatcher.log)

    @property
    def uploads(self) -> list[Media]:
        with self.state.lock:
            return [self.state.media[i] for i in self.state.uploads]

    def media_bytes(self, media_id: str) -> bytes:
        with self.state.lock:
            return self.state.media[media_id].data

    def status_of(self, wamid: str) -> str:
        message = self.state.find(wamid)
        return message.status if message else ""

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Wait until ``predicate()`` is truthy and return it; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self.state.changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"emulator: condition not met within {timeout} s")
                self.state.changed.wait(min(left, 0.1))

    def wait_for_sent(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The sends so far, once there are at least ``count``."""

        def enough() -> list[dict[str, Any]]:
            sent = self.sent
            return sent if len(sent) >= count else []

        return self.wait_for(enough, timeout)

    # --- knobs --------------------------------------------------------------------------
    def set_knobs(self, **changes: Any) -> None:
        with self.state.lock:
            self.state.knobs.update(changes)

    def set_window_closed(self, wa_id: str, closed: bool = True) -> None:
        self._toggle(self.knobs.window_closed, wa_id, closed)

    def set_undeliverable(self, wa_id: str, undeliverable: bool = True) -> None:
        self._toggle(self.knobs.undeliverable, wa_id, undeliverable)

    def set_rate_limited(self, count: int = 1, code: int = 130429) -> None:
        self.set_knobs(rate_limited=count, rate_limit_code=code)

    def set_pair_limited(self, wa_id: str, count: int = 1) -> None:
        with self.state.lock:
            self.knobs.pair_limited[wa_id] = count

    def set_token_expired(self, expired: bool = True) -> None:
        self.set_knobs(token_expired=expired)

    def _toggle(self, items: list[str], wa_id: str, on: bool) -> None:
        with self.state.lock:
            if on and wa_id not in items:
                items.append(wa_id)
            elif not on and wa_id in items:
                items.remove(wa_id)

    def stop(self) -> None:
        self.dispatcher.stop()

    # --- the Graph API ------------------------------------------------------------------
    def authorize(self, header: str | None) -> None:
        """Bearer auth: a missing or wrong token, or an expired one, is error 190 (HTTP 401)."""
        token = (header or "").removeprefix("Bearer ").strip()
        if not header or not header.startswith("Bearer ") or token != self.config.access_token:
            raise GraphFault(190, "Invalid OAuth access token - Cannot parse access token")
        if self.knobs.token_expired:
            raise GraphFault(
                190, "Error validating access token: Session has expired on Sunday, 1-Jan-26."
            )

    def own_number(self, phone_number_id: str) -> None:
        if phone_number_id != self.config.phone_number_id:
            raise GraphFault(
                100,
                f"Unsupported request: object with ID '{phone_number_id}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation",
            )

    def phone_number(self, fields: list[str]) -> dict[str, Any]:
        info = {
            "id": self.config.phone_number_id,
            "display_phone_number": "+" + self.config.display_phone_number,
            "verified_name": self.config.verified_name,
            "quality_rating": "GREEN",
            "code_verification_status": "VERIFIED",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
        }
        if not fields:
            fields = ["display_phone_number", "verified_name", "quality_rating"]
        return {key: info[key] for key in ["id", *fields] if key in info}

    def templates(self, waba_id: str, fields: list[str], limit: int, after: str) -> dict[str, Any]:
        if waba_id != self.config.waba_id:
            self.own_number(waba_id)  # the same "does not exist" error
        with self.state.lock:
            everything = list(self.state.templates)
        start = int(after) if after.isdigit() else 0
        page = everything[start : start + limit]
        data = [
            {k: v for k, v in t.items() if not fields or k in fields or k == "id"} for t in page
        ]
        result: dict[str, Any] = {
            "data": data,
            "paging": {"cursors": {"before": str(start), "after": str(start + len(page))}},
        }
        if start + len(page) < len(everything):
            result["paging"]["next"] = (
                f"{self.base_url}/{self.config.api_version}/{waba_id}/message_templates"
                f"?limit={limit}&after={start + len(page)}"
            )
        return result

    def send(self, body: Any) -> dict[str, Any]:
        """``POST /{phone_number_id}/messages``: validate, answer, then the statuses."""
        if not isinstance(body, dict):
            raise GraphFault(100, "The request body must be a JSON object.")
        if "status" in body:
            return self._mark_read(body)
        try:
            kind = wire.validate_send(body)
            to = wire.recipient(body)
            found = self._template(body) if kind == "template" else None
            if kind in wire.MEDIA_KINDS and body[kind].get("id"):
                self._business_media(str(body[kind]["id"]))
            self._limits(to)
        except GraphFault as fault:
            with self.state.lock:
                self.state.refused.append({"body": body, "code": fault.code})
            raise
        wamid = wire.new_wamid()
        content = dict(body[kind]) if kind != "contacts" else {"contacts": body["contacts"]}
        if found is not None:
            content["rendered"] = render(found, body["template"])
            content["quick_replies"] = quick_replies(found, body["template"])
        message = ChatMessage(
            wamid,
            "out",
            kind,
            content,
            status="accepted",
            context=str((body.get("context") or {}).get("message_id", "")),
        )
        with self.state.lock:
            self.state.sent.append(body)
            chat = self.state.chat(to)
            chat.messages.append(message)
            chat.typing_until = 0.0
            if kind == "reaction":
                target = self.state.find(str(body["reaction"]["message_id"]))
                if target is not None:
                    self._react(target, "business", str(body["reaction"].get("emoji", "")))
        self.state.touch()
        self._statuses(body, kind, to, message)
        response: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": str(body.get("to") or body.get("recipient")), "wa_id": to}],
            "messages": [{"id": wamid}],
        }
        if kind == "template":
            response["messages"][0]["message_status"] = "accepted"
        return response

    def _mark_read(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("status") != "read":
            raise GraphFault(100, "The parameter status must be read.")
        if body.get("messaging_product") != "whatsapp":
            raise GraphFault(100, "The parameter messaging_product is required.")
        wamid = body.get("message_id")
        if not isinstance(wamid, str) or not wamid:
            raise GraphFault(131008, "The parameter message_id is required.")
        indicator = body.get("typing_indicator")
        if indicator is not None and indicator != {"type": "text"}:
            raise GraphFault(131009, 'typing_indicator must be {"type": "text"}.')
        with self.state.lock:
            self.state.marked_read.append(wamid)
            found = self.state.find_in_chat(wamid)
            if found is not None and found[1].direction == "in":
                found[1].status = "read"
                if indicator:
                    found[0].typing_until = time.time() + TYPING_SECONDS
        self.state.touch()
        return {"success": True}

    def _template(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            templates = list(self.state.templates)
        return wire.check_template(body["template"], templates)

    def _business_media(self, media_id: str) -> None:
        with self.state.lock:
            if media_id not in self.state.media:
                raise GraphFault(131009, f"Media id {media_id} was not found.")

    def _limits(self, to: str) -> None:
        with self.state.lock:
            knobs = self.state.knobs
            if knobs.rate_limited > 0:
                knobs.rate_limited -= 1
                raise GraphFault(knobs.rate_limit_code)
            left = knobs.pair_limited.get(to, 0)
            if left > 0:
                knobs.pair_limited[to] = left - 1
                raise GraphFault(131056)

    def _statuses(self, body: dict[str, Any], kind: str, to: str, message: ChatMessage) -> None:
        knobs = self.knobs
        extra = {}
        if body.get("biz_opaque_callback_data"):
            extra["biz_opaque_callback_data"] = body["biz_opaque_callback_data"]
        failure = 0
        if to in knobs.undeliverable or not to.isdigit() or not 8 <= len(to) <= 15:
            failure = 131026
        elif to in knobs.window_closed and kind != "template":
            failure = 131047
        if failure:
            status = self._status(message, "failed", to, extra, error=failure)
            self._post([status], message, ["failed"], delay=0.1)
            return
        plan = [("sent", 0.0), ("delivered", knobs.delivered_after)]
        if knobs.auto_read:
            plan.append(("read", knobs.read_after))
        if knobs.skip_delivered:
            plan = [p for p in plan if p[0] != "delivered"]
        if knobs.out_of_order:  # read first, then delivered, sent last
            plan = [(name, 0.05 * i) for i, (name, _) in enumerate(reversed(plan))]
        if knobs.batch_statuses:
            statuses = [self._status(message, name, to, extra) for name, _ in plan]
            self._post(statuses, message, [n for n, _ in plan], delay=plan[-1][1], split=True)
            return
        for name, delay in plan:
            job = self._post([self._status(message, name, to, extra)], message, [name], delay)
            early = name == "sent" and delay == 0.0
            if early and self.random.random() < knobs.early_sent_ratio:
                job.first_try.wait(EARLY_SENT_WAIT)  # answered before the HTTP response

    def _status(
        self,
        message: ChatMessage,
        name: str,
        to: str,
        extra: dict[str, Any],
        *,
        error: int = 0,
    ) -> dict[str, Any]:
        status: dict[str, Any] = {
            "id": message.id,
            "status": name,
            "timestamp": str(int(time.time())),
            "recipient_id": to,
            **extra,
        }
        if name in ("sent", "delivered"):
            category = "service" if message.type != "template" else "utility"
            status["pricing"] = {
                "billable": message.type == "template",
                "pricing_model": "PMP",
                "type": "regular" if message.type == "template" else "free_customer_service",
                "category": category,
            }
        if error:
            status["errors"] = [wire.error_object(error)]
        return status

    def _post(
        self,
        statuses: list[dict[str, Any]],
        message: ChatMessage,
        names: list[str],
        delay: float,
        *,
        split: bool = False,
    ) -> Job:
        order = ["accepted", "sent", "delivered", "read"]

        def shown() -> None:
            with self.state.lock:
                for name in names:
                    if name == "failed":
                        message.status = "failed"
                        message.error = wire.ERRORS[statuses[0]["errors"][0]["code"]][0]
                    elif message.status in order and order.index(name) > order.index(
                        message.status
                    ):
                        message.status = name
            self.state.touch()

        values = [{"statuses": statuses}]
        if split and len(statuses) > 1:  # two entries: every level of batching is used
            values = [{"statuses": statuses[:-1]}, {"statuses": statuses[-1:]}]
        return self.dispatcher.post(self._envelope(values), delay=delay, on_attempt=shown)

    def _envelope(self, values: list[dict[str, Any]]) -> dict[str, Any]:
        return wire.envelope(
            waba_id=self.config.waba_id,
            phone_number_id=self.config.phone_number_id,
            display_phone_number=self.config.display_phone_number,
            values=values,
        )

    # --- media --------------------------------------------------------------------------
    def upload(self, data: bytes, mime_type: str, filename: str, product: str) -> str:
        if product != "whatsapp":
            raise GraphFault(100, "The parameter messaging_product is required.")
        if not data:
            raise GraphFault(131008, "The parameter file is required.")
        if not mime_type:
            raise GraphFault(131008, "The parameter type is required.")
        media = Media(wire.new_media_id(), data, mime_type, filename)
        with self.state.lock:
            self.state.media[media.id] = media
            self.state.uploads.append(media.id)
        return media.id

    def media_info(self, media_id: str, phone_number_id: str = "") -> dict[str, Any]:
        if phone_number_id:
            self.own_number(phone_number_id)
        with self.state.lock:
            media = self.state.media.get(media_id)
        if media is None:
            self.own_number(media_id)  # unknown object: the same Graph error
            raise AssertionError  # pragma: no cover - own_number raised
        expires = int(time.time() + self.knobs.media_url_ttl)
        token = wire.sign(f"{media.id}:{expires}".encode(), self.config.app_secret)[7:27]
        return {
            "messaging_product": "whatsapp",
            "id": media.id,
            "url": f"{self.base_url}/whatsapp_business/attachments/?mid={media.id}"
            f"&ext={expires}&hash={token}",
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": len(media.data),
        }

    def download(self, mid: str, ext: str, signature: str) -> Media:
        """The bytes behind a media URL (the caller checked the Bearer token)."""
        expected = wire.sign(f"{mid}:{ext}".encode(), self.config.app_secret)[7:27]
        with self.state.lock:
            media = self.state.media.get(mid)
        if media is None or signature != expected or not ext.isdigit():
            raise GraphFault(100, "Invalid media URL.", http_status=404)
        if int(ext) < time.time():
            raise GraphFault(100, "The media URL has expired; fetch a new one.", http_status=404)
        return media

    def delete_media(self, media_id: str) -> dict[str, Any]:
        with self.state.lock:
            if self.state.media.pop(media_id, None) is None:
                self.own_number(media_id)
        return {"success": True}

    def subscribe(self, verify_token: str = "") -> bool:
        """Meta's check when a callback URL is saved: GET with ``hub.*``; True when the
        endpoint echoes the challenge verbatim with a 200."""
        challenge = str(self.random.randrange(10**9, 10**10))
        params = {
            "hub.mode": "subscribe",
            "hub.challenge": challenge,
            "hub.verify_token": verify_token or self.config.verify_token,
        }
        try:
            answer = httpx.get(self.config.webhook_url, params=params, timeout=10)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.text == challenge

    # --- the customer's side ------------------------------------------------------------
    def customer_says(
        self, wa_id: str, text: str, *, name: str = "", context: str = "", wait: bool = True
    ) -> str:
        return self._customer(wa_id, name, "text", {"body": text}, context=context, wait=wait)

    def customer_sends_media(
        self,
        wa_id: str,
        data: bytes,
        mime_type: str,
        *,
        caption: str = "",
        kind: str = "image",
        filename: str = "",
        name: str = "",
        wait: bool = True,
    ) -> str:
        if kind not in wire.MEDIA_KINDS:
            raise ValueError(f"not a media kind: {kind}")
        media = Media(wire.new_media_id(), data, mime_type, filename, owner="customer")
        with self.state.lock:
            self.state.media[media.id] = media
        content: dict[str, Any] = {"mime_type": mime_type, "sha256": media.sha256, "id": media.id}
        if caption and kind not in ("audio", "sticker"):
            content["caption"] = caption
        if kind == "document":
            content["filename"] = filename or "dokumen"
        if kind == "audio":
            content["voice"] = mime_type.startswith("audio/ogg")
        if kind == "sticker":
            content["animated"] = False
        return self._customer(wa_id, name, kind, content, wait=wait)

    def customer_shares_location(
        self,
        wa_id: str,
        latitude: float,
        longitude: float,
        *,
        place: str = "",
        address: str = "",
        name: str = "",
        wait: bool = True,
    ) -> str:
        content: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if place:
            content["name"] = place
        if address:
            content["address"] = address
        return self._customer(wa_id, name, "location", content, wait=wait)

    def customer_taps(
        self, wa_id: str, message_id: str, reply_id: str, *, name: str = "", wait: bool = True
    ) -> str:
        """Tap a reply button or list row of our interactive message (or a template button)."""
        ours = self.state.find(message_id)
        if ours is None or ours.direction != "out":
            raise ValueError(f"no business message {message_id}")
        title, kind = _choice(ours, reply_id)
        if kind == "button":
            content: dict[str, Any] = {"payload": reply_id, "text": title}
            return self._customer(wa_id, name, "button", content, context=message_id, wait=wait)
        content = {"type": kind, kind: {"id": reply_id, "title": title}}
        return self._customer(wa_id, name, "interactive", content, context=message_id, wait=wait)

    def customer_reacts(
        self, wa_id: str, message_id: str, emoji: str, *, name: str = "", wait: bool = True
    ) -> str:
        """React to a message; an empty ``emoji`` removes the reaction (the key is omitted)."""
        target = self.state.find(message_id)
        if target is not None:
            self._react(target, "customer", emoji)
        content: dict[str, Any] = {"message_id": message_id}
        if emoji:
            content["emoji"] = emoji
        return self._customer(wa_id, name, "reaction", content, wait=wait, show=False)

    def customer_sends(
        self,
        wa_id: str,
        kind: str,
        content: dict[str, Any] | list[Any],
        *,
        name: str = "",
        context: str = "",
        extra: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> str:
        """Any other documented inbound type (contacts, order, system, unsupported...):
        ``content`` goes under the ``kind`` key, ``extra`` beside it (``referral``,
        ``errors``...)."""
        return self._customer(wa_id, name, kind, content, context=context, extra=extra, wait=wait)

    def _react(self, target: ChatMessage, who: str, emoji: str) -> None:
        with self.state.lock:
            if emoji:
                target.reactions[who] = emoji
            else:
                target.reactions.pop(who, None)
        self.state.touch()

    def _customer(
        self,
        wa_id: str,
        name: str,
        kind: str,
        content: dict[str, Any] | list[Any],
        *,
        context: str = "",
        extra: dict[str, Any] | None = None,
        wait: bool = True,
        show: bool = True,
    ) -> str:
        wamid = wire.new_wamid()
        shown = content if isinstance(content, dict) else {kind: content}
        with self.state.lock:
            chat: Chat = self.state.chat(wa_id, name)
            if show:
                chat.messages.append(ChatMessage(wamid, "in", kind, shown, context=context))
            self._toggle(self.knobs.window_closed, wa_id, False)  # writing reopens it
        self.state.touch()
        message: dict[str, Any] = {
            "from": wa_id,
            "id": wamid,
            "timestamp": str(int(time.time())),
            "type": kind,
            kind: content,
            **(extra or {}),
        }
        if context:
            message["context"] = {"from": self.config.display_phone_number, "id": context}
        value = {
            "contacts": [{"profile": {"name": chat.name}, "wa_id": wa_id}],
            "messages": [message],
        }
        job = self.dispatcher.post(self._envelope([value]), kind="message")
        if wait:
            job.done.wait(30)
        return wamid

    def chat_view(self, wa_id: str, *, seen: bool) -> dict[str, Any]:
        """What the phone page shows; ``seen`` marks the business's messages read."""
        with self.state.lock:
            chat = self.state.chats.get(wa_id)
            unread = [
                m
                for m in (chat.messages if chat else [])
                if m.direction == "out" and m.status in ("sent", "delivered") and not m.seen
            ]
            if seen and not self.knobs.auto_read:
                for message in unread:
                    message.seen = True  # one read status, however often the page asks
            else:
                unread = []
        for message in unread:
            status = self._status(message, "read", wa_id, {})
            self._post([status], message, ["read"], delay=0.0)
        with self.state.lock:
            messages = [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "type": m.type,
                    "content": m.content,
                    "at": m.at,
                    "status": m.status,
                    "error": m.error,
                    "context": m.context,
                    "reactions": dict(m.reactions),
                    "media": self._media_view(m),
                }
                for m in (chat.messages if chat else [])
            ]
            return {
                "version": self.state.version,
                "business": self.config.verified_name,
                "default": {"name": DEMO_CUSTOMER[0], "wa_id": DEMO_CUSTOMER[1]},
                "name": chat.name if chat else "",
                "typing": bool(chat and chat.typing_until > time.time()),
                "messages": messages,
            }

    def _media_view(self, message: ChatMessage) -> str:
        if message.type not in wire.MEDIA_KINDS:
            return ""
        media_id = str(message.content.get("id", ""))
        if media_id in self.state.media:
            return f"/_emulator/media/{media_id}"
        return str(message.content.get("link", ""))


def render(template: dict[str, Any], send: dict[str, Any]) -> str:
    """A template's header and body with the send's parameters filled in, as the phone shows it."""
    params: dict[str, list[str]] = {}
    for component in send.get("components") or []:
        if isinstance(component, dict) and component.get("type") in ("header", "body"):
            params[component["type"]] = [
                str(p.get("text", "")) for p in component.get("parameters") or []
            ]
    parts = []
    for component in template["components"]:
        part = str(component.get("type", "")).lower()
        text = str(component.get("text", ""))
        for i, value in enumerate(params.get(part, []), start=1):
            text = text.replace(f"{{{{{i}}}}}", value)
        if text:
            parts.append(text)
    return "\n".join(parts)


def quick_replies(template: dict[str, Any], send: dict[str, Any]) -> list[dict[str, str]]:
    """A template's quick-reply buttons: the label from the template, the payload the send
    set for that button index (the label when it set none)."""
    labels = [
        str(button.get("text", ""))
        for component in template["components"]
        if str(component.get("type", "")).upper() == "BUTTONS"
        for button in component.get("buttons") or []
        if button.get("type") == "QUICK_REPLY"
    ]
    payloads: dict[int, str] = {}
    for component in send.get("components") or []:
        if isinstance(component, dict) and component.get("sub_type") == "quick_reply":
            parameters = component.get("parameters") or [{}]
            index = str(component.get("index", "0"))
            if index.isdigit():
                payloads[int(index)] = str(parameters[0].get("payload", ""))
    return [{"text": t, "payload": payloads.get(i) or t} for i, t in enumerate(labels)]


def _choice(message: ChatMessage, reply_id: str) -> tuple[str, str]:
    """The title and reply kind of the option ``reply_id`` of one of our messages."""
    if message.type == "template":
        for button in message.content.get("quick_replies") or []:
            if button["payload"] == reply_id:
                return button["text"], "button"
        raise ValueError(f"{message.id} has no button {reply_id}")
    action = message.content.get("action") or {}
    for button in action.get("buttons") or []:
        reply = button.get("reply") or {}
        if reply.get("id") == reply_id:
            return str(reply.get("title", "")), "button_reply"
    for section in action.get("sections") or []:
        for row in section.get("rows") or []:
            if row.get("id") == reply_id:
                return str(row.get("title", "")), "list_reply"
    raise ValueError(f"{message.id} has no option {reply_id}")
