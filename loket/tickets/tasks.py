"""Background work on tickets (django.tasks; any backend)."""

from __future__ import annotations

from django.tasks import task

from loket.tickets import services


@task()
def deliver(message_id: int) -> str:
    """Send a queued outbound message; retries are scheduled by the service."""
    return services.deliver_now(message_id)
