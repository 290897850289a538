"""``loket createagent``: add an agent (admin, supervisor or agent) from the command line."""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from loket.accounts import services
from loket.accounts.models import Role, Team


class Command(BaseCommand):
    help = (
        "Create an agent who signs in with an email and password. Without --password the "
        "password is asked for (or read from the first line of stdin when piped)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True, help="Sign-in email address.")
        parser.add_argument("--name", required=True, help="Name shown to colleagues.")
        parser.add_argument(
            "--role",
            choices=Role.values,
            default=Role.AGENT,
            help="admin (everything), supervisor (assigns work) or agent (default).",
        )
        parser.add_argument("--password", help="The password (checked by the password rules).")
        parser.add_argument(
            "--team",
            action="append",
            default=[],
            metavar="NAME",
            help="A team to join; repeat for several. Missing teams are created.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        if password is None:
            password = self._ask_password()
        existing = set(Team.objects.filter(name__in=options["team"]).values_list("name", flat=True))
        try:
            user = services.create_agent(
                email=options["email"],
                name=options["name"],
                role=options["role"],
                password=password,
                teams=options["team"],
            )
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        for team in user.teams.order_by("name"):
            if team.name not in existing:
                self.stdout.write(f"Created team {team.name}.")
        teams = ", ".join(user.teams.order_by("name").values_list("name", flat=True)) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {user.get_role_display().lower()} {user.name} <{user.email}> "
                f"(teams: {teams})."
            )
        )

    def _ask_password(self) -> str:
        if not sys.stdin.isatty():
            line = sys.stdin.readline().rstrip("\r\n")
            if not line:
                raise CommandError("No password: give --password, or pipe it on stdin.")
            return line
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("The two passwords differ.")
        return first
