"""Symmetric encryption of small secrets kept in the database (channel tokens, passwords).

A database dump or backup alone must not hand out the credentials of the business's
WhatsApp number or mailbox. Values are Fernet tokens (AES-128-CBC + HMAC-SHA256) prefixed
with ``enc:v1:`` so a reader can tell them from plain text.

The keys, first match wins:

1. ``settings.LOKET_ENCRYPTION_KEYS`` (a list; tests set it so they never touch the data
   directory);
2. ``LOKET_ENCRYPTION_KEY``: one key or several, comma-separated. The first encrypts, all
   decrypt, so a key is rotated by putting a new one in front and re-encrypting
   (``loket channel rotate-secrets``);
3. a key generated once into ``<data dir>/encryption_key`` (mode 0600), like the secret key.

Losing the key loses the stored secrets (they must be typed again), nothing else.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc:v1:"
ENV = "LOKET_ENCRYPTION_KEY"
KEY_FILE = "encryption_key"


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any of the configured keys."""

    def __init__(self) -> None:
        super().__init__(
            "A stored secret cannot be decrypted: it was encrypted with another key. Set "
            f"{ENV} to the key it was encrypted with (several keys may be given, "
            "comma-separated), or type the secret again."
        )


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def encrypt(text: str) -> str:
    """``enc:v1:<token>``; each call gives a different token for the same text."""
    return PREFIX + _fernet().encrypt(text.encode()).decode("ascii")


def decrypt(value: str) -> str:
    if not is_encrypted(value):
        raise DecryptionError()
    try:
        return _fernet().decrypt(value[len(PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise DecryptionError() from None


def rotate(value: str) -> str:
    """The same secret encrypted with the current (first) key."""
    if not is_encrypted(value):
        raise DecryptionError()
    try:
        token = _fernet().rotate(value[len(PREFIX) :].encode("ascii"))
    except (InvalidToken, UnicodeError, ValueError):
        raise DecryptionError() from None
    return PREFIX + token.decode("ascii")


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _fernet() -> MultiFernet:
    configured = getattr(settings, "LOKET_ENCRYPTION_KEYS", None)
    if configured:
        return _build(tuple(configured), "LOKET_ENCRYPTION_KEYS")
    raw = os.environ.get(ENV, "")
    if raw.strip():
        return _build(tuple(k.strip() for k in raw.split(",") if k.strip()), ENV)
    return _build((_key_file(Path(settings.DATA_DIR)),), KEY_FILE)


@lru_cache(maxsize=8)
def _build(keys: tuple[str, ...], source: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"{source} must hold Fernet keys (32 url-safe base64-encoded bytes), "
            "e.g. from `loket channel generate-key`."
        ) from None


@lru_cache(maxsize=4)
def _key_file(directory: Path) -> str:
    """The generated key. Written to a private temporary file and linked into place, so
    two processes starting at once agree on one key and never read a half-written file."""
    path = directory / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    directory.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    temporary = directory / f".{KEY_FILE}.{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(temporary, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        temporary.unlink()
    return key
