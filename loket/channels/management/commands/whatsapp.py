"""``loket whatsapp templates sync [--channel ID]`` and ``loket whatsapp check [--channel ID]``."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet

from loket.channels.models import Channel, ChannelKind
from loket.channels.whatsapp import errors, graph, health, templates
from loket.core import crypto


class Command(BaseCommand):
    help = (
        "WhatsApp channels. `templates sync [--channel ID]` copies the message templates "
        "from Meta; `check [--channel ID]` tests each access token. Without --channel: every "
        "enabled WhatsApp channel."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("templates", help="Message templates.")
        sub = listing.add_subparsers(dest="templates_action", required=True, metavar="ACTION")
        sync = sub.add_parser("sync", help="Copy the templates from Meta.")
        sync.add_argument("--channel", type=int, metavar="ID")
        check = actions.add_parser("check", help="Test the access tokens.")
        check.add_argument("--channel", type=int, metavar="ID")

    def handle(self, *args: Any, **options: Any) -> None:
        channels = list(self._channels(options.get("channel")))
        failures = 0
        for channel in channels:
            ok = self._sync(channel) if options["action"] == "templates" else self._check(channel)
            failures += not ok
        if failures:
            raise CommandError(f"{failures} of {len(channels)} channel(s) failed.")

    def _channels(self, channel_id: int | None) -> QuerySet[Channel]:
        channels = Channel.objects.filter(kind=ChannelKind.WHATSAPP).order_by("pk")
        if channel_id is None:
            return channels.filter(enabled=True)
        found = channels.filter(pk=channel_id)
        if not found.exists():
            raise CommandError(f"No WhatsApp channel with ID {channel_id}.")
        return found

    def _sync(self, channel: Channel) -> bool:
        try:
            result = templates.sync(channel)
        except graph.GraphError as err:
            self.stderr.write(f"channel {channel.pk} ({channel.name}): {errors.describe(err)}")
            return False
        except crypto.DecryptionError as exc:
            self.stderr.write(f"channel {channel.pk} ({channel.name}): {exc}")
            return False
        self.stdout.write(
            f"channel {channel.pk} ({channel.name}): {result.created} new, "
            f"{result.updated} changed, {result.removed} removed; "
            f"{templates.approved(channel).count()} approved"
        )
        return True

    def _check(self, channel: Channel) -> bool:
        channel = health.check(channel)
        if channel.token_ok:
            self.stdout.write(
                f"channel {channel.pk} ({channel.name}): token valid, "
                f"{channel.verified_name or '-'}, quality {channel.quality_rating or '-'}"
            )
            return True
        self.stderr.write(f"channel {channel.pk} ({channel.name}): {channel.token_error}")
        return False
