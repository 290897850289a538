"""``loket search rebuild | query TEXT``: maintain and try the full-text search index."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loket.tickets import search
from loket.tickets.models import Ticket


class Command(BaseCommand):
    help = (
        "Full-text search. 'rebuild' indexes every ticket subject and message again (after a "
        "restore, or when upgrading from a version without search); searching keeps working "
        "meanwhile. 'query TEXT' prints the tickets a search finds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser("rebuild", help="Index all tickets and messages again.")
        rebuild.add_argument(
            "--batch", type=int, default=2000, help="Tickets per transaction (default 2000)."
        )
        query = sub.add_parser("query", help="Print the tickets matching a search.")
        query.add_argument("text", nargs="+", help="What to search for.")
        query.add_argument("--limit", type=int, default=20)
        query.add_argument(
            "--explain", action="store_true", help="Also print the engine query of each term."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rebuild":
            if options["batch"] < 1:
                raise CommandError("--batch must be at least 1")
            started = time.monotonic()
            written = search.reindex_all(batch=options["batch"])
            seconds = time.monotonic() - started
            self.stdout.write(
                self.style.SUCCESS(f"Indexed {written} documents in {seconds:.1f} s.")
            )
            return
        text = " ".join(options["text"])
        if options["explain"]:
            for line in search.iter_terms(text):
                self.stdout.write(f"term: {line}")
        qs = search.ticket_query(Ticket.objects.all(), text).order_by("-last_activity_at")
        total = qs.count()
        for ticket in qs.select_related("contact")[: options["limit"]]:
            self.stdout.write(
                f"#{ticket.number}  {ticket.status:<8} {ticket.contact}  {ticket.subject[:60]}"
            )
        self.stdout.write(f"{total} ticket(s) found.")
