"""Bearer-token authentication for API v1 (tokens from ``loket token create EMAIL``)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from ninja.security import HttpBearer

from loket.accounts import tokens
from loket.accounts.models import User


class TokenAuth(HttpBearer):
    """``Authorization: Bearer lkt_...``: the token's active owner, or a 401."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = tokens.authenticate(token.strip())
        if user is None:
            return None
        # Messages follow Accept-Language when the client sends one, else the agent's language.
        if "HTTP_ACCEPT_LANGUAGE" not in request.META and user.language in dict(settings.LANGUAGES):
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return user


def current_user(request: HttpRequest) -> User:
    """The authenticated agent of a request that passed TokenAuth."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # only reachable if an operation was mounted without auth
        raise TypeError("API operation called without an authenticated user")
    return user
