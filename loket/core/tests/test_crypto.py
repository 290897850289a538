"""Secrets at rest: Fernet tokens under ``enc:v1:``, several keys for rotation, clear errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from loket.core import crypto


def test_round_trip_and_every_encryption_differs() -> None:
    first = crypto.encrypt("rahasia-toko")
    second = crypto.encrypt("rahasia-toko")
    assert first.startswith("enc:v1:")
    assert "rahasia" not in first
    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == "rahasia-toko"


def test_non_ascii_round_trip() -> None:
    assert crypto.decrypt(crypto.encrypt("kunci-🔑-ünïcode")) == "kunci-🔑-ünïcode"


def test_rotation_new_key_first_old_key_still_reads(settings: Any) -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.LOKET_ENCRYPTION_KEYS = [old]
    stored = crypto.encrypt("token-lama")

    settings.LOKET_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(stored) == "token-lama"
    rotated = crypto.rotate(stored)

    settings.LOKET_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "token-lama"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored)


def test_a_wrong_key_gives_a_clear_error(settings: Any) -> None:
    stored = crypto.encrypt("rahasia")
    settings.LOKET_ENCRYPTION_KEYS = [crypto.generate_key()]
    with pytest.raises(crypto.DecryptionError, match="LOKET_ENCRYPTION_KEY"):
        crypto.decrypt(stored)


def test_a_damaged_value_gives_the_same_clear_error() -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("enc:v1:not-a-token")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("plain text")


def test_keys_from_the_environment_comma_separated(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.LOKET_ENCRYPTION_KEYS = [old]
    stored = crypto.encrypt("dari-env")
    settings.LOKET_ENCRYPTION_KEYS = None
    monkeypatch.setenv("LOKET_ENCRYPTION_KEY", f" {new} , {old} ")
    assert crypto.decrypt(stored) == "dari-env"


def test_a_malformed_key_fails_loudly_naming_the_variable(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.LOKET_ENCRYPTION_KEYS = None
    monkeypatch.setenv("LOKET_ENCRYPTION_KEY", "terlalu-pendek")
    with pytest.raises(ImproperlyConfigured, match="LOKET_ENCRYPTION_KEY"):
        crypto.encrypt("x")


def test_without_configuration_a_private_key_file_is_generated_once(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings.LOKET_ENCRYPTION_KEYS = None
    settings.DATA_DIR = tmp_path
    monkeypatch.delenv("LOKET_ENCRYPTION_KEY", raising=False)
    stored = crypto.encrypt("dari-berkas")
    key_file = tmp_path / "encryption_key"
    assert key_file.exists()
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    key = key_file.read_text()
    assert crypto.decrypt(stored) == "dari-berkas"
    crypto._key_file.cache_clear()
    assert crypto.decrypt(stored) == "dari-berkas"
    assert key_file.read_text() == key
    assert [p.name for p in tmp_path.iterdir()] == ["encryption_key"]  # no temporary left
