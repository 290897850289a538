"""Where the shared e-mail corpus lives and which of its files are raw mails.

The corpus sits next to the project (``../shared/corpus/email/`` from the repository root) and
is never copied into it; tests that need it skip when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
CORPUS = (REPO_ROOT / ".." / "shared" / "corpus" / "email").resolve()

# Folder → glob patterns of the raw RFC 822 mails in it (the other files are bodies or answers).
RAW_MAILS: dict[str, tuple[str, ...]] = {
    "chatwoot": ("**/*.eml",),
    "cpython-test-email": ("**/msg_*.txt",),
    "django-helpdesk": ("**/*.eml",),
    "sisimai-set-of-emails": ("**/*.eml",),
    "spamscope-mail-parser": ("mails/*",),
    "stalwart-mail-parser": ("**/*.eml",),
    "talon": ("**/*.eml",),
}


def folder(name: str) -> Path:
    """The corpus folder ``name``; the test is skipped when it is not there."""
    path = CORPUS / name
    if not path.is_dir():
        pytest.skip(f"e-mail corpus folder {path} is absent (expected next to the repository)")
    return path


def raw_mails(name: str) -> list[Path]:
    base = folder(name)
    return sorted({f for pattern in RAW_MAILS[name] for f in base.glob(pattern) if f.is_file()})
