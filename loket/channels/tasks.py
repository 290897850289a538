"""Background work on raw deliveries."""

from __future__ import annotations

from django.tasks import task

from loket.channels import services


@task()
def drain_deliveries() -> int:
    """Read every stored delivery still waiting, a batch per transaction (the webhook's)."""
    return services.drain()


@task()
def process_delivery(delivery_id: int) -> str:
    """One delivery: a retry, or the scheduler's safety net (a no-op once it was read)."""
    return services.process_waiting(delivery_id)
