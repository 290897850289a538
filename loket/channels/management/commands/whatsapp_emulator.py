"""``loket whatsapp-emulator``: the local stand-in for Meta's WhatsApp Cloud API.

Serves the Graph API subset Loket uses and the customer phone page at ``/``. Every default
matches the demo channel, so ``loket whatsapp-emulator`` beside ``loket web`` on a demo
database just works. Secrets can also come from the environment (LOKET_EMULATOR_APP_SECRET,
LOKET_EMULATOR_ACCESS_TOKEN), which ``loket run`` uses so they never show in ``ps``.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loket.channels.whatsapp.emulator import state
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.demo import default_port
from loket.channels.whatsapp.emulator.server import serve


class Command(BaseCommand):
    help = (
        "Run the WhatsApp Cloud API emulator (Graph API subset, signed webhooks, "
        "customer phone page at /)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address (default 127.0.0.1).")
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="Port (LOKET_WHATSAPP_EMULATOR_PORT, else LOKET_PORT + 1: 8001).",
        )
        parser.add_argument(
            "--webhook",
            default=None,
            help="Where to POST webhooks (default: the demo channel on http://127.0.0.1:8000).",
        )
        parser.add_argument("--phone-number-id", default=state.PHONE_NUMBER_ID)
        parser.add_argument("--waba-id", default=state.WABA_ID)
        parser.add_argument("--display-phone-number", default=state.DISPLAY_PHONE_NUMBER)
        parser.add_argument("--verified-name", default=state.VERIFIED_NAME)
        parser.add_argument("--api-version", default=state.API_VERSION)
        parser.add_argument("--access-token", default=None, help="(LOKET_EMULATOR_ACCESS_TOKEN)")
        parser.add_argument("--app-secret", default=None, help="(LOKET_EMULATOR_APP_SECRET)")
        parser.add_argument(
            "--auto-read",
            action="store_true",
            help="The customer reads every message at once (default: when the phone page "
            "shows it, as on a real phone).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port: int = options["port"] or default_port()
        webhook: str | None = options["webhook"]
        if webhook is None:
            webhook = _demo_webhook()
        config = state.Config(
            phone_number_id=options["phone_number_id"],
            waba_id=options["waba_id"],
            display_phone_number=options["display_phone_number"],
            verified_name=options["verified_name"],
            api_version=options["api_version"],
            access_token=options["access_token"]
            or os.environ.get("LOKET_EMULATOR_ACCESS_TOKEN")
            or state.ACCESS_TOKEN,
            app_secret=options["app_secret"]
            or os.environ.get("LOKET_EMULATOR_APP_SECRET")
            or state.APP_SECRET,
            webhook_url=webhook,
        )
        emulator = Emulator(config, state.Knobs(auto_read=options["auto_read"]))
        try:
            server = serve(emulator, options["host"], port)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{port}: {exc}") from None
        self.stdout.write(
            f"WhatsApp emulator on {emulator.base_url}/ (customer phone page), "
            f"webhooks to {webhook or '(none)'}"
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            emulator.stop()


def _demo_webhook() -> str:
    """The demo channel's webhook URL on the default web port, when the demo is loaded."""
    from django.db import DatabaseError

    from loket.channels.models import Channel
    from loket.channels.whatsapp.emulator.demo import webhook_path
    from loket.core.env import env_int

    try:
        channel = Channel.objects.filter(kind="whatsapp", config__emulator=True).first()
    except DatabaseError:
        return ""
    if channel is None:
        return ""
    return f"http://127.0.0.1:{env_int('PORT', 8000, minimum=1)}{webhook_path(channel.pk)}"
