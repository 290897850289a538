"""The event log: append-only, hash-chained, and the change feed of the whole system."""

from __future__ import annotations

from typing import Any

from django.db import models


class Event(models.Model):
    """One thing that happened. Written in the same transaction as the change it records.

    ``seq`` and the hashes are set when the event is *sealed*: committed events are chained in
    the order they are sealed (on SQLite at once, since writers are serialised; on PostgreSQL
    right after commit under an advisory lock). ``seq`` is the cursor that feeds are tailed by.
    """

    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=64, db_index=True)
    # Plain ids, not foreign keys: the record must not change when the subject does.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    subject_type = models.CharField(max_length=32, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    ticket_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["subject_type", "subject_id"]),
            models.Index(
                fields=["seq"], name="audit_unsealed", condition=models.Q(seq__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seq or '-'} {self.kind} {self.subject_type}:{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("update_fields"):
            raise RuntimeError("events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("events are append-only")
