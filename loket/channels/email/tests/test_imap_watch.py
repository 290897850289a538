"""`loket email_fetch --watch` as `loket run` starts it: a real process on its own SQLite
database, every mailbox in its own thread, quiet while there is none, and back on its feet
when the IMAP server goes away and returns; and one fetch per mailbox at a time."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from loket.channels.email import imap
from loket.channels.email.tests.test_imap import connect, mail
from loket.channels.models import Delivery
from loket.conftest import Shop
from loket.core import leases
from loket.core.tests import dovecot as dovecot_module
from loket.core.tests.dovecot import Dovecot, running_dovecot
from loket.core.tests.processes import (
    Running,
    loket_argv,
    loket_env,
    migrated_data_dir,
    run_loket,
)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return migrated_data_dir(tmp_path / "data")


def query(data_dir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(data_dir / "loket.sqlite3", timeout=30)) as db, db:
        return db.execute(sql, params).fetchall()


def add_mailbox(data_dir: Path, dovecot: Dovecot, address: str, *extra: str) -> int:
    result = run_loket(
        data_dir,
        "channel", "add", "email",
        "--address", address,
        "--imap-host", dovecot.host,
        "--imap-port", str(dovecot.port),
        "--imap-security", "none",
        "--imap-user", dovecot.user,
        "--imap-password", "-",
        *extra,
        stdin=(dovecot.password + "\n").encode(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split("channel ", 1)[1].split(" ", 1)[0])


def message_ids(data_dir: Path, channel: int | None = None) -> list[str]:
    rows = query(
        data_dir,
        "SELECT channel_id, json_extract(headers, '$.message_id') FROM channels_delivery",
    )
    return sorted(str(mid) for cid, mid in rows if channel is None or cid == channel)


def health(data_dir: Path, channel: int) -> dict[str, Any]:
    [(config, last_error)] = query(
        data_dir, "SELECT config, last_error FROM channels_channel WHERE id = ?", channel
    )
    state: dict[str, Any] = json.loads(config).get("imap_state") or {}
    return {**state, "last_error": last_error}


@pytest.fixture
def watching(data_dir: Path) -> Iterator[Running]:
    running = Running(data_dir, "email_fetch", "--watch", "--interval", "0.5")
    yield running
    running.kill()


def test_every_mailbox_is_watched_in_its_own_thread(data_dir: Path, dovecot: Dovecot) -> None:
    dovecot.append(mail("gudang-0@contoh.co.id"), folder="Gudang")  # creates the folder
    cs = add_mailbox(data_dir, dovecot, "cs@batiksari.id")
    gudang = add_mailbox(data_dir, dovecot, "gudang@batiksari.id", "--imap-folder", "Gudang")
    # The interval is far longer than the test: only IDLE on both mailboxes brings mail in.
    running = Running(data_dir, "email_fetch", "--watch", "--interval", "300")
    try:
        running.wait_for(lambda: message_ids(data_dir) == ["gudang-0@contoh.co.id"], "gudang-0")
        running.wait_for(lambda: bool(health(data_dir, cs).get("ok_at")), "the first fetch of cs")
        dovecot.append(mail("cs-1@contoh.co.id"))
        dovecot.append(mail("gudang-1@contoh.co.id"), folder="Gudang")
        running.wait_for(lambda: len(message_ids(data_dir)) == 3, "both new mails", timeout=30)
        assert running.stop() == 0
    finally:
        running.kill()
    assert message_ids(data_dir, cs) == ["cs-1@contoh.co.id"]
    assert message_ids(data_dir, gudang) == ["gudang-0@contoh.co.id", "gudang-1@contoh.co.id"]
    assert health(data_dir, cs)["watch"] == health(data_dir, gudang)["watch"] == "idle"
    assert "cs@batiksari.id (cs@batiksari.id): 1 new mail(s)" in running.output


def test_with_no_mailbox_it_waits_quietly_and_picks_one_up_when_added(
    data_dir: Path, dovecot: Dovecot, watching: Running
) -> None:
    dovecot.append(mail("nanti@contoh.co.id"))
    watching.wait_for_line("No enabled email channel has an IMAP server; waiting for one.")
    channel = add_mailbox(data_dir, dovecot, "cs@batiksari.id")
    watching.wait_for(lambda: message_ids(data_dir) == ["nanti@contoh.co.id"], "the mail")
    watching.wait_for(lambda: bool(health(data_dir, channel).get("ok_at")), "the fetch's end")

    # Turned off: no longer watched (it says so once it has none again), and turned on again.
    query(data_dir, "UPDATE channels_channel SET enabled = 0 WHERE id = ?", channel)
    waiting = "No enabled email channel has an IMAP server; waiting for one."
    watching.wait_for(lambda: watching.output.count(waiting) == 2, "the watcher to let go")
    dovecot.append(mail("mati@contoh.co.id"))
    query(data_dir, "UPDATE channels_channel SET enabled = 1 WHERE id = ?", channel)
    watching.wait_for(lambda: len(message_ids(data_dir)) == 2, "the mail after turning on")
    assert watching.proc.poll() is None  # never crashed on the way


def test_the_server_going_away_is_shown_in_health_and_survived(
    data_dir: Path, dovecot: Dovecot, watching: Running
) -> None:
    channel = add_mailbox(data_dir, dovecot, "cs@batiksari.id")
    watching.wait_for(lambda: bool(health(data_dir, channel).get("ok_at")), "the first fetch")
    dovecot_module._stop(dovecot.base)
    watching.wait_for(lambda: bool(health(data_dir, channel).get("error")), "the error in health")
    down = health(data_dir, channel)
    # Refused when the next fetch connects; reset when the stop cut a session in flight.
    assert re.search(r"Connection (refused|reset)|closed the connection", down["error"]), down
    assert down["error_at"] >= down["ok_at"]
    assert down["last_error"] == down["error"]

    # The same server comes back on the same port, with mail that came meanwhile.
    binary = dovecot_module.dovecot_binary()
    assert binary
    subprocess.run([binary, "-c", str(dovecot.base / "dovecot.conf")], check=True)
    dovecot_module._wait_for_port(dovecot.host, dovecot.port, dovecot.base / "dovecot.log")
    dovecot.append(mail("kembali@contoh.co.id"))
    watching.wait_for(lambda: message_ids(data_dir) == ["kembali@contoh.co.id"], "the mail")
    watching.wait_for(lambda: not health(data_dir, channel)["error"], "the error cleared")
    assert health(data_dir, channel)["last_error"] == ""


# --- one fetch per mailbox at a time (email-lessons §10.3) -------------------------------------


def test_two_fetches_of_one_mailbox_at_once_store_each_mail_once(
    data_dir: Path, dovecot: Dovecot
) -> None:
    for n in range(40):
        dovecot.append(mail(f"sekali-{n}@contoh.co.id"))
    channel = add_mailbox(data_dir, dovecot, "cs@batiksari.id")
    fetchers = [
        subprocess.Popen(
            loket_argv("email_fetch", "--channel", str(channel)),
            env=loket_env(data_dir),
            cwd=data_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [fetcher.communicate(timeout=120)[0].decode() for fetcher in fetchers]
    assert [fetcher.returncode for fetcher in fetchers] == [0, 0, 0], outputs
    assert message_ids(data_dir) == sorted(f"sekali-{n}@contoh.co.id" for n in range(40))
    assert sum("40 new mail(s)" in output for output in outputs) == 1


def test_a_fetch_while_another_holds_the_mailbox_does_nothing(shop: Shop, dovecot: Dovecot) -> None:
    channel = connect(shop.email, dovecot)
    dovecot.append(mail("tunggu@contoh.co.id"))
    other = imap.FetchLock(channel)
    assert other.acquire()
    result = imap.fetch_once(channel)
    assert result.busy
    assert result.ok
    assert not Delivery.objects.exists()
    assert not imap.FetchLock(channel).acquire()  # still the other's

    other.release()
    result = imap.fetch_once(channel)
    assert not result.busy
    assert len(result.stored) == 1
    # Released after the fetch, for the next one.
    assert leases.acquire(other.name, "someone", imap.FetchLock.TTL)
