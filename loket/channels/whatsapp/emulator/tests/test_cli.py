"""``loket whatsapp-emulator`` as a real process: it serves the Graph API and the phone page."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from loket.channels.whatsapp.emulator import state
from loket.channels.whatsapp.emulator.tests.receiver import running_receiver
from loket.core.tests.processes import Running, free_port, loket_env


def test_the_command_serves_with_the_demo_defaults(tmp_path: Path) -> None:
    port = free_port()
    with running_receiver() as receiver:
        emulator = Running(
            tmp_path,
            "whatsapp-emulator",
            "--port",
            str(port),
            "--webhook",
            receiver.url,
            env=loket_env(tmp_path, LOKET_EMULATOR_APP_SECRET="from-the-environment"),
        )
        try:
            emulator.wait_for_line(f"WhatsApp emulator on http://127.0.0.1:{port}/")
            base = f"http://127.0.0.1:{port}"
            assert "Ponsel pelanggan" in httpx.get(base + "/").text
            number = httpx.get(
                f"{base}/v23.0/{state.PHONE_NUMBER_ID}",
                headers={"Authorization": f"Bearer {state.ACCESS_TOKEN}"},
            )
            assert number.json()["verified_name"] == state.VERIFIED_NAME
            said = httpx.post(
                f"{base}/_emulator/customer",
                json={"wa_id": "6281234567890", "action": "text", "text": "Halo"},
            )
            assert said.status_code == 200
            first = receiver.received
            emulator.wait_for(lambda: bool(first), "the webhook")
            assert receiver.all_signed("from-the-environment")
            assert emulator.stop(signal.SIGINT) == 0
        finally:
            emulator.kill()
