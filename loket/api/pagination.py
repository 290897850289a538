"""Cursor pagination links: lists answer ``next_cursor`` and the ready-made ``next`` URL."""

from __future__ import annotations

from django.http import HttpRequest


def next_page_url(request: HttpRequest, cursor: str | None) -> str | None:
    """The request's own URL with ``cursor`` replaced, or None on the last page."""
    if cursor is None:
        return None
    params = request.GET.copy()
    params["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
