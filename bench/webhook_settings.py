"""Settings of the webhook benchmark's server: Loket's own, plus a bare reference view."""

import os

from loket.settings import *  # noqa: F403

ROOT_URLCONF = "webhook_urls"

# Experiment (bench/webhook.py --no-checkpoint-on-close): closing the last connection to a
# WAL database checkpoints it, and Django closes one per request (ASGI) and per task.
if os.environ.get("LOKET_BENCH_NO_CHECKPOINT_ON_CLOSE"):
    import sqlite3

    from django.db.backends.signals import connection_created

    def _no_checkpoint_on_close(sender: object, connection: object, **kwargs: object) -> None:
        raw = getattr(connection, "connection", None)
        if isinstance(raw, sqlite3.Connection):
            raw.setconfig(sqlite3.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, True)

    connection_created.connect(_no_checkpoint_on_close)

# Experiment: keep the task worker's connection between tasks (Django closes it after each
# task when CONN_MAX_AGE is 0, the default).
if os.environ.get("LOKET_BENCH_PERSISTENT_CONNECTION"):
    DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
