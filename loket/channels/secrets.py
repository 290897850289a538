"""A channel's credentials, encrypted at rest in ``Channel.config``.

Which settings are secret: the kind's form ``secret_fields`` (access token, app secret,
verify token, mail passwords) and any key that looks like a credential. They are stored as
``enc:v1:<token>`` (``loket.core.crypto``); code reads them only through ``get``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loket.channels.models import Channel
from loket.core import crypto

CREDENTIAL_WORDS = ("password", "secret", "token", "key")


def looks_secret(key: str) -> bool:
    return any(word in key.lower() for word in CREDENTIAL_WORDS)


def secret_fields(kind: str) -> tuple[str, ...]:
    from loket.channels.forms import UnknownChannelKind, form_for

    try:
        return form_for(kind).secret_fields
    except UnknownChannelKind:
        return ()


def is_secret(kind: str, key: str) -> bool:
    return key in secret_fields(kind) or looks_secret(key)


def get(channel: Channel, name: str) -> str:
    """The decrypted secret, "" when unset. Raises ``crypto.DecryptionError`` on a wrong key.

    A plain value (written before encryption existed and not yet migrated) is returned as is.
    """
    value = channel.config.get(name)
    if value is None or value == "":
        return ""
    if crypto.is_encrypted(value):
        return crypto.decrypt(value)
    return str(value)


def reveal(value: Any) -> Any:
    """A config value in clear (for comparisons and masks); non-secrets unchanged."""
    if crypto.is_encrypted(value):
        return crypto.decrypt(value)
    return value


def seal(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with every secret text encrypted; already encrypted values are kept."""
    sealed = dict(config)
    for key, value in config.items():
        plain = isinstance(value, str) and value and not crypto.is_encrypted(value)
        if plain and is_secret(kind, key):
            sealed[key] = crypto.encrypt(value)
    return sealed


def rotate(channel: Channel) -> bool:
    """Re-encrypt the channel's secrets with the current key; True when something changed."""
    config = dict(channel.config)
    changed = False
    for key, value in channel.config.items():
        if crypto.is_encrypted(value):
            config[key] = crypto.rotate(value)
            changed = True
    sealed = seal(channel.kind, config)
    if changed or sealed != channel.config:
        Channel.objects.filter(pk=channel.pk).update(config=sealed)
        channel.config = sealed
        return True
    return False
