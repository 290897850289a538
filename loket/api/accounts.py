"""The agent behind the token."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from loket.accounts.models import User
from loket.api.auth import current_user
from loket.api.schemas import ErrorOut, MeOut

router = Router(tags=["me"])


@router.get("/me", response={200: MeOut, 401: ErrorOut}, url_name="me", summary="Who am I")
def get_me(request: HttpRequest) -> User:
    """The agent the token belongs to: role, teams, language and time zone."""
    return current_user(request)
