"""Many processes ingest at the same moment; the result is as if they had taken turns.

Eight OS processes (``concurrent_ingest.py``), released together by a file barrier, write to
a real database: an on-disk SQLite file (always), and the run's PostgreSQL test database when
LOKET_DATABASE_URL points at PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from loket.tickets.tests.concurrent_ingest import DEWI_FORMS, TICKETS_PER_PROCESS

PROCESSES = 8
ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 180


@dataclass
class Database:
    env: dict[str, str]
    workdir: Path

    def run(self, *args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "loket.tickets.tests.concurrent_ingest", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    def at_once(self, *scenarios: str) -> dict[str, list[Any]]:
        """Run the scenarios in PROCESSES processes, released together for each one."""
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "loket.tickets.tests.concurrent_ingest",
                    "work",
                    str(index),
                    str(PROCESSES),
                    str(self.workdir / "barriers"),
                    *scenarios,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for index in range(PROCESSES)
        ]
        outputs = []
        for child in children:
            out, err = child.communicate(timeout=TIMEOUT)
            assert child.returncode == 0, err
            outputs.append(json.loads(out.splitlines()[-1]))
        return {name: [output[name] for output in outputs] for name in scenarios}


def _child_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYTHONPATH"] = str(ROOT)
    env["LOKET_SECRET_KEY"] = "concurrency-test-key"
    env["LOKET_LOG_LEVEL"] = "WARNING"
    env.update(overrides)
    return env


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated Loket database file, made once and copied by each test."""
    directory = tmp_path_factory.mktemp("loket-template")
    done = subprocess.run(
        [sys.executable, "-m", "loket", "migrate", "--noinput"],
        cwd=ROOT,
        env=_child_env(LOKET_DATA_DIR=str(directory)),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return directory / "loket.sqlite3"


def _postgres_url() -> str:
    settings = connection.settings_dict
    user = quote(settings["USER"] or "postgres")
    password = f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "localhost"
    port = settings["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.django_db(transaction=True)),
    ]
)
def database(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> Database:
    if request.param == "sqlite":
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        shutil.copy(migrated_sqlite, data_dir / "loket.sqlite3")
        env = _child_env(LOKET_DATA_DIR=str(data_dir))
    else:
        if not os.environ.get("LOKET_DATABASE_URL", "").startswith(("postgres", "postgresql")):
            pytest.skip("PostgreSQL run only (LOKET_DATABASE_URL is not a PostgreSQL URL)")
        # The run's own test database (the param's django_db mark has it set up), committed
        # to for real and flushed afterwards.
        request.getfixturevalue("transactional_db")
        assert connection.vendor == "postgresql"
        # Never let the children loose on a real database.
        assert str(connection.settings_dict["NAME"]).startswith("test_")
        env = _child_env(LOKET_DATA_DIR=str(tmp_path), LOKET_DATABASE_URL=_postgres_url())
    db = Database(env=env, workdir=tmp_path)
    db.run("setup")
    return db


def test_eight_processes_ingesting_at_once(database: Database) -> None:
    results = database.at_once("same_new_customer", "many_customers", "same_delivery")
    seen = database.run("report")

    one_new_customer_writing_from_eight_processes_makes_one_ticket(
        results["same_new_customer"], seen
    )
    tickets_opened_at_once_get_unique_contiguous_numbers(results["many_customers"], seen)
    the_same_delivery_in_eight_processes_is_one_message(results["same_delivery"], seen)
    assert seen["chain_ok"], seen["chain_problems"]


def one_new_customer_writing_from_eight_processes_makes_one_ticket(
    results: list[Any], seen: dict[str, Any]
) -> None:
    assert len(DEWI_FORMS) > 1  # the processes wrote Dewi's number in different ways
    assert all(r["created"] for r in results)
    numbers = {r["ticket"] for r in results}
    assert len(numbers) == 1
    assert len({r["message"] for r in results}) == PROCESSES
    dewis = [t for t in seen["tickets"] if t["identities"] == ["+6281234567890"]]
    assert [t["number"] for t in dewis] == list(numbers)
    in_her_ticket = [m["external_id"] for m in seen["messages"] if m["ticket"] in numbers]
    assert in_her_ticket == sorted(f"wamid.dewi.{i}" for i in range(PROCESSES))


def tickets_opened_at_once_get_unique_contiguous_numbers(
    results: list[list[int]], seen: dict[str, Any]
) -> None:
    numbers = [n for per_process in results for n in per_process]
    assert len(numbers) == PROCESSES * TICKETS_PER_PROCESS
    assert len(set(numbers)) == len(numbers)
    for per_process in results:  # each process saw its own numbers rise
        assert per_process == sorted(per_process)
    # No gaps and no duplicates over everything the processes opened.
    every = [t["number"] for t in seen["tickets"]]
    assert every == list(range(1001, 1001 + len(every)))
    # One ticket, one contact per customer, plus Dewi and Rudi.
    assert seen["contacts"] == len(numbers) + 2


def the_same_delivery_in_eight_processes_is_one_message(
    results: list[dict[str, Any]], seen: dict[str, Any]
) -> None:
    assert {r["state"] for r in results} == {"processed"}, [r["error"] for r in results]
    assert len({r["message"] for r in results}) == 1
    copies = [m for m in seen["messages"] if m["external_id"] == "CAH7rudi-dup@mail.contoh.co.id"]
    assert len(copies) == 1
    rudis = [t for t in seen["tickets"] if t["identities"] == ["rudi@contoh.co.id"]]
    assert [t["number"] for t in rudis] == [copies[0]["ticket"]]
    assert seen["deliveries"] == ["processed"] * PROCESSES  # every raw copy kept
    # One message.received per stored message: none was recorded twice.
    assert seen["received_events"] == len(seen["messages"])
