"""``loket demo``: load Toko Batik Sari's demo data into an empty database (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loket.demo import shop


def describe(loaded: shop.Loaded) -> str:
    order = ["new", "open", "pending", "solved", "closed"]
    parts = ", ".join(f"{loaded.by_status.get(s, 0)} {s}" for s in order)
    return f"{loaded.tickets} tickets ({parts}), {loaded.messages} messages"


def login_lines(logins: list[shop.DemoLogin]) -> list[str]:
    if not logins:
        return []
    width = max(len(login.email) for login in logins)
    lines = [f"Demo logins (password: {logins[0].password}):"]
    for login in logins:
        teams = f", {' & '.join(login.teams)}" if login.teams else ""
        lines.append(f"  {login.email:<{width}}  {login.name} ({login.role}{teams})")
    return lines


class Command(BaseCommand):
    help = (
        "Load the demo shop (Toko Batik Sari: agents, channels, 60 conversations) into an "
        "empty database. Running it again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            loaded = shop.load()
        except shop.DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        if loaded is None:
            self.stdout.write("The demo is already loaded; nothing changed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Demo loaded: {describe(loaded)}."))
        for line in login_lines(shop.logins()):
            self.stdout.write(line)
