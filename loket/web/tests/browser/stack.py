"""The real Loket stack for browser tests and screenshots: ``loket run`` on the demo shop.

One throwaway SQLite data directory, the demo shop loaded (as ``loket demo`` does), the demo email
channel pointed at an SMTP sink (aiosmtpd, in this process) so replies really go out, then
``loket run`` (web server, task worker, scheduler) on a free loopback port. Mail from
customers comes in through ``loket email import``, as an MTA would hand it over.

Used by the browser tests' conftest and by ``bench/screenshots.py``; it needs no Django setup
in this process (everything Django runs in the children).
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from loket.core.tests.processes import (
    Running,
    free_port,
    migrated_data_dir,
    run_loket,
)
from loket.core.tests.smtp import SmtpServer, running_smtp
from loket.demo import script

CHROMIUM = Path("/usr/bin/chromium")
# Headless Debian Chromium as root on a machine with a closed network: no sandbox, no GPU,
# none of the background connections it would otherwise try (and fail) to make.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
DEMO_PASSWORD = "coba-loket"  # loket.demo.shop.PASSWORD (published: it is the demo)
DEMO_EMAIL_CHANNEL = script.EMAIL_ADDRESS


def login(key: str) -> str:
    """The demo login of a staff member by key: ``login("wati")`` -> wati@batiksari.test."""
    [person] = [p for p in script.STAFF if p.key == key]
    return person.email


def text_of(mail: EmailMessage) -> str:
    """The plain-text body of a mail Loket sent."""
    body = mail.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


# Run inside ``loket shell`` on the fresh data directory: what ``loket demo`` does, then the demo
# email channel sends through the sink (one Django start instead of two).
_SEED = """
from loket.channels.models import Channel
from loket.demo import shop
shop.load()
channel = Channel.objects.get(kind="email", address={address!r})
channel.config = {{**channel.config, "smtp_host": "127.0.0.1", "smtp_port": {port},
                  "smtp_security": "none", "smtp_timeout": 5}}
channel.save(update_fields=["config"])
"""


@dataclass
class Customer:
    name: str
    address: str


@dataclass
class Stack:
    """A running Loket: its address, data directory, SMTP sink and the ``loket run`` process."""

    url: str
    data_dir: Path
    sink: SmtpServer
    running: Running

    def loket(self, *args: str, stdin: bytes | None = None) -> str:
        """Run one ``loket`` command on the same data directory; its stdout (fails loudly)."""
        return run_checked(self.data_dir, *args, stdin=stdin)

    def new_customer(self, name: str = "Ani Wijaya") -> Customer:
        """A customer nobody has written to yet (a fresh address each time)."""
        return Customer(name, f"ani.{uuid.uuid4().hex[:10]}@contoh.test")

    def mail_in(
        self,
        customer: Customer,
        text: str,
        *,
        subject: str = "Pesanan belum sampai",
        in_reply_to: str | None = None,
    ) -> int:
        """A customer's mail arrives through ``loket email import``; the ticket's number."""
        mail = EmailMessage()
        mail["From"] = f"{customer.name} <{customer.address}>"
        mail["To"] = DEMO_EMAIL_CHANNEL
        mail["Subject"] = subject
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = make_msgid(domain="contoh.test")
        if in_reply_to:
            mail["In-Reply-To"] = in_reply_to
            mail["References"] = in_reply_to
        mail.set_content(text)
        out = self.loket("email", "import", "--channel", DEMO_EMAIL_CHANNEL, stdin=mail.as_bytes())
        found = re.search(r"ticket #(\d+)", out)
        if found is None:
            raise AssertionError(f"loket email import did not name a ticket: {out}")
        return int(found.group(1))


@contextmanager
def running_stack(base: Path) -> Iterator[Stack]:
    """The demo shop served by ``loket run`` from a data directory under ``base``."""
    data_dir = migrated_data_dir(base / "data")
    with running_smtp() as sink:
        run_checked(
            data_dir, "shell", "-c", _SEED.format(address=DEMO_EMAIL_CHANNEL, port=sink.port)
        )
        port = free_port()
        running = Running(data_dir, "run", "--no-browser", "--no-migrate", "--port", str(port))
        try:
            running.wait_for_line("Loket is ready: ", timeout=60)
            yield Stack(f"http://127.0.0.1:{port}", data_dir, sink, running)
        finally:
            running.kill()
            shutil.rmtree(data_dir, ignore_errors=True)


def run_checked(data_dir: Path, *args: str, stdin: bytes | None = None) -> str:
    result = run_loket(data_dir, *args, stdin=stdin)
    if result.returncode != 0:
        raise RuntimeError(
            f"loket {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout
