"""WhatsApp messages in the timeline: ``Message.meta["wa"]`` (docs/adr/0004) made ready to show.

Everything here works on the messages the ticket page already holds (no query): quotes,
reactions, edits and revokes are matched by provider id inside the timeline. URLs from the
customer's side (maps, ads, card links) are shown only when they are plain http(s), so a
``javascript:`` link can never reach an agent's click.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from loket.tickets.models import DeliveryStatus, Direction, Message

# What an agent may react with (the picker's choices).
REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "🙏")

# Types whose card says everything Message.text says (the text is then not repeated).
CARD_TYPES = frozenset(
    {"location", "contacts", "interactive", "button", "order", "system", "unsupported"}
)

# Friendlier names for the unsupported types WhatsApp reports.
UNSUPPORTED_NAMES = {
    "poll_update": "poll",
    "poll_creation": "poll",
    "group_invite": "group invite",
    "media_placeholder": "media",
    "keep_in_chat": "keep in chat",
    "unknown": "unknown",
}

EXCERPT = 120


def safe_url(value: Any) -> str:
    """``value`` when it is an http(s) URL, else "" (never a javascript: or data: link)."""
    if isinstance(value, str) and re.match(r"^https?://[^\s\"'<>]+$", value.strip(), re.I):
        return value.strip()
    return ""


def tel(phone: Any) -> str:
    """A tel: URL of a phone number as written on a card ("+62 812-3456" → tel:+628123456)."""
    digits = re.sub(r"[^\d+]", "", str(phone or ""))
    return f"tel:{digits}" if re.search(r"\d", digits) else ""


def money(amount: Any, currency: str) -> str:
    """An amount in the customer's currency; rupiah without decimals, dots between thousands."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount or "")
    code = (currency or "").upper()
    if code == "IDR":
        return "Rp " + f"{value.quantize(Decimal(1)):,}".replace(",", ".")
    return f"{code} {value:,.2f}".strip()


def excerpt(message: Message) -> str:
    text = " ".join(message.text.split())
    if not text:
        files = list(message.attachments.all())
        text = files[0].name if files else ""
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


@dataclass(frozen=True)
class Quote:
    excerpt: str
    anchor: str  # "msg-<pk>" when the quoted message is in this timeline


@dataclass(frozen=True)
class Badge:
    emoji: str
    by: str  # "customer" or "agent"
    pending: bool = False
    failed: bool = False


@dataclass(frozen=True)
class Card:
    name: str
    org: str
    phones: list[tuple[str, str]]  # (as written, tel: URL)
    emails: list[str]
    urls: list[str]


@dataclass(frozen=True)
class OrderRow:
    product: str
    quantity: str
    price: str
    subtotal: str


@dataclass(frozen=True)
class Order:
    rows: list[OrderRow]
    total: str
    text: str


@dataclass
class WaView:
    """What the bubble of one WhatsApp message shows beyond its text and files."""

    type: str = ""
    forwarded: str = ""
    referral: dict[str, str] = field(default_factory=dict)
    product: str = ""
    location: dict[str, Any] = field(default_factory=dict)
    cards: list[Card] = field(default_factory=list)
    choice: str = ""
    choice_detail: str = ""
    answers: list[tuple[str, str]] = field(default_factory=list)
    order: Order | None = None
    notice: str = ""
    unsupported: str = ""
    quote: Quote | None = None
    reactions: list[Badge] = field(default_factory=list)
    ours: str = ""  # the emoji we reacted with (picking it again takes it away)
    edited: str = ""  # "edit": this is a new version; "original": a newer version follows
    revoked: bool = False
    template: str = ""  # name of the template we sent
    buttons: list[str] = field(default_factory=list)  # quick-reply buttons we sent
    hides_text: bool = False
    actions: bool = False  # the agent may quote and react (a customer's WhatsApp message)


def _wa(message: Message) -> dict[str, Any]:
    meta = message.meta if isinstance(message.meta, dict) else {}
    wa = meta.get("wa")
    return wa if isinstance(wa, dict) else {}


def _forwarded(wa: dict[str, Any]) -> str:
    value = wa.get("forwarded")
    if value == "frequently":
        return _("Forwarded many times")
    return _("Forwarded") if value else ""


def _referral(wa: dict[str, Any]) -> dict[str, str]:
    ref = wa.get("referral")
    if not isinstance(ref, dict):
        return {}
    return {
        "headline": str(ref.get("headline") or ""),
        "body": str(ref.get("body") or ""),
        "source_url": safe_url(ref.get("source_url")),
        "source_type": str(ref.get("source_type") or ""),
        "image_url": safe_url(ref.get("thumbnail_url") or ref.get("image_url")),
    }


def _location(wa: dict[str, Any]) -> dict[str, Any]:
    loc = wa.get("location")
    if not isinstance(loc, dict):
        return {}
    lat, lon = loc.get("latitude"), loc.get("longitude")
    coords = f"{lat}, {lon}" if lat is not None and lon is not None else ""
    map_url = safe_url(loc.get("map_url"))
    if not map_url and coords:
        map_url = f"https://www.google.com/maps/search/?api=1&query={lat},{lon}"
    return {
        "name": str(loc.get("name") or ""),
        "address": str(loc.get("address") or ""),
        "coords": coords,
        "map_url": map_url,
        "url": safe_url(loc.get("url")),
    }


def _cards(wa: dict[str, Any]) -> list[Card]:
    cards = wa.get("contacts")
    out: list[Card] = []
    for card in cards if isinstance(cards, list) else []:
        if not isinstance(card, dict):
            continue
        phones = [
            (str(p.get("phone") or p.get("wa_id") or ""), tel(p.get("phone") or p.get("wa_id")))
            for p in card.get("phones") or []
            if isinstance(p, dict)
        ]
        emails = [str(e.get("email")) for e in card.get("emails") or [] if isinstance(e, dict)]
        urls = [u for u in (safe_url(x) for x in card.get("urls") or []) if u]
        out.append(
            Card(str(card.get("name") or ""), str(card.get("org") or ""), phones, emails, urls)
        )
    return out


def _choice(view: WaView, wa: dict[str, Any]) -> None:
    reply = wa.get("reply")
    if not isinstance(reply, dict):
        return
    title = str(reply.get("title") or reply.get("payload") or reply.get("id") or "")
    if reply.get("kind") == "nfm_reply":
        view.choice = _("Sent a form")
        response = reply.get("response")
        if isinstance(response, dict):
            view.answers = [(str(k), str(v)) for k, v in response.items() if k != "flow_token"]
        return
    view.choice = _("Chose: %(title)s") % {"title": title}
    view.choice_detail = str(reply.get("description") or "")


def _order(wa: dict[str, Any]) -> Order | None:
    order = wa.get("order")
    if not isinstance(order, dict):
        return None
    currency = str(order.get("currency") or "")
    rows: list[OrderRow] = []
    total = Decimal(0)
    for item in order.get("items") or []:
        if not isinstance(item, dict):
            continue
        code = str(item.get("currency") or currency)
        currency = currency or code
        try:
            quantity = Decimal(str(item.get("quantity", 0)))
            price = Decimal(str(item.get("item_price", 0)))
        except (InvalidOperation, ValueError):
            quantity, price = Decimal(0), Decimal(0)
        total += quantity * price
        rows.append(
            OrderRow(
                str(item.get("product_retailer_id") or ""),
                f"{quantity.normalize():f}",
                money(price, code),
                money(quantity * price, code),
            )
        )
    return Order(rows, money(order.get("total") or total, currency), str(order.get("text") or ""))


def _notice(wa: dict[str, Any]) -> str:
    system = wa.get("system")
    if not isinstance(system, dict):
        return ""
    kind = system.get("type")
    if kind in {"user_changed_number", "customer_changed_number"}:
        new = system.get("new_wa_id") or system.get("wa_id")
        if new:
            return _("The customer changed their WhatsApp number to +%(number)s.") % {
                "number": str(new).lstrip("+")
            }
        return _("The customer changed their WhatsApp number.")
    if kind == "customer_identity_changed":
        return _(
            "The customer's WhatsApp security code changed (a new phone or a reinstall). "
            "Make sure you are still talking to the same person before sharing private details."
        )
    return str(system.get("body") or "")


def _unsupported(wa: dict[str, Any]) -> str:
    info = wa.get("unsupported")
    if not isinstance(info, dict) and wa.get("type") != "unsupported":
        return ""
    info = info if isinstance(info, dict) else {}
    if str(info.get("code")) == "131060":
        return _(
            "This message is not available yet (the number is also used in the WhatsApp "
            "Business app); ask the customer to send it again."
        )
    raw = str(info.get("type") or "unknown")
    name = UNSUPPORTED_NAMES.get(raw, raw.replace("_", " "))
    if not info.get("code") and info.get("reason"):  # ours: the parser could not read it
        return _(
            "Loket could not read this %(type)s message (%(reason)s); ask the customer to "
            "send it again."
        ) % {"type": name, "reason": str(info["reason"])[:200]}
    return _(
        "A %(type)s message is not supported by the WhatsApp Cloud API; ask the customer to "
        "send it again as text."
    ) % {"type": name}


def _view(message: Message, wa: dict[str, Any]) -> WaView:
    kind = str(wa.get("type") or "")
    view = WaView(type=kind)
    view.forwarded = _forwarded(wa)
    view.referral = _referral(wa)
    product = wa.get("referred_product")
    if isinstance(product, dict):
        view.product = str(product.get("product_retailer_id") or "")
    view.location = _location(wa)
    view.cards = _cards(wa)
    _choice(view, wa)
    view.order = _order(wa)
    view.notice = _notice(wa)
    view.unsupported = _unsupported(wa)
    template = wa.get("template")
    if isinstance(template, dict):
        view.template = str(template.get("name") or "")
    interactive = wa.get("interactive")
    if isinstance(interactive, dict):
        buttons = (interactive.get("action") or {}).get("buttons") or []
        view.buttons = [
            str((b.get("reply") or {}).get("title") or "") for b in buttons if isinstance(b, dict)
        ]
    view.hides_text = kind in CARD_TYPES
    view.actions = (
        message.direction == Direction.INBOUND
        and bool(message.external_id)
        and kind not in {"system", "unsupported", "revoke"}
    )
    return view


def _quote(
    message: Message, wa: dict[str, Any], by_pk: dict[int, Message], by_ext: dict[str, Message]
) -> Quote | None:
    target: Message | None = None
    context = wa.get("context")
    quoted_id = context.get("id") if isinstance(context, dict) else None
    if message.reply_to_id is not None:
        target = by_pk.get(message.reply_to_id)
    elif quoted_id:
        target = by_ext.get(str(quoted_id))
    if target is not None:
        return Quote(excerpt(target), f"msg-{target.pk}")
    if message.reply_to_id is not None or quoted_id:
        return Quote(_("A message that is not in this conversation"), "")
    return None


@dataclass(frozen=True)
class Folded:
    """The timeline's WhatsApp facts: a view per message, and what is not a bubble of its own."""

    views: dict[int, WaView]
    hidden: set[int]  # agent reactions and revokes, shown on the message they concern
    lines: dict[int, str]  # hidden messages whose target is elsewhere: a grey line instead


def fold(messages: list[Message], *, whatsapp: bool) -> Folded:
    """Views for every WhatsApp message of the timeline (no query: the prefetch holds all).

    On a WhatsApp ticket every customer message gets one (to be quoted and reacted to)."""
    by_pk = {m.pk: m for m in messages}
    by_ext = {m.external_id: m for m in messages if m.external_id}
    views: dict[int, WaView] = {}
    hidden: set[int] = set()
    lines: dict[int, str] = {}
    for message in messages:
        wa = _wa(message)
        reacted = isinstance(message.meta, dict) and message.meta.get("reactions")
        customer = whatsapp and message.direction == Direction.INBOUND and message.external_id
        if not wa and not reacted and not customer and message.reply_to_id is None:
            continue
        view = views.setdefault(message.pk, _view(message, wa))
        view.quote = _quote(message, wa, by_pk, by_ext)
        for reaction in (message.meta or {}).get("reactions") or []:
            if isinstance(reaction, dict) and reaction.get("emoji"):
                view.reactions.append(
                    Badge(str(reaction["emoji"]), str(reaction.get("by") or "customer"))
                )
    for message in messages:
        wa = _wa(message)
        reaction, edit, revoke = wa.get("reaction"), wa.get("edit"), wa.get("revoke")
        if isinstance(reaction, dict) and message.direction == Direction.OUTBOUND:
            _fold_reaction(
                message, reaction, by_ext=by_ext, views=views, hidden=hidden, lines=lines
            )
        elif isinstance(edit, dict):
            original = by_ext.get(str(edit.get("original_message_id") or ""))
            views[message.pk].edited = "edit"
            if original is not None:
                views[message.pk].quote = Quote(excerpt(original), f"msg-{original.pk}")
                views.setdefault(original.pk, _view(original, _wa(original))).edited = "original"
        elif isinstance(revoke, dict) or wa.get("type") == "revoke":
            target_id = str((revoke or {}).get("original_message_id") or "")
            original = by_ext.get(target_id)
            hidden.add(message.pk)
            if original is not None:
                views.setdefault(original.pk, _view(original, _wa(original))).revoked = True
            else:
                lines[message.pk] = _("The customer deleted a message.")
    return Folded(views, hidden, lines)


def _fold_reaction(
    message: Message,
    reaction: dict[str, Any],
    *,
    by_ext: dict[str, Message],
    views: dict[int, WaView],
    hidden: set[int],
    lines: dict[int, str],
) -> None:
    """Our reaction shows on the message reacted to (the newest reaction wins)."""
    hidden.add(message.pk)
    target = by_ext.get(str(reaction.get("message_id") or ""))
    emoji = str(reaction.get("emoji") or "")
    if target is None:
        lines[message.pk] = _("%(who)s reacted %(emoji)s") % {
            "who": message.author or _("System"),
            "emoji": emoji or "∅",
        }
        return
    view = views.setdefault(target.pk, _view(target, _wa(target)))
    if message.delivery_status == DeliveryStatus.FAILED and emoji:
        view.reactions = [b for b in view.reactions if b.by != "agent" or b.emoji != emoji]
        view.reactions.append(Badge(emoji, "agent", failed=True))
        return
    view.reactions = [b for b in view.reactions if b.by != "agent"]
    view.ours = emoji
    if emoji:
        view.reactions.append(
            Badge(
                emoji,
                "agent",
                pending=message.delivery_status in {DeliveryStatus.QUEUED, DeliveryStatus.SENDING},
            )
        )


def our_reaction(messages: list[Message], wamid: str) -> str:
    """The emoji we last reacted to ``wamid`` with ("" for none or removed; failed ones
    do not count)."""
    current = ""
    for message in messages:
        reaction = _wa(message).get("reaction")
        if (
            message.direction == Direction.OUTBOUND
            and isinstance(reaction, dict)
            and reaction.get("message_id") == wamid
            and message.delivery_status != DeliveryStatus.FAILED
        ):
            current = str(reaction.get("emoji") or "")
    return current
