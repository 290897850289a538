"""``loket email_fetch [--channel ID] [--watch]``: fetch new mail from the channels' IMAP folders.

Each new mail is stored as a raw delivery before the server marks it read (or moves it), and
the task worker turns it into a ticket (see ``loket.channels.email.imap``). Without
``--channel`` every enabled email channel with an IMAP server is fetched. ``--watch`` keeps
fetching until stopped (Ctrl-C or SIGTERM): at least every ``--interval`` seconds, and at
once when the server announces new mail (IMAP IDLE, when one channel is watched). Exit code 1 when a
fetch failed (the error is also shown on the channel).
"""

from __future__ import annotations

import signal
import threading
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loket.channels.email import imap
from loket.channels.management.commands.email import find_channel
from loket.channels.models import Channel, ChannelKind

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
BACKOFF_LIMIT = 600.0  # seconds: failing rounds are retried at least every 10 minutes


def backoff(interval: float, failures: int) -> float:
    """The pause after ``failures`` failed rounds in a row: doubling from the interval, up to
    10 minutes (many failed logins in a row can lock the account at the provider, §11.8)."""
    if not failures:
        return interval
    return float(min(interval * 2.0 ** min(failures, 20), max(interval, BACKOFF_LIMIT)))


class _Stopped(Exception):
    """Ctrl-C or SIGTERM while waiting for the server."""


class Command(BaseCommand):
    help = "Fetch new mail from the email channels' IMAP folders into tickets."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--channel", help="One email channel: its id or address (default: all with IMAP)."
        )
        parser.add_argument(
            "--watch", action="store_true", help="Keep fetching until stopped (Ctrl-C)."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="Pause between fetches with --watch (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] <= 0:
            raise CommandError("--interval must be more than 0 seconds.")
        if not options["watch"]:
            if self._round(options["channel"]):
                raise CommandError("A fetch failed; the error is shown above and on the channel.")
            return
        stop = threading.Event()
        idling = threading.Event()

        def on_signal(*_args: Any) -> None:
            stop.set()
            if idling.is_set():  # waiting on the server: nothing half done to lose
                raise _Stopped

        previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
        try:
            failures = 0
            while not stop.is_set():
                channels = self._channels(options["channel"])
                failures = failures + 1 if self._round(options["channel"]) else 0
                if stop.is_set():
                    break
                wait = backoff(options["interval"], failures)
                if len(channels) != 1:
                    stop.wait(wait)
                    continue
                # One mailbox: IMAP IDLE wakes us as soon as mail arrives; the interval still
                # bounds each wait, so a missed notification only delays mail (§11.10 of
                # the email lessons).
                idling.set()
                try:
                    if failures:
                        time.sleep(wait)  # the server is failing: no IDLE either
                    else:
                        imap.idle(channels[0], wait)
                except _Stopped:
                    break
                finally:
                    idling.clear()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _round(self, wanted: str | None) -> int:
        """Fetch each channel once; returns how many failed."""
        channels = self._channels(wanted)
        failed = 0
        for channel in channels:
            result = imap.fetch_once(channel)
            if result.error:
                failed += 1
                self.stderr.write(f"{channel.name} ({channel.address}): {result.error}")
                continue
            line = f"{channel.name} ({channel.address}): {len(result.stored)} new mail(s)"
            if result.skipped:
                line += f", {result.skipped} already known"
            if result.more:
                line += ", more waiting"
            self.stdout.write(line)
        return failed

    def _channels(self, wanted: str | None) -> list[Channel]:
        if wanted:
            channel = find_channel(wanted)
            if not str(channel.config.get("imap_host") or "").strip():
                raise CommandError(
                    f"The channel {channel.address} has no IMAP server; set one in its settings."
                )
            return [channel]
        channels = [
            channel
            for channel in Channel.objects.filter(kind=ChannelKind.EMAIL, enabled=True).order_by(
                "pk"
            )
            if str(channel.config.get("imap_host") or "").strip()
        ]
        if not channels:
            raise CommandError(
                "No enabled email channel has an IMAP server. Set one in the channel's settings."
            )
        return channels
