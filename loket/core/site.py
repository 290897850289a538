"""The install's general settings (business name, reopen period, default language).

Admins edit them on the dashboard; ``update`` records the change in the event log. Reads go
through ``get``, which keeps the row in memory for a few seconds: ``receive()`` asks for the
reopen period on every continuing message and must not pay a query for it. The process that
saves sees the change at once; other processes (the task worker, other web replicas) within
``TTL_SECONDS``.

Unset values fall back to the environment: LOKET_REOPEN_DAYS and LOKET_LANGUAGE.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from loket.audit import services as audit
from loket.core.models import SiteSettings

TTL_SECONDS = 10.0
FIELDS = ("business_name", "reopen_days", "default_language")
# More than ten years is surely a typo.
MAX_REOPEN_DAYS = 3650


@dataclass(frozen=True)
class Snapshot:
    """The stored settings as read (unset values are empty/None)."""

    business_name: str = ""
    reopen_days: int | None = None
    default_language: str = ""


_lock = threading.Lock()
_cached: tuple[float, Snapshot] | None = None


def get() -> Snapshot:
    """The settings, from memory when read less than ``TTL_SECONDS`` ago."""
    global _cached  # noqa: PLW0603 (the process-wide cache)
    entry = _cached
    now = time.monotonic()
    if entry is not None and now - entry[0] < TTL_SECONDS:
        return entry[1]
    row = SiteSettings.objects.filter(pk=1).values_list(*FIELDS).first()
    snapshot = Snapshot() if row is None else Snapshot(*row)
    with _lock:
        _cached = (now, snapshot)
    return snapshot


def clear_cache() -> None:
    """Forget the cached row: the next ``get`` reads the database (tests, other writers)."""
    global _cached  # noqa: PLW0603
    with _lock:
        _cached = None


def reopen_days() -> int:
    """Days a solved ticket still takes a customer's reply (and reopens)."""
    days = get().reopen_days
    return int(settings.LOKET_REOPEN_DAYS) if days is None else days


def default_language() -> str:
    """The language of the sign-in page and of new agents."""
    language = get().default_language
    if language in dict(settings.LANGUAGES):
        return language
    return str(settings.LANGUAGE_CODE)


def business_name() -> str:
    return get().business_name


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown site settings: {', '.join(sorted(unknown))}")
    cleaned: dict[str, Any] = {}
    errors: list[str] = []
    if "business_name" in fields:
        cleaned["business_name"] = " ".join(str(fields["business_name"] or "").split())[:150]
    if "reopen_days" in fields:
        days = fields["reopen_days"]
        if days is None or days == "":
            cleaned["reopen_days"] = None
        else:
            try:
                days = int(days)
            except (TypeError, ValueError):
                days = -1
            if not 0 <= days <= MAX_REOPEN_DAYS:
                errors.append(
                    _("The reopen period is a number of days from 0 to %(max)d.")
                    % {"max": MAX_REOPEN_DAYS}
                )
            cleaned["reopen_days"] = days
    if "default_language" in fields:
        language = str(fields["default_language"] or "")
        if language and language not in dict(settings.LANGUAGES):
            errors.append(
                _("Unknown language %(code)s; choose one of: %(codes)s.")
                % {"code": language, "codes": ", ".join(dict(settings.LANGUAGES))}
            )
        cleaned["default_language"] = language
    if errors:
        raise ValidationError(errors)
    return cleaned


def update(actor: Any, **fields: Any) -> Snapshot:
    """Change some settings; the event names each changed field with its old and new value.

    Raises ValidationError for a bad value. Changing nothing records nothing.
    """
    cleaned = _clean(fields)
    with transaction.atomic():
        row, _created = SiteSettings.objects.select_for_update().get_or_create(pk=1)
        changes = {
            name: {"from": getattr(row, name), "to": value}
            for name, value in cleaned.items()
            if getattr(row, name) != value
        }
        if changes:
            for name in changes:
                setattr(row, name, cleaned[name])
            row.save()
            audit.append(
                "site.settings_changed",
                actor=audit.actor_for(actor),
                subject_type="site",
                subject_id=row.pk,
                data={"changes": changes},
            )
        transaction.on_commit(clear_cache)
    clear_cache()
    return get()
