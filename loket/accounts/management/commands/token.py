"""``loket token create EMAIL``: an API bearer token for an agent, printed once."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loket.accounts.models import User
from loket.accounts.tokens import create_token


class Command(BaseCommand):
    help = "Manage REST API tokens. `loket token create EMAIL [--name NAME]` prints a new token."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create", help="Create a token for the agent with this email and print it."
        )
        create.add_argument("email", help="The agent's sign-in email.")
        create.add_argument("--name", default="", help="What the token is for (e.g. 'n8n').")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No agent has the email {email}.")
        if not user.is_active:
            raise CommandError(f"{email} is deactivated; activate the agent first.")
        token = create_token(user, options["name"])
        # The token alone on stdout, so `TOKEN=$(loket token create ...)` works.
        self.stdout.write(token)
        self.stderr.write(
            f"Token for {user.email} created. It is shown only this once; "
            "send it as 'Authorization: Bearer <token>'."
        )
