"""``loket deliveries list [--failed]`` and ``loket deliveries replay ID...``: raw deliveries."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loket.channels import services
from loket.channels.models import Delivery, DeliveryState


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class Command(BaseCommand):
    help = (
        "Raw inbound deliveries (webhook bodies, mails). `list [--failed]` shows the newest; "
        "`replay ID...` parses stored ones again (after a fix)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help="Newest deliveries first.")
        listing.add_argument("--failed", action="store_true", help="Only failed deliveries.")
        listing.add_argument("--limit", type=int, default=50, help="How many (default 50).")
        replay = actions.add_parser("replay", help="Parse stored deliveries again, now.")
        replay.add_argument("ids", nargs="+", type=int, metavar="ID")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(failed=options["failed"], limit=options["limit"])
        else:
            self._replay(options["ids"])

    def _list(self, *, failed: bool, limit: int) -> None:
        deliveries = Delivery.objects.select_related("channel").order_by("-received_at", "-pk")
        if failed:
            deliveries = deliveries.filter(state=DeliveryState.FAILED)
        rows = list(deliveries[: max(1, limit)])
        if not rows:
            self.stdout.write("No failed deliveries." if failed else "No deliveries yet.")
            return
        self.stdout.write(
            f"{'ID':>6}  {'RECEIVED':<16}  {'CHANNEL':<24}  {'STATE':<9}  TRIES  ERROR"
        )
        for delivery in rows:
            received = timezone.localtime(delivery.received_at).strftime("%Y-%m-%d %H:%M")
            channel = one_line(f"{delivery.channel.name} ({delivery.channel.kind})", 24)
            self.stdout.write(
                f"{delivery.pk:>6}  {received:<16}  {channel:<24}  {delivery.state:<9}  "
                f"{delivery.attempts:>5}  {one_line(delivery.error, 80)}"
            )

    def _replay(self, ids: list[int]) -> None:
        found = set(Delivery.objects.filter(pk__in=ids).values_list("pk", flat=True))
        failures = 0
        for pk in ids:
            if pk not in found:
                self.stderr.write(f"delivery {pk}: no such delivery")
                failures += 1
                continue
            delivery = services.replay(pk)
            if delivery.state == DeliveryState.FAILED:
                failures += 1
                self.stderr.write(f"delivery {pk}: failed again: {delivery.error}")
            else:
                self.stdout.write(
                    f"delivery {pk}: {delivery.state} ({delivery.item_count} item(s))"
                )
        if failures:
            raise CommandError(f"{failures} of {len(ids)} deliveries could not be processed.")
