"""Named gap-free counters (ticket numbers)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from loket.core.models import Counter


def next_value(name: str, start: int) -> int:
    """Advance the counter ``name`` and return its new value; the first value is ``start``.

    Must run inside the caller's transaction: the row lock taken by the UPDATE (PostgreSQL) or
    the database write lock (SQLite, IMMEDIATE) is held until commit, so two concurrent
    callers never see the same value, and a rolled-back caller leaves no gap.
    """
    for _ in range(3):
        updated = Counter.objects.filter(name=name).update(value=F("value") + 1)
        if updated:
            return Counter.objects.values_list("value", flat=True).get(name=name)
        try:
            with transaction.atomic():
                Counter.objects.create(name=name, value=start)
        except IntegrityError:
            continue  # another transaction created it first; advance it instead
        return start
    raise RuntimeError(f"could not advance counter {name!r}")
