"""How the demo's WhatsApp channel and ``loket run --demo`` meet the emulator.

The demo channel stores the emulator's base URL (``config["emulator"]`` marks it), so
``loket run`` knows to start the emulator beside the web server, on that port, with that
channel's settings, posting webhooks to that channel's webhook URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from loket.channels.whatsapp.emulator import state
from loket.core.env import env_int


def default_port(web_port: int | None = None) -> int:
    """LOKET_WHATSAPP_EMULATOR_PORT, else the web port + 1 (LOKET_PORT + 1: 8001)."""
    web = web_port or env_int("PORT", 8000, minimum=1)
    return env_int("WHATSAPP_EMULATOR_PORT", web + 1, minimum=1)


def channel_config(port: int | None = None) -> dict[str, Any]:
    """The demo channel's settings: the emulator's numbers, secrets and base URL."""
    return {
        "demo": True,
        "emulator": True,
        "phone_number_id": state.PHONE_NUMBER_ID,
        "waba_id": state.WABA_ID,
        "api_version": state.API_VERSION,
        "base_url": f"http://127.0.0.1:{port or default_port()}",
        "access_token": state.ACCESS_TOKEN,
        "app_secret": state.APP_SECRET,
        "verify_token": state.VERIFY_TOKEN,
        "mark_read": True,
    }


def port_of(base_url: str) -> int | None:
    """The loopback port of an emulator base URL; None for anything else (Meta's host)."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
        return None
    return parts.port or 80


def webhook_path(channel_id: int) -> str:
    return f"/webhooks/whatsapp/{channel_id}/"
