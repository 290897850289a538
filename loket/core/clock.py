"""The one place that reads the time, so tests can move it (time-machine).

``at()`` sets the time for a block of code at run time; demo data and data generators use it
to write history that is consistent across rows and the event log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_fixed: ContextVar[datetime | None] = ContextVar("loket_clock_fixed", default=None)


def now() -> datetime:
    fixed = _fixed.get()
    return fixed if fixed is not None else timezone.now()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Within the block, ``now()`` returns ``moment`` (an aware datetime)."""
    if timezone.is_naive(moment):
        raise ValueError("clock.at() needs an aware datetime")
    token = _fixed.set(moment)
    try:
        yield
    finally:
        _fixed.reset(token)
