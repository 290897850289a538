"""``loket email import [FILE...]``: raw RFC 822 mail into tickets; ``loket email serve``: an
inbound SMTP (or LMTP) listener the MTA hands mail to.

With no files it reads one mail from stdin, which makes it an MTA pipe, e.g. in Postfix's
aliases: ``cs: "|/opt/loket/.venv/bin/loket email import --channel cs@toko.id"``.

Each mail is stored as a raw delivery first, then parsed right here (no worker needed). Exit
codes follow sysexits, which MTAs understand: 0 all imported; 1 a mail was stored but could not
be read (it stays listed in `loket deliveries list --failed` and can be replayed); 66 a file
is missing; 75 (EX_TEMPFAIL) the database could not be reached, so the MTA retries later.

``serve`` stores each accepted mail raw and answers 250; the task worker turns it into tickets.
It runs until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import hashlib
import signal
import sys
import threading
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from loket.channels import services
from loket.channels.email import inbound
from loket.channels.email.listener import DEFAULT_SIZE_LIMIT, Listener
from loket.channels.models import Channel, ChannelKind, Delivery, DeliveryState
from loket.tickets.models import Direction, Message

EX_NOINPUT = 66
EX_TEMPFAIL = 75


def find_channel(wanted: str | None) -> Channel:
    channels = Channel.objects.filter(kind=ChannelKind.EMAIL).order_by("pk")
    if wanted:
        match = (
            channels.filter(pk=int(wanted))
            if wanted.isdigit()
            else channels.filter(address__iexact=wanted.strip())
        ).first()
        if match is None:
            known = ", ".join(f"{c.pk} ({c.address})" for c in channels) or "none yet"
            raise CommandError(f"No email channel {wanted!r}. Email channels: {known}.")
        return match
    channel = channels.filter(enabled=True).first() or channels.first()
    if channel is None:
        raise CommandError(
            "There is no email channel yet. Add one in the admin (Channels → Add, kind Email, "
            "address = the mailbox customers write to), then import again."
        )
    return channel


class Command(BaseCommand):
    # An MTA pipe starts one process per mail: Django's system checks (they import every URL
    # and API schema) would add half a second to each. `loket check` runs them.
    requires_system_checks: list[str] = []
    help = (
        "Email. `import [FILE...]` turns raw RFC 822 mails (files, or one on stdin: the MTA "
        "pipe) into tickets; `serve` listens for inbound SMTP or LMTP from the MTA."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        imports = actions.add_parser(
            "import", help="Import raw mails from files, or one mail from stdin."
        )
        imports.add_argument("files", nargs="*", metavar="FILE", help="Files of raw mail (.eml).")
        imports.add_argument(
            "--channel",
            help="The email channel: its id or address (default: the first email channel).",
        )
        serve = actions.add_parser(
            "serve",
            help="Listen for inbound mail over SMTP (or LMTP); the recipient picks the channel.",
        )
        serve.add_argument(
            "--host", default="127.0.0.1", help="Address to bind (default: %(default)s)."
        )
        serve.add_argument("--port", type=int, default=2525, help="Port (default: %(default)s).")
        serve.add_argument("--lmtp", action="store_true", help="Speak LMTP instead of SMTP.")
        serve.add_argument(
            "--size-limit",
            type=int,
            default=DEFAULT_SIZE_LIMIT,
            metavar="BYTES",
            help="Largest mail accepted; larger ones are refused with 552 (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._channels: dict[int, Channel] = {}  # read once for all the files
        if options["action"] == "serve":
            self._serve(options)
            return
        files: list[str] = options["files"]
        if not files and sys.stdin.isatty():
            raise CommandError("Give mail files, or pipe one mail on stdin.")
        try:
            channel = find_channel(options["channel"])
            sources = files or ["-"]
            unreadable = missing = 0
            for source in sources:
                outcome = self._import(channel, source)
                unreadable += outcome == "unreadable"
                missing += outcome == "missing"
        except DatabaseError as exc:
            raise CommandError(
                f"Could not reach the database ({exc}); nothing was lost, try again later.",
                returncode=EX_TEMPFAIL,
            ) from exc
        if unreadable:
            raise CommandError(
                f"{unreadable} mail(s) stored but could not be read; see "
                "`loket deliveries list --failed`, and `loket deliveries replay ID` after a fix."
            )
        if missing:
            raise CommandError(f"{missing} file(s) could not be read.", returncode=EX_NOINPUT)

    def _serve(self, options: dict[str, Any]) -> None:
        protocol = "LMTP" if options["lmtp"] else "SMTP"
        listener = Listener(
            options["host"], options["port"], lmtp=options["lmtp"], size_limit=options["size_limit"]
        )
        try:
            listener.start()
        except (OSError, RuntimeError) as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {exc}"
            ) from exc
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        addresses = list(
            Channel.objects.filter(kind=ChannelKind.EMAIL, enabled=True).values_list(
                "address", flat=True
            )
        )
        self.stdout.write(
            f"Listening for {protocol} on {options['host']}:{options['port']} "
            f"for {', '.join(addresses) or 'no address yet (every recipient is refused)'}."
        )
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            listener.stop()
        self.stdout.write(f"{protocol} listener stopped.")

    def _import(self, channel: Channel, source: str) -> str:
        label = "stdin" if source == "-" else source
        try:
            raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        except OSError as exc:
            self.stderr.write(f"{label}: cannot read: {exc.strerror or exc}")
            return "missing"
        if not raw.strip():
            self.stderr.write(f"{label}: empty, nothing imported")
            return "missing"
        delivery = services.store_delivery(
            channel, raw, {"source": "email import", "file": label[:200]}, process=False
        )
        delivery = services.process(delivery.pk, self._channels)
        if delivery.state == DeliveryState.FAILED:
            self.stderr.write(
                f"{label}: stored as delivery {delivery.pk} but could not be read: {delivery.error}"
            )
            return "unreadable"
        self.stdout.write(f"{label}: {self._describe(channel, delivery, raw)}")
        return "ok"

    @staticmethod
    def _describe(channel: Channel, delivery: Delivery, raw: bytes) -> str:
        # The mail's id off its header block (parsing it all again cost a third of an import).
        message_id = inbound.header_message_id(raw) or ("sha256:" + hashlib.sha256(raw).hexdigest())
        messages = Message.objects.filter(
            channel=channel, external_id=message_id, direction=Direction.INBOUND
        ).select_related("ticket")
        parts = []
        for message in messages:
            ticket = message.ticket
            if message.created_at < delivery.received_at:
                state = "already imported"
            elif not ticket.messages.filter(created_at__lt=message.created_at).exists():
                state = "new ticket"
            else:
                state = "added"
            parts.append(f"ticket #{ticket.number} ({state})")
        return ", ".join(parts) or f"delivery {delivery.pk} processed, no message in it"
