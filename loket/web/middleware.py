"""Each signed-in agent sees the dashboard in their own language and time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone, translation

from loket.accounts.models import User

_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _activate(request: HttpRequest, user: Any) -> bool:
    """Activate the agent's language and zone; True when a zone was activated."""
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    if user.language in _LANGUAGES:
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language
    zone = _zone(user.time_zone)
    if zone is None:
        return False
    timezone.activate(zone)
    return True


class AgentPreferencesMiddleware:
    """Activates ``user.language`` and ``user.time_zone`` for the request of a signed-in agent.

    Goes after AuthenticationMiddleware (and after LocaleMiddleware, whose choice from the
    browser it overrides). Anonymous visitors keep the browser's language and the site zone.
    Works in both modes, so the live (async) views are not pushed onto a thread.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        zone_set = _activate(request, getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            if zone_set:
                timezone.deactivate()

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        user = await request.auser() if hasattr(request, "auser") else None
        zone_set = _activate(request, user)
        try:
            response: Awaitable[HttpResponseBase] = self.get_response(request)
            return await response
        finally:
            if zone_set:
                timezone.deactivate()
