"""``loket run --demo`` (what ``make run`` does) supervises the emulator, wired to the demo
channel: a customer on the phone page reaches an agent, and the agent's reply comes back
to the phone, read, through the real web server, worker and emulator processes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from loket.core.tests.processes import Running, free_port, loket_env, migrated_data_dir, run_loket

REPLY = """
from loket.accounts.models import User
from loket.tickets import services
from loket.tickets.models import Message
found = Message.objects.filter(text="Halo, batik tulisnya masih ada?").first()
if found is not None:
    agent = User.objects.get(email="budi@batiksari.test")
    services.reply(found.ticket, agent, "Halo Kak Putri, masih ada kak 😊")
    print("replied", found.ticket.number)
"""


def test_the_demo_runs_the_emulator_and_a_customer_reaches_an_agent(tmp_path: Path) -> None:
    data_dir = migrated_data_dir(tmp_path / "data")
    port, phone_port = free_port(), free_port()
    running = Running(
        data_dir,
        *("run", "--demo", "--no-browser", "--no-migrate", "--port", str(port)),
        env=loket_env(data_dir, LOKET_WHATSAPP_EMULATOR_PORT=str(phone_port)),
    )
    phone = f"http://127.0.0.1:{phone_port}"
    try:
        running.wait_for_line("Loket is ready: ", timeout=120)
        assert f"Coba sebagai pelanggan: {phone}/" in running.output
        said = httpx.post(
            phone + "/_emulator/customer",
            json={
                "wa_id": "6281299998888",
                "name": "Putri Ayu",
                "action": "text",
                "text": "Halo, batik tulisnya masih ada?",
            },
        )
        assert said.status_code == 200

        deadline = time.monotonic() + 60
        while "replied" not in run_loket(data_dir, "shell", "-c", REPLY).stdout:
            assert time.monotonic() < deadline, f"no ticket from the webhook:\n{running.output}"

        def on_the_phone() -> list[dict[str, Any]]:
            # seen=1: the page is open, so the customer reads what arrives (blue ticks)
            chat = httpx.get(
                phone + "/_emulator/chat", params={"wa_id": "6281299998888", "seen": "1"}
            )
            return [m for m in chat.json()["messages"] if m["direction"] == "out"]

        running.wait_for(
            lambda: [m["status"] for m in on_the_phone()] == ["read"],
            "the reply read on the phone",
            timeout=60,
        )
        assert on_the_phone()[0]["content"] == {"body": "Halo Kak Putri, masih ada kak 😊"}
    finally:
        running.kill()
