"""``loket web``: the ASGI web server (uvicorn) alone, for a process manager such as systemd."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loket.core.env import env_bool, env_int, env_list, env_str


def default_host() -> str:
    return env_str("HOST", "127.0.0.1")


def default_port() -> int:
    return env_int("PORT", 8000, minimum=1)


class Command(BaseCommand):
    help = "Serve Loket over HTTP with uvicorn (LOKET_HOST, LOKET_PORT)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=None, help="Address to listen on (LOKET_HOST).")
        parser.add_argument("--port", type=int, default=None, help="Port (LOKET_PORT).")
        parser.add_argument(
            "--workers",
            type=int,
            default=env_int("WEB_WORKERS", 1, minimum=1),
            help="Server processes (LOKET_WEB_WORKERS, default 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        behind_proxy = env_bool("BEHIND_PROXY", default=False)
        uvicorn.run(
            "loket.core.asgi:application",
            host=options["host"] or default_host(),
            port=options["port"] or default_port(),
            workers=options["workers"],
            lifespan="off",
            # Trust X-Forwarded-* only from the reverse proxy in front of us.
            proxy_headers=behind_proxy,
            forwarded_allow_ips=env_list("FORWARDED_ALLOW_IPS", ["127.0.0.1", "::1"]),
            server_header=False,
            timeout_graceful_shutdown=5,
            log_level=env_str("LOG_LEVEL", "INFO").lower(),
        )
