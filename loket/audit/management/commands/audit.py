"""``loket audit verify``: walk the event log's hash chain and report every break."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loket.audit import services


class Command(BaseCommand):
    help = "The event log. `loket audit verify` checks the hash chain (exit code 1 on a break)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser(
            "verify",
            help="Check that no event was edited, inserted, reordered or deleted.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = services.verify()
        pending = f" ({report.unsealed} recent event(s) not sealed yet)" if report.unsealed else ""
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"OK: {report.checked} events verified{pending}."))
            return
        for problem in report.problems:
            self.stdout.write(str(problem))
        raise CommandError(
            f"The event log is broken: {len(report.problems)} problem(s) in "
            f"{report.checked} events{pending}."
        )
