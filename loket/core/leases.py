"""Database leases: one holder of a named role at a time (the scheduler's leader)."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from loket.core import clock
from loket.core.models import Lease


def acquire(name: str, holder: str, ttl: timedelta) -> bool:
    """Take or renew the lease; True when ``holder`` holds it until now + ttl."""
    now = clock.now()
    updated = (
        Lease.objects.filter(name=name)
        .filter(Q(holder=holder) | Q(expires_at__lt=now) | Q(expires_at__isnull=True))
        .update(holder=holder, expires_at=now + ttl)
    )
    if updated:
        return True
    try:
        with transaction.atomic():  # a savepoint: losing the race must not break the caller
            Lease.objects.create(name=name, holder=holder, expires_at=now + ttl)
    except IntegrityError:
        return False
    return True


def release(name: str, holder: str) -> None:
    Lease.objects.filter(name=name, holder=holder).update(expires_at=None, holder="")
