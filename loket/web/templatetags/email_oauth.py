"""``{% email_oauth channel as oauth_setup %}``: what the email channel's settings page shows
about authorising the mailbox with the OAuth2 provider (the button, the redirect URI)."""

from __future__ import annotations

from typing import Any

from django import template

from loket.channels.models import Channel
from loket.web.manage.views import email_oauth

register = template.Library()


@register.simple_tag
def email_oauth_setup(channel: Channel | None) -> dict[str, Any] | None:
    if channel is None or channel.pk is None or channel.kind != "email":
        return None
    return email_oauth.setup(channel)
