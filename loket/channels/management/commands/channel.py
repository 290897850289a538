"""``loket channel add KIND ...``, ``loket channel list``, ``loket channel rotate-secrets``.

``add`` builds its options from the kind's admin form (the same fields, checks and
defaults), so the command line and the dashboard always agree. Secrets stay out of the
shell history: leave the option out and it is read from its environment variable
(``LOKET_CHANNEL_ACCESS_TOKEN``...), name another variable (``--imap-password-env NAME``), or
give ``-`` and it is read from standard input.
"""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser, BooleanOptionalAction
from typing import Any

from django import forms
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone, translation

from loket.accounts.models import Team
from loket.channels import secrets, services
from loket.channels.forms import FORMS, ChannelForm, form_for
from loket.channels.models import Channel
from loket.core import crypto

# Shorter spellings people reach for first.
ALIASES = {"phone_number": ["--phone"], "email_address": ["--address"]}
NOT_OPTIONS = {"team"}  # given by name, resolved below


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def env_name(name: str) -> str:
    return "LOKET_CHANNEL_" + name.upper()


class Command(BaseCommand):
    help = (
        "Channels from the command line. `add whatsapp|email --name ... [--team NAME]` "
        "(same fields and checks as the dashboard form; secrets from an environment variable "
        "or `-` for standard input), `list`, `rotate-secrets` (after putting a new key first "
        "in LOKET_ENCRYPTION_KEY), `generate-key`."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="Add a channel.")
        kinds = add.add_subparsers(dest="kind", required=True, metavar="KIND")
        with translation.override("en"):  # the forms' labels, in the command line's language
            for kind in FORMS:
                self._kind_parser(kinds.add_parser(kind, help=f"Add a {kind} channel."), kind)
        actions.add_parser("list", help="Every channel with its health.")
        actions.add_parser("rotate-secrets", help="Re-encrypt stored secrets with the first key.")
        actions.add_parser("generate-key", help="Print a new encryption key.")

    def _kind_parser(self, parser: ArgumentParser, kind: str) -> None:
        form = form_for(kind)()
        parser.add_argument("--team", help="The team new conversations go to (its name).")
        parser.add_argument("--disabled", action="store_true", help="Add it turned off.")
        for name, field in form.fields.items():
            if name in NOT_OPTIONS:
                continue
            flags = [option(name), *ALIASES.get(name, [])]
            label = str(field.label or name)
            if isinstance(field, forms.BooleanField):
                parser.add_argument(
                    *flags,
                    dest=name,
                    action=BooleanOptionalAction,
                    default=None,
                    help=f"{label} (default: {'on' if field.initial else 'off'}).",
                )
                continue
            extra = ""
            if name in form.secret_fields:
                extra = (
                    f" Omit to read {env_name(name)}, or name another variable with "
                    f"{option(name)}-env; '-' reads standard input."
                )
                parser.add_argument(
                    option(name) + "-env",
                    dest=name + "_env",
                    metavar="VARIABLE",
                    default=None,
                    help=f"{label}: read it from this environment variable.",
                )
            elif field.initial not in (None, ""):
                extra = f" Default: {field.initial}."
            if isinstance(field, forms.ChoiceField) and not isinstance(
                field, forms.ModelChoiceField
            ):
                choices: list[tuple[Any, Any]] = list(field.widget.choices)
                values = [str(value) for value, _label in choices]
                extra += " One of: " + ", ".join(values) + "."
            parser.add_argument(*flags, dest=name, default=None, help=label + "." + extra)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self._add(options["kind"], options)
        elif action == "list":
            self._list()
        elif action == "rotate-secrets":
            self._rotate()
        else:
            self.stdout.write(crypto.generate_key())

    # --- add -----------------------------------------------------------------------------------
    def _add(self, kind: str, options: dict[str, Any]) -> None:
        form_class = form_for(kind)
        data = self._data(form_class, options)
        form = form_class(data)
        if not form.is_valid():
            problems = [
                f"{option(name) if name != '__all__' else ''} {' '.join(map(str, errors))}".strip()
                for name, errors in form.errors.items()
            ]
            raise CommandError("Not added:\n  " + "\n  ".join(problems))
        with transaction.atomic():
            channel = services.create_channel(
                kind=kind,
                name=form.channel_name(),
                address=form.address(),
                team=form.cleaned_data["team"],
                config=form.config(),
                enabled=not options["disabled"],
                actor=None,
            )
        self.stdout.write(f"channel {channel.pk} added: {channel.name} ({kind})")
        if kind == "whatsapp":
            from loket.web.manage.views.whatsapp import callback_url

            self.stdout.write(f"callback URL for Meta: {callback_url(channel)}")

    def _data(self, form_class: type[ChannelForm], options: dict[str, Any]) -> dict[str, Any]:
        form = form_class()
        data: dict[str, Any] = {}
        for name, field in form.fields.items():
            if name in NOT_OPTIONS:
                continue
            value = options.get(name)
            if name in form.secret_fields:
                value = self._secret(name, value, options.get(name + "_env"))
            if value is None:
                value = field.initial
            if isinstance(field, forms.BooleanField):
                if value:
                    data[name] = "on"
                continue
            if value is not None:
                data[name] = value
        team_name = options.get("team")
        if team_name:
            team = Team.objects.filter(name__iexact=team_name.strip()).first()
            if team is None:
                names = ", ".join(Team.objects.order_by("name").values_list("name", flat=True))
                raise CommandError(f"No team named {team_name!r} (teams: {names or 'none'}).")
            data["team"] = str(team.pk)
        return data

    def _secret(self, name: str, value: str | None, variable: str | None = None) -> str | None:
        if value == "-":
            line = sys.stdin.readline()
            return line.rstrip("\r\n")
        if variable:
            if value is not None:
                raise CommandError(f"Give {option(name)} or {option(name)}-env, not both.")
            if variable not in os.environ:
                raise CommandError(
                    f"{option(name)}-env: the environment variable {variable} is not set."
                )
            return os.environ[variable]
        if value is None:
            return os.environ.get(env_name(name)) or None
        return value

    # --- list, rotate --------------------------------------------------------------------------
    def _list(self) -> None:
        channels = list(Channel.objects.select_related("team").order_by("kind", "name", "pk"))
        if not channels:
            self.stdout.write("No channels yet: loket channel add whatsapp|email ...")
            return
        self.stdout.write(
            f"{'ID':>4}  {'KIND':<8}  {'NAME':<24}  {'ADDRESS':<24}  {'TEAM':<14}  ON   HEALTH"
        )
        for channel in channels:
            team = channel.team.name if channel.team else "-"
            self.stdout.write(
                f"{channel.pk:>4}  {channel.kind:<8}  {channel.name[:24]:<24}  "
                f"{channel.address[:24]:<24}  {team[:14]:<14}"
                f"  {'yes' if channel.enabled else 'no ':<3}  {health_line(channel)}"
            )

    def _rotate(self) -> None:
        changed = 0
        for channel in Channel.objects.order_by("pk"):
            try:
                changed += secrets.rotate(channel)
            except crypto.DecryptionError as exc:
                raise CommandError(f"channel {channel.pk}: {exc}") from None
        self.stdout.write(f"{changed} channel(s) re-encrypted with the current key.")


def health_line(channel: Channel) -> str:
    def at(moment: Any) -> str:
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "never"

    parts = []
    if channel.kind == "whatsapp":
        token = {None: "unchecked", True: "valid", False: "NOT ACCEPTED"}[channel.token_ok]
        parts.append(f"token {token}")
        parts.append(f"webhook {at(channel.last_webhook_at)}")
        if channel.quality_rating:
            parts.append(f"quality {channel.quality_rating}")
    if channel.kind == "email" and str(channel.config.get("imap_host") or "").strip():
        from loket.channels.email import imap

        health = imap.health(channel)
        fetch = f"fetch {at(health.fetched_at)}"
        if health.fetched_at:
            fetch += f" ({health.fetched} new)" if not health.failing else " (FAILED)"
        parts.append(fetch)
        if health.watch:
            parts.append("IDLE" if health.watch == "idle" else "polling")
    parts.append(f"last in {at(channel.last_inbound_at)}")
    if channel.last_error:
        parts.append(
            f"ERROR {at(channel.last_error_at)}: {' '.join(channel.last_error.split())[:80]}"
        )
    return ", ".join(parts)
