"""API bearer tokens: shown once at creation, stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction

from loket.accounts.models import ApiToken, User
from loket.audit import services as audit
from loket.core import clock

PREFIX = "lkt_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "", *, actor: User | None = None) -> str:
    """Create a token for ``user`` and return it in clear text (the only time it is seen)."""
    token = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        record = ApiToken.objects.create(
            user=user, name=name[:100], prefix=token[: len(PREFIX) + 6], digest=_digest(token)
        )
        audit.append(
            "auth.token_created",
            actor=audit.actor_for(actor or user),
            subject_type="user",
            subject_id=user.pk,
            data={"token_id": record.pk, "name": record.name},
        )
    return token


def authenticate(token: str) -> User | None:
    """The active user a token belongs to, or None. Records when it was last used."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    record = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(token), revoked_at__isnull=True)
        .first()
    )
    if record is None or not record.user.is_active:
        return None
    now = clock.now()
    if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.user


def revoke(record: ApiToken, *, actor: User) -> None:
    with transaction.atomic():
        ApiToken.objects.filter(pk=record.pk).update(revoked_at=clock.now())
        audit.append(
            "auth.token_revoked",
            actor=audit.actor_for(actor),
            subject_type="user",
            subject_id=record.user_id,
            data={"token_id": record.pk},
        )
