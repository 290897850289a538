"""The ASGI application ``loket web`` serves: Django, with the webhook's notifications first.

A signed WhatsApp notification needs none of Django's middleware (no session, no user, no
CSRF, no template) and goes through the lean path in loket.channels.whatsapp.views; every
other request, and any notification Django would answer differently, is Django's.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loket.settings")

django_application = get_asgi_application()

from loket.channels.whatsapp import views as whatsapp  # noqa: E402 - needs Django set up


async def application(scope: Any, receive: Any, send: Any) -> None:
    channel_id = whatsapp.lean_channel_id(scope) if scope["type"] == "http" else None
    if channel_id is None:
        await django_application(scope, receive, send)
    else:
        await whatsapp.lean_notification(scope, receive, send, channel_id)
