from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _forget_addresses(**_kwargs: Any) -> None:
    """A saved or removed channel may change which addresses are ours (read per mail)."""
    from loket.channels.email.inbound import forget_addresses

    forget_addresses()


class ChannelsConfig(AppConfig):
    name = "loket.channels"
    label = "channels"

    def ready(self) -> None:
        from loket.channels.models import Channel

        post_save.connect(_forget_addresses, sender=Channel, dispatch_uid="channels.addresses")
        post_delete.connect(_forget_addresses, sender=Channel, dispatch_uid="channels.addresses")
