"""Small shared tables: named counters and leases."""

from __future__ import annotations

from django.db import models


class Counter(models.Model):
    """A named sequence advanced with a conditional UPDATE (gap-free under concurrency)."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Lease(models.Model):
    """A time-limited claim on a role (the scheduler's leadership), taken by conditional UPDATE."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or '-'}"
