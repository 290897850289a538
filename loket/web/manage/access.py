"""Who may use the administration screens: active admins. Everyone else gets 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from loket.accounts.models import User
from loket.accounts.permissions import can_administer

View = Callable[..., HttpResponse]


def admin_required(view: View) -> View:
    """Sign-in first (a redirect), then the admin role (403 otherwise) — pages and fragments."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not isinstance(user, User) or not can_administer(user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def admin(request: HttpRequest) -> User:
    """The signed-in admin (the decorator has checked)."""
    user = request.user
    if not isinstance(user, User):  # pragma: no cover - admin_required ran first
        raise PermissionDenied
    return user


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
