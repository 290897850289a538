"""Reactions to Django's authentication signals: sign-ins are part of the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from loket.accounts.models import User
from loket.audit import services as audit


def _client(request: HttpRequest | None) -> dict[str, str]:
    if request is None:
        return {}
    return {
        "ip": str(request.META.get("REMOTE_ADDR", "")),
        "user_agent": str(request.META.get("HTTP_USER_AGENT", ""))[:200],
    }


def on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit.append(
        "auth.login",
        actor=audit.actor_for(user),
        subject_type="user",
        subject_id=user.pk,
        data=_client(request),
    )


def on_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is None:
        return
    audit.append(
        "auth.logout",
        actor=audit.actor_for(user),
        subject_type="user",
        subject_id=user.pk,
        data=_client(request),
    )


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # The password is never recorded; Django already masks it in ``credentials``.
    audit.append(
        "auth.login_failed",
        subject_type="user",
        data={"username": str(credentials.get("username", ""))[:200], **_client(request)},
    )


def connect() -> None:
    user_logged_in.connect(on_login, dispatch_uid="loket.audit.login")
    user_logged_out.connect(on_logout, dispatch_uid="loket.audit.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="loket.audit.login_failed")
