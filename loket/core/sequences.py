"""Named gap-free counters (ticket numbers)."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from loket.core.models import Counter


def next_value(name: str, start: int) -> int:
    """Advance the counter ``name`` and return its new value; the first value is ``start``.

    Must run inside the caller's transaction: the row lock taken by the UPDATE (PostgreSQL) or
    the database write lock (SQLite, IMMEDIATE) is held until commit, so two concurrent
    callers never see the same value, and a rolled-back caller leaves no gap.
    """
    table = Counter._meta.db_table
    for _ in range(3):
        # One statement that advances and reads (RETURNING: PostgreSQL, SQLite >= 3.35).
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET value = value + 1 WHERE name = %s RETURNING value",  # noqa: S608
                [name],
            )
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        try:
            with transaction.atomic():
                Counter.objects.create(name=name, value=start)
        except IntegrityError:
            continue  # another transaction created it first; advance it instead
        return start
    raise RuntimeError(f"could not advance counter {name!r}")
