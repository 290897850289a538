"""``loket run``: everything on one machine under one supervisor.

Migrates the database, loads the demo into an empty database with ``--demo``, then keeps these
processes running: the web server (``loket web``), the task worker (``loket db_worker``), the
scheduler (``loket scheduler``) and the mailbox watcher (``loket email_fetch --watch``, IMAP
IDLE with polling for every email channel with an IMAP server; idle when there is none).
With ``LOKET_SMTP_LISTEN=host:port`` (or ``lmtp://host:port``), the inbound SMTP (or LMTP)
listener (``loket email serve``) too.
With ``--demo``, the WhatsApp emulator (``loket whatsapp-emulator``) that the demo's WhatsApp
channel talks to, with its customer phone page. Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import urllib.error
import urllib.request
import webbrowser
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.urls import reverse

from loket.core.management.commands.demo import describe, login_lines
from loket.core.management.commands.web import default_host, default_port
from loket.core.supervisor import Program, Supervisor

DB_WORKER_BACKEND = "django_tasks_db.DatabaseBackend"


def browse_host(host: str) -> str:
    """The address a browser on this machine uses to reach a server bound to ``host``."""
    if host in {"", "0.0.0.0"}:  # noqa: S104 - we only translate it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (checked the way uvicorn binds)."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror:
        return False  # let the server report the bad address itself
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def answers(url: str) -> bool:
    """The web server is up: any answer below 500 counts."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own http URL
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


def can_open_browser() -> bool:
    """A graphical browser is there (never a console one that would take over the terminal)."""
    if not sys.stdout.isatty():
        return False
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    return type(browser) is not webbrowser.GenericBrowser


def database_label() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite at {db['NAME']}"
    return f"{connection.display_name} {db.get('NAME')} on {db.get('HOST') or 'localhost'}"


def smtp_listen(value: str) -> tuple[str, int, bool] | None:
    """LOKET_SMTP_LISTEN ("host:port", ":port", "[::1]:port", "lmtp://host:port") as
    (host, port, lmtp); None when unset.

    Raises ``CommandError`` with the reason when the value makes no sense.
    """
    value = value.strip()
    if not value:
        return None
    scheme, sep, rest = value.partition("://")
    lmtp = sep != "" and scheme.lower() == "lmtp"
    if sep and scheme.lower() not in ("smtp", "lmtp"):
        rest = ""  # an unknown scheme: refused below
    host, _sep, port = (rest if sep else value).rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(
            f"LOKET_SMTP_LISTEN={value!r}: give host:port for the inbound mail listener, "
            "e.g. 127.0.0.1:2525 (or lmtp://127.0.0.1:2424 for LMTP)."
        )
    return host, int(port), lmtp


def email_programs(loket: list[str]) -> list[Program]:
    """The mailbox watcher (always: it waits quietly while no email channel has an IMAP
    server) and, with LOKET_SMTP_LISTEN set, the inbound SMTP (or LMTP) listener."""
    programs = [Program("email", [*loket, "email_fetch", "--watch"])]
    listen = smtp_listen(os.environ.get("LOKET_SMTP_LISTEN", ""))
    if listen is not None:
        host, port, lmtp = listen
        argv = [*loket, "email", "serve", "--host", host, "--port", str(port)]
        programs.append(Program("smtp", [*argv, "--lmtp"] if lmtp else argv))
    return programs


class Command(BaseCommand):
    help = "Run Loket: migrate, then web server, task worker and scheduler under one supervisor."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Load the demo shop first when the database is empty.",
        )
        parser.add_argument("--host", default=None, help="Address to listen on (LOKET_HOST).")
        parser.add_argument("--port", type=int, default=None, help="Port (LOKET_PORT).")
        parser.add_argument(
            "--no-migrate", action="store_true", help="Do not apply database migrations first."
        )
        parser.add_argument(
            "--no-browser", action="store_true", help="Do not open a browser when ready."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"] or default_host()
        port: int = options["port"] or default_port()
        url = f"http://{browse_host(host)}:{port}/"
        if port_in_use(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use (is Loket running already?). "
                f"Stop that, or pick another port: LOKET_PORT={port + 1}"
            )
        self.stdout.write(f"Data directory: {settings.DATA_DIR}")
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Database: {database_label()} (migrated)")
        programs = self.programs(host, port)
        self.phone_url = ""
        if options["demo"]:
            self._demo()
            emulator = self._emulator(url, port)
            if emulator is not None:
                programs.append(emulator)
        connections.close_all()  # the children open their own connections

        supervisor = Supervisor(
            programs,
            out=sys.stdout,
            ready_check=lambda: (
                answers(url.rstrip("/") + reverse("web:login"))
                and (not self.phone_url or answers(self.phone_url))
            ),
            on_ready=lambda: self._ready(url, browser=not options["no_browser"]),
        )
        self.stdout.write(f"Starting Loket at {url} ...")
        supervisor.run()
        self.stdout.write("Loket stopped.")

    def programs(self, host: str, port: int) -> list[Program]:
        loket = [sys.executable, "-m", "loket"]
        programs = [Program("web", [*loket, "web", "--host", host, "--port", str(port)])]
        backend = settings.TASKS["default"]["BACKEND"]
        if backend == DB_WORKER_BACKEND:
            programs.append(
                Program(
                    "worker",
                    [*loket, "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.5"],
                )
            )
        else:
            self.stdout.write(
                f"Task backend {backend} is not the database backend: run its workers "
                "separately (no embedded worker started)."
            )
        programs.append(Program("scheduler", [*loket, "scheduler"]))
        programs += email_programs(loket)
        return programs

    def _demo(self) -> None:
        from loket.demo import shop

        if shop.is_loaded():
            self.stdout.write("Demo data: already loaded.")
        elif shop.is_empty():
            self.stdout.write("Loading the demo shop (Toko Batik Sari) ...")
            loaded = shop.load()
            if loaded is not None:
                self.stdout.write(f"Demo data: {describe(loaded)}.")
        else:
            self.stdout.write("Demo data: not loaded, the database already holds data.")

    def _emulator(self, url: str, web_port: int) -> Program | None:
        """The WhatsApp emulator for the demo channel, on LOKET_WHATSAPP_EMULATOR_PORT or the
        web port + 1; the channel's base URL follows that port. None when there is no such
        channel or the port is taken (said, not fatal: the rest of the demo still runs)."""
        from loket.channels import secrets
        from loket.channels import services as channels
        from loket.channels.models import Channel, ChannelKind
        from loket.channels.whatsapp.emulator import demo

        channel = (
            Channel.objects.filter(kind=ChannelKind.WHATSAPP, config__emulator=True)
            .order_by("pk")
            .first()
        )
        if channel is None:
            return None
        port = demo.default_port(web_port)
        if port_in_use("127.0.0.1", port):
            self.stdout.write(
                f"WhatsApp emulator not started: port {port} is in use "
                "(set LOKET_WHATSAPP_EMULATOR_PORT to another port)."
            )
            return None
        base_url = f"http://127.0.0.1:{port}"
        if channel.config.get("base_url") != base_url:
            channels.update_channel(channel, actor=None, config={"base_url": base_url})
        config = channel.config
        argv = [
            *[sys.executable, "-m", "loket", "whatsapp-emulator"],
            *["--port", str(port), "--webhook", url.rstrip("/") + demo.webhook_path(channel.pk)],
            *["--phone-number-id", str(config.get("phone_number_id", ""))],
            *["--waba-id", str(config.get("waba_id", ""))],
            *["--display-phone-number", channel.address.removeprefix("+")],
            *["--api-version", str(config.get("api_version", ""))],
        ]
        # Secrets by environment, so they never show in the process list.
        env = {
            "LOKET_EMULATOR_ACCESS_TOKEN": secrets.get(channel, "access_token"),
            "LOKET_EMULATOR_APP_SECRET": secrets.get(channel, "app_secret"),
        }
        self.phone_url = base_url + "/"
        return Program("whatsapp", argv, env)

    def _ready(self, url: str, *, browser: bool) -> None:
        from loket.demo import shop

        lines = ["", f"Loket is ready: {url}"]
        try:
            lines += login_lines(shop.logins())
        finally:
            connections.close_all()
        if self.phone_url:
            lines.append(f"Coba sebagai pelanggan: {self.phone_url}")
        lines += [
            f"Admin: {url}admin/   API docs: {url}api/v1/docs",
            "Press Ctrl-C to stop.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        if browser and can_open_browser():
            webbrowser.open(url)
