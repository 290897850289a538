"""Cursor pagination links: lists answer ``next_cursor`` and the ready-made ``next`` URL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from django.http import HttpRequest
from django.utils.translation import gettext as _

from loket.api.errors import ApiError
from loket.tickets.selectors import InvalidCursor


class Page(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


def next_page_url(request: HttpRequest, cursor: str | None) -> str | None:
    """The request's own URL with ``cursor`` replaced, or None on the last page."""
    if cursor is None:
        return None
    params = request.GET.copy()
    params["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


def paged(request: HttpRequest, fetch: Callable[[], Page], items: str) -> dict[str, Any]:
    """Run a cursor-paged selector and shape its page as the API answers every list:
    ``{"items": [...], "next_cursor": ..., "next": URL}``; a bad cursor is a 422."""
    try:
        page = fetch()
    except InvalidCursor:
        raise ApiError(
            422,
            "invalid_cursor",
            _("This cursor is not valid for this list; start again without a cursor."),
            [{"loc": ["query", "cursor"], "message": "invalid cursor", "type": "invalid_cursor"}],
        ) from None
    rows: Sequence[Any] = getattr(page, items)
    return {
        "items": rows,
        "next_cursor": page.next_cursor,
        "next": next_page_url(request, page.next_cursor),
    }
