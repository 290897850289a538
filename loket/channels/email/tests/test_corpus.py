"""Every raw mail of the shared corpus goes through the parser without an unexpected error.

A mail the parser refuses must be refused with ``UnreadableMail`` (a clear error: the delivery
is kept and shown as failed), never with a crash from deep inside the ``email`` package.
"""

from __future__ import annotations

import pytest

from loket.channels.email.inbound import UnreadableMail, parse_mail
from loket.channels.email.tests.corpus import RAW_MAILS, raw_mails


@pytest.mark.parametrize("name", sorted(RAW_MAILS))
def test_every_raw_mail_parses_without_a_crash(name: str) -> None:
    files = raw_mails(name)
    assert files, f"no raw mails found in corpus folder {name}"
    crashes: list[str] = []
    for path in files:
        try:
            parse_mail(path.read_bytes())
        except UnreadableMail:
            continue
        except Exception as exc:  # collect every crash to report them all
            crashes.append(f"{path.relative_to(path.parents[1])}: {type(exc).__name__}: {exc}")
    assert not crashes, f"{len(crashes)} of {len(files)} mails crashed:\n" + "\n".join(crashes)
