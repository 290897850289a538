"""What the emulated "Meta" knows: its settings, the knobs, media, chats and the send log.

All in memory, behind one lock: the emulator is a separate process from Loket and never
touches Loket's database.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# The demo channel's settings (loket/demo/shop.py points the demo WhatsApp channel here).
DEFAULT_PORT = 8001
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_PHONE_NUMBER = "6281138002024"
VERIFIED_NAME = "Batik Sari"
ACCESS_TOKEN = "EAAemulator0demo0token"  # noqa: S105 - the emulator's published demo token
APP_SECRET = "emulator-app-secret"  # noqa: S105 - idem
VERIFY_TOKEN = "emulator-verify-token"  # noqa: S105 - idem
API_VERSION = "v23.0"
# The customer the phone page starts as (a demo customer: her messages join her tickets).
DEMO_CUSTOMER = ("Dewi Lestari", "6281234567890")


@dataclass
class Config:
    phone_number_id: str = PHONE_NUMBER_ID
    waba_id: str = WABA_ID
    display_phone_number: str = DISPLAY_PHONE_NUMBER
    verified_name: str = VERIFIED_NAME
    access_token: str = ACCESS_TOKEN
    app_secret: str = APP_SECRET
    verify_token: str = VERIFY_TOKEN
    api_version: str = API_VERSION
    webhook_url: str = ""


@dataclass
class Knobs:
    """Behaviour a test or a person can change while it runs (``POST /_emulator/knobs``)."""

    # Share of sends whose ``sent`` webhook is delivered before the HTTP response returns.
    early_sent_ratio: float = 0.3
    # Seconds after the send until the phone reports delivered / read.
    delivered_after: float = 0.3
    read_after: float = 1.0
    # False: ``read`` only when the customer phone page shows the message.
    auto_read: bool = True
    # ``read`` before ``delivered`` and ``sent`` last; or no ``delivered`` at all.
    out_of_order: bool = False
    skip_delivered: bool = False
    # All statuses of a send in one POST (two entries, several statuses).
    batch_statuses: bool = False
    # Every webhook delivered twice (at-least-once).
    duplicates: bool = False
    # Waits before each retry of a webhook POST that did not get a 2xx.
    retry_delays: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0, 4.0])
    # Media download URLs stay valid this long (Meta: 5 minutes).
    media_url_ttl: float = 300.0
    # wa_ids whose 24-hour window is closed (free text fails with 131047 after the 200).
    window_closed: list[str] = field(default_factory=list)
    # wa_ids that are not on WhatsApp (131026 after the 200).
    undeliverable: list[str] = field(default_factory=list)
    # The next N sends are refused with this code (130429 throughput, 131056 pair limit...).
    rate_limited: int = 0
    rate_limit_code: int = 130429
    # wa_id -> the next N sends to that customer are refused with 131056.
    pair_limited: dict[str, int] = field(default_factory=dict)
    # Every call answers 190 (the access token expired).
    token_expired: bool = False

    def update(self, changes: dict[str, Any]) -> None:
        """Apply known knobs; an unknown name or a wrong type raises ValueError."""
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown knob: {name}")
            current = getattr(self, name)
            if isinstance(current, bool):
                ok = isinstance(value, bool)
            elif isinstance(current, float):
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            elif isinstance(current, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(current, list):
                ok = isinstance(value, list)
            else:
                ok = isinstance(value, dict)
            if not ok:
                raise ValueError(f"knob {name} must be a {type(current).__name__}")
            setattr(self, name, float(value) if isinstance(current, float) else value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Media:
    id: str
    data: bytes
    mime_type: str
    filename: str = ""
    # Who put it there: "business" (uploaded by Loket) or "customer" (sent from the phone).
    owner: str = "business"
    created: float = field(default_factory=time.time)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ChatMessage:
    """One bubble on the customer phone page."""

    id: str  # wamid
    direction: str  # "in" (customer to business) or "out"
    type: str
    content: dict[str, Any]  # the typed object as sent (text, image, interactive...)
    at: float = field(default_factory=time.time)
    status: str = ""  # out: accepted, sent, delivered, read, failed
    error: str = ""
    context: str = ""  # the quoted wamid
    reactions: dict[str, str] = field(default_factory=dict)  # "customer"/"business" -> emoji
    seen: bool = False  # the phone page showed it (its read status is on its way)


@dataclass
class Chat:
    wa_id: str
    name: str
    messages: list[ChatMessage] = field(default_factory=list)
    # The business shows "typing…" until then (a typing indicator lasts 25 s or until a reply).
    typing_until: float = 0.0


# Realistic templates of the demo shop's account (GET /{waba_id}/message_templates).
TEMPLATES: list[dict[str, Any]] = [
    {
        "id": "1203948576102938",
        "name": "status_pesanan",
        "language": "id",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Halo {{1}}, pesanan {{2}} kamu sekarang berstatus: {{3}}. "
                "Balas pesan ini kalau ada pertanyaan ya.",
                "example": {"body_text": [["Dewi", "#4521", "dikirim"]]},
            },
            {"type": "FOOTER", "text": "Batik Sari"},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": "Terima kasih"}],
            },
        ],
    },
    {
        "id": "1203948576102939",
        "name": "lanjutkan_percakapan",
        "language": "id",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Halo {{1}}, kami sudah membalas pertanyaan Kakak soal tiket {{2}}. "
                "Balas pesan ini untuk melanjutkan percakapan.",
                "example": {"body_text": [["Dewi", "#1042"]]},
            }
        ],
    },
    {
        "id": "1203948576102940",
        "name": "promo_akhir_pekan",
        "language": "id",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Promo akhir pekan"},
            {
                "type": "BODY",
                "text": "Diskon {{1}} untuk semua batik tulis sampai Minggu! "
                "Pakai kode {{2}} saat checkout.",
                "example": {"body_text": [["20%", "BATIK20"]]},
            },
            {"type": "FOOTER", "text": "Balas STOP untuk berhenti"},
        ],
    },
    {
        "id": "1203948576102941",
        "name": "order_status",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} is now: {{3}}.",
                "example": {"body_text": [["Dewi", "#4521", "shipped"]]},
            }
        ],
    },
    {
        "id": "1203948576102942",
        "name": "konfirmasi_pembayaran",
        "language": "id",
        "status": "PENDING",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Pembayaran {{1}} untuk pesanan {{2}} sudah kami terima.",
                "example": {"body_text": [["Rp190.000", "#4521"]]},
            }
        ],
    },
    {
        "id": "1203948576102943",
        "name": "diskon_kilat",
        "language": "id",
        "status": "REJECTED",
        "category": "MARKETING",
        "rejected_reason": "PROMOTIONAL",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "BODY", "text": "DISKON 90%!!! Hanya hari ini, klik sekarang {{1}}"}
        ],
    },
]


class State:
    """Everything the emulator remembers, guarded by ``lock``."""

    def __init__(self, config: Config, knobs: Knobs) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.config = config
        self.knobs = knobs
        self.media: dict[str, Media] = {}
        self.chats: dict[str, Chat] = {}
        self.sent: list[dict[str, Any]] = []  # accepted /messages bodies, in order
        self.refused: list[dict[str, Any]] = []  # {"body", "code"} of refused sends
        self.marked_read: list[str] = []
        self.uploads: list[str] = []  # media ids uploaded by the business
        self.templates: list[dict[str, Any]] = [dict(t) for t in TEMPLATES]
        self.version = 0  # bumped on every change a phone page shows

    def touch(self) -> None:
        with self.lock:
            self.version += 1
            self.changed.notify_all()

    def chat(self, wa_id: str, name: str = "") -> Chat:
        with self.lock:
            chat = self.chats.get(wa_id)
            if chat is None:
                chat = self.chats[wa_id] = Chat(wa_id, name or wa_id)
            elif name:
                chat.name = name
            return chat

    def find(self, wamid: str) -> ChatMessage | None:
        found = self.find_in_chat(wamid)
        return found[1] if found else None

    def find_in_chat(self, wamid: str) -> tuple[Chat, ChatMessage] | None:
        with self.lock:
            for chat in self.chats.values():
                for message in chat.messages:
                    if message.id == wamid:
                        return chat, message
        return None
