"""``loket scheduler``: periodic housekeeping; one leader at a time by database lease."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loket.core.scheduler import Scheduler


class Command(BaseCommand):
    help = (
        "Run the scheduler: seal the event log, requeue stuck messages and deliveries, prune "
        "old task results. Start one or more; only the lease holder works."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between rounds (default 5)."
        )
        parser.add_argument(
            "--once", action="store_true", help="Run every job once (if leader) and exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval: float = options["interval"]
        if interval <= 0:
            raise CommandError("--interval must be positive")
        scheduler = Scheduler(interval=interval)
        if options["once"]:
            try:
                done = scheduler.tick(force=True)
                led = scheduler.leader
            finally:
                scheduler.release()
            if not led:
                self.stdout.write("Another scheduler holds the lease; nothing done.")
            for name, count in done.items():
                self.stdout.write(f"{name}: {count}")
            return
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        scheduler.run(stop)
