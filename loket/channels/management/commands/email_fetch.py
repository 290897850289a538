"""``loket email_fetch [--channel ID] [--watch]``: fetch new mail from the channels' IMAP folders.

Each new mail is stored as a raw delivery before the server marks it read (or moves it), and
the task worker turns it into a ticket (see ``loket.channels.email.imap``). Without
``--channel`` every enabled email channel with an IMAP server is fetched. Exit code 1 when a
fetch failed (the error is also shown on the channel).

``--watch`` keeps fetching until stopped (Ctrl-C or SIGTERM), one thread per mailbox: at least
every ``--interval`` seconds, and at once when the server announces new mail (IMAP IDLE).
A failing server is retried with a pause that doubles up to 10 minutes, its error shown in
the channel's health; a mailbox whose OAuth2 authorisation was revoked waits for an admin to
store a new refresh token. Channels added, changed or turned off are picked up within half a
minute; with none it waits quietly (``loket run`` starts it whether or not there are any).
"""

from __future__ import annotations

import logging
import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from loket.channels.email import imap
from loket.channels.management.commands.email import find_channel
from loket.channels.models import Channel, ChannelKind

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
BACKOFF_LIMIT = 600.0  # seconds: failing rounds are retried at least every 10 minutes
RESCAN = 30.0  # seconds: how soon --watch notices a channel added, changed or turned off
JOIN_TIMEOUT = 30.0  # seconds a fetch under way may take to finish when stopping

# Settings whose change ends the wait for a new authorisation.
AUTHORISATION = (
    "imap_auth",
    "oauth_refresh_token",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_endpoint",
    "oauth_tenant",
)

log = logging.getLogger(__name__)


def backoff(interval: float, failures: int) -> float:
    """The pause after ``failures`` failed rounds in a row: doubling from the interval, up to
    10 minutes (many failed logins in a row can lock the account at the provider, §11.8)."""
    if not failures:
        return interval
    return float(min(interval * 2.0 ** min(failures, 20), max(interval, BACKOFF_LIMIT)))


class Command(BaseCommand):
    help = "Fetch new mail from the email channels' IMAP folders into tickets."
    output = threading.Lock()  # one line at a time from the watcher threads

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
        if options["channel"]:
            self._channels(options["channel"])  # a clear error for a channel without IMAP
        self._watch(options["channel"], options["interval"])

    def _watch(self, channel: str | None, interval: float) -> None:
        stop = threading.Event()

        def on_signal(*_args: Any) -> None:
            stop.set()

        previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
        watchers: dict[int, Watcher] = {}
        try:
            said_none = False
            while not stop.is_set():
                wanted = self._watched(channel)
                if wanted is not None:  # None: the database did not answer; keep what runs
                    said_none = self._reconcile(watchers, wanted, interval, said_none)
                stop.wait(min(interval, RESCAN))
        finally:
            for watcher in watchers.values():
                watcher.halt.set()
            for watcher in watchers.values():
                watcher.join(timeout=JOIN_TIMEOUT)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            connections.close_all()

    def _say(self, stream: Any, line: str) -> None:
        with self.output:
            stream.write(line)
            stream.flush()

    def _round(self, wanted: str | None) -> int:
        """Fetch each channel once; returns how many failed."""
        failed = 0
        for channel in self._channels(wanted):
            failed += not self.fetch(channel).ok
        return failed

    def fetch(self, channel: Channel) -> imap.FetchResult:
        """One fetch of one channel, said on stdout (or the error on stderr)."""
        result = imap.fetch_once(channel)
        name = f"{channel.name} ({channel.address})"
        if result.error:
            self._say(self.stderr, f"{name}: {result.error}")
        elif result.busy:
            self._say(self.stdout, f"{name}: another fetch of this mailbox is running")
        else:
            line = f"{name}: {len(result.stored)} new mail(s)"
            if result.skipped:
                line += f", {result.skipped} already known"
            if result.more:
                line += ", more waiting"
            self._say(self.stdout, line)
        return result

    def _reconcile(
        self, watchers: dict[int, Watcher], wanted: set[int], interval: float, said_none: bool
    ) -> bool:
        """One watcher per wanted mailbox; returns whether "none" has been said."""
        for pk in set(watchers) - wanted:  # disabled, removed, or IMAP turned off
            watchers.pop(pk).halt.set()
        for pk in wanted:
            if pk not in watchers or not watchers[pk].is_alive():
                watchers[pk] = Watcher(self, pk, interval)
                watchers[pk].start()
        if not wanted and not said_none:
            self._say(self.stdout, "No enabled email channel has an IMAP server; waiting for one.")
        return not wanted

    def _watched(self, wanted: str | None) -> set[int] | None:
        try:
            if wanted:
                channel = find_channel(wanted)
                return {channel.pk} if channel.enabled and has_imap(channel) else set()
            return {channel.pk for channel in imap_channels()}
        except DatabaseError as exc:
            self._say(self.stderr, f"Database error, retrying: {exc}")
            connections.close_all()
            return None

    def _channels(self, wanted: str | None) -> list[Channel]:
        if wanted:
            channel = find_channel(wanted)
            if not has_imap(channel):
                raise CommandError(
                    f"The channel {channel.address} has no IMAP server; set one in its settings."
                )
            return [channel]
        channels = imap_channels()
        if not channels:
            raise CommandError(
                "No enabled email channel has an IMAP server. Set one in the channel's settings."
            )
        return channels


def has_imap(channel: Channel) -> bool:
    return bool(str(channel.config.get("imap_host") or "").strip())


def imap_channels() -> list[Channel]:
    """Every enabled email channel with an IMAP server."""
    channels = Channel.objects.filter(kind=ChannelKind.EMAIL, enabled=True).order_by("pk")
    return [channel for channel in channels if has_imap(channel)]


class Watcher(threading.Thread):
    """One mailbox, watched until ``halt``: fetch; then IDLE (or wait) for up to the interval;
    after failures, a pause that doubles (``backoff``). Never dies of one bad round."""

    def __init__(self, command: Command, channel_id: int, interval: float) -> None:
        super().__init__(name=f"email-fetch-{channel_id}", daemon=True)
        self.command = command
        self.channel_id = channel_id
        self.interval = interval
        self.halt = threading.Event()

    def run(self) -> None:
        failures = 0
        try:
            while not self.halt.is_set():
                failures = self._once(failures)
        finally:
            connections.close_all()  # this thread's own connections

    def _once(self, failures: int) -> int:
        try:
            channel = Channel.objects.get(pk=self.channel_id)
            result = self.command.fetch(channel)
        except Channel.DoesNotExist:
            self.halt.set()
            return 0
        except Exception as exc:  # the database, or a bug: said, backed off, tried again
            log.exception("email fetch for channel %s", self.channel_id)
            self.command._say(self.command.stderr, f"channel {self.channel_id}: {exc}")
            connections.close_all()
            failures += 1
            self.halt.wait(backoff(self.interval, failures))
            return failures
        failures = failures + 1 if result.error else 0
        if self.halt.is_set():
            return failures
        if result.reauthorise:
            self._await_authorisation(channel)
            return 0
        wait = backoff(self.interval, failures)
        if failures or result.busy:
            self.halt.wait(wait)  # the server is failing (or another process has it): no IDLE
        elif not result.more:
            # IDLE wakes us as soon as mail arrives; the interval still bounds each wait, so a
            # missed notification only delays mail (§11.10 of the email lessons).
            imap.idle(channel, wait, self.halt)
        return failures

    def _await_authorisation(self, channel: Channel) -> None:
        """The OAuth2 grant is gone (email-lessons §11.11): no more attempts until an admin
        stores a new refresh token (or changes how the mailbox logs in)."""
        before = [channel.config.get(key) for key in AUTHORISATION]
        self.command._say(
            self.command.stderr,
            f"{channel.name} ({channel.address}): waiting for the mailbox to be authorised again",
        )
        while not self.halt.wait(min(self.interval, RESCAN)):
            try:
                now = Channel.objects.filter(pk=self.channel_id).values_list("config", flat=True)
                config = now.first() or {}
            except DatabaseError:
                continue
            if [config.get(key) for key in AUTHORISATION] != before:
                return
