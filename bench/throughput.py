"""``receive()`` throughput on a scratch copy of the benchmark dataset (run by bench/run.py).

    .venv/bin/python bench/throughput.py --data-dir DIR [--database sqlite|postgres] [-n 2000]

Prints one JSON object. On SQLite ``DIR`` holds a copy of the dataset made by run.py; on
PostgreSQL ``LOKET_BENCH_POSTGRES_URL`` names a scratch copy of the dataset database.

Two phases, each one message after another in this one process, as the ingest worker does:
- new conversations: messages from customers never seen before (new contact, new ticket);
- continuing conversations: those customers write again (the message joins their ticket).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=2000, help="messages per phase")
    args = parser.parse_args()
    generate.setup_django(args.database, args.data_dir)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loket.channels.items import InboundMessage, Sender
    from loket.channels.models import Channel
    from loket.tickets import services

    rng = random.Random(7)
    words = generate.Words(rng)
    channel = Channel.objects.get(kind="whatsapp")
    senders = [
        Sender("phone", f"628577{i:07d}", f"{rng.choice(generate.FIRST)} Baru", international=True)
        for i in range(args.n + 51)
    ]
    counter = 0

    def send(sender: Sender) -> None:
        nonlocal counter
        counter += 1
        services.receive(
            channel,
            InboundMessage(
                external_id=f"wamid.throughput.{counter}",
                sender=sender,
                text=words.message(generate.INBOUND, sender.name, False),
            ),
        )

    # Warm up: imports, caches, prepared statements.
    for sender in senders[:50]:
        send(sender)
    with CaptureQueriesContext(connection) as new_queries:
        send(senders[50])
    with CaptureQueriesContext(connection) as continuing_queries:
        send(senders[50])

    results: dict[str, float] = {}
    for phase, batch in (("new", senders[51:]), ("continuing", senders[51:])):
        started, cpu = time.perf_counter(), time.process_time()
        for sender in batch:
            send(sender)
        elapsed = time.perf_counter() - started
        results[f"{phase}_messages"] = len(batch)
        results[f"{phase}_seconds"] = elapsed
        results[f"{phase}_per_second"] = len(batch) / elapsed
        # CPU time of this process per message: SQLite works in-process, so this is the
        # cost without waiting for other programs on the machine.
        results[f"{phase}_cpu_ms"] = (time.process_time() - cpu) / len(batch) * 1000
    results["queries_new"] = len(new_queries.captured_queries)
    results["queries_continuing"] = len(continuing_queries.captured_queries)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
