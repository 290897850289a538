"""A configured WhatsApp channel for the configuration, webhook, health and template tests."""

from __future__ import annotations

from typing import Any

from loket.accounts.models import Team
from loket.channels import services
from loket.channels.models import Channel

ACCESS_TOKEN = "EAAG-token-akses-sangat-rahasia-4321"
APP_SECRET = "app-secret-toko-3f9a"
VERIFY_TOKEN = "verifikasi-toko-5555"
PHONE_NUMBER_ID = "109876543210987"
WABA_ID = "102290129340398"


def whatsapp_channel(team: Team | None = None, name: str = "WA Toko", **config: Any) -> Channel:
    """A channel created the way the admin form does it (secrets encrypted)."""
    return services.create_channel(
        kind="whatsapp",
        name=name,
        address="+6281100001111",
        team=team,
        config={
            "phone_number_id": PHONE_NUMBER_ID,
            "waba_id": WABA_ID,
            "access_token": ACCESS_TOKEN,
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "api_version": "v23.0",
            "base_url": "http://127.0.0.1:9/graph",
            **config,
        },
        actor=None,
    )


def emulated_channel(base_url: str, team: Team | None = None, **config: Any) -> Channel:
    """A channel speaking to a running emulator with the emulator's own ids and token."""
    from loket.channels.whatsapp.emulator import state

    return whatsapp_channel(
        team,
        phone_number_id=state.PHONE_NUMBER_ID,
        waba_id=state.WABA_ID,
        access_token=state.ACCESS_TOKEN,
        app_secret=state.APP_SECRET,
        verify_token=state.VERIFY_TOKEN,
        base_url=base_url,
        **config,
    )
