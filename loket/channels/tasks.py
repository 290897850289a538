"""Background work on raw deliveries."""

from __future__ import annotations

from django.tasks import task

from loket.channels import services


@task()
def process_delivery(delivery_id: int) -> str:
    return services.process(delivery_id).state
