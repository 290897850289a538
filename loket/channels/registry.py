"""Which adapter serves which channel kind. Adding a channel adds one line here."""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from loket.channels.items import Adapter

ADAPTERS = {
    "email": "loket.channels.email.adapter.EmailAdapter",
    "whatsapp": "loket.channels.whatsapp.adapter.WhatsAppAdapter",
}


class UnknownChannelKind(LookupError):
    pass


@cache
def adapter_for(kind: str) -> Adapter:
    try:
        path = ADAPTERS[kind]
    except KeyError:
        raise UnknownChannelKind(kind) from None
    adapter: Adapter = import_string(path)()
    return adapter
