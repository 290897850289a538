"""End to end over a real server: `loket web` (uvicorn), a signed-in agent's EventSource
connection, and a mail imported by the CLI into the same database arrives on the stream."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from loket.core.tests.processes import Running, free_port, migrated_data_dir, run_loket

PASSWORD = "rahasia-toko-123"

MAIL = b"""From: Rudi Hartono <rudi@contoh.co.id>
To: cs@batiksari.id
Subject: Tanya stok batik tulis
Message-ID: <live-1@contoh.co.id>
Date: Sun, 29 Nov 2026 10:00:00 +0700
Content-Type: text/plain; charset=utf-8

Halo, batik tulis motif parang masih ada?
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    data_dir = migrated_data_dir(tmp_path / "data")
    created = run_loket(
        data_dir,
        "createagent",
        "--email=budi@batiksari.id",
        "--name=Budi Santoso",
        f"--password={PASSWORD}",
        "--team=Penjualan",
    )
    assert created.returncode == 0, created.stderr
    channel = run_loket(
        data_dir,
        "shell",
        "-c",
        "from loket.accounts.models import Team; from loket.channels.models import Channel; "
        "Channel.objects.create(kind='email', name='Email CS', address='cs@batiksari.id', "
        "team=Team.objects.get(name='Penjualan'))",
    )
    assert channel.returncode == 0, channel.stderr
    port = free_port()
    web = Running(data_dir, "web", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        web.wait_for_line("Uvicorn running on", timeout=60)
        yield data_dir, base
    finally:
        web.kill()


def sign_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    client.get("/masuk/")
    response = client.post(
        "/masuk/",
        data={
            "username": "budi@batiksari.id",
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/masuk/"},
    )
    assert response.status_code == 302, response.text
    return client


def wait_for(found: Callable[[], bool], lines: list[str], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found():
            return
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout} s; the stream said:\n" + "\n".join(lines))


def test_an_imported_mail_reaches_the_agents_open_stream(server: tuple[Path, str]) -> None:
    data_dir, base = server
    client = sign_in(base)
    lines: list[str] = []
    headers: dict[str, str] = {}

    def listen() -> None:
        try:
            with client.stream(
                "GET", "/live/events", headers={"Accept": "text/event-stream"}, timeout=None
            ) as response:
                headers.update(response.headers)
                for line in response.iter_lines():
                    lines.append(line)
                    if line.startswith('data: {"kind":"message.received"'):
                        return  # got it: the tab goes away, the server notices
        except httpx.HTTPError:
            return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    wait_for(lambda: "event: ready" in lines, lines, "ready event")
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"

    imported = run_loket(data_dir, "email", "import", stdin=MAIL)
    assert imported.returncode == 0, imported.stderr

    wait_for(lambda: not listener.is_alive(), lines, "message.received event")
    text = "\n".join(lines)
    assert re.search(r'data: \{"kind":"message.received","ticket_id":\d+,"ticket_number":\d+', text)
    assert "parang" not in text  # ids only, never the message
    assert "rudi@contoh.co.id" not in text

    # The connection can be resumed from the last id the browser saw.
    last_id = [line for line in lines if line.startswith("id: ")][-1].removeprefix("id: ")
    with client.stream(
        "GET", "/live/events", headers={"Last-Event-ID": "0"}, timeout=10
    ) as response:
        replay: list[str] = []
        for line in response.iter_lines():
            replay.append(line)
            if line == "event: message.received":
                break
    assert "event: ticket.created" in replay
    assert int(last_id) > 0
    client.close()
