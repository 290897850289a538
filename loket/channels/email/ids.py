"""Our own Message-IDs: they name the ticket and the message, and are signed.

``loket.<ticket number>.<message pk>.<signature>@<channel domain>`` (email lessons §6 "Sign
the thread token", §13.1). The signature is an HMAC-SHA256 of "<ticket>.<message>" under a
key derived from Django's SECRET_KEY (``salted_hmac`` with this module's salt), cut to 10
base32 characters (50 bits): a mail that merely looks like ours (a guessed or edited id)
never threads into a ticket it was not sent from. Ids signed with a key in
``SECRET_KEY_FALLBACKS`` still verify, so rotating the secret key does not break threads.

The id stays short (about 45 characters before the domain) so that ``Message-ID: <...>`` fits
on the header's first line; a folded Message-ID trips strict parsers and spam filters.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Iterable

from django.conf import settings
from django.utils.crypto import salted_hmac

SALT = "loket.channels.email.ids"
PREFIX = "loket"
SIGNATURE_LENGTH = 10  # base32 characters: 50 bits

_ID = re.compile(
    rf"^<?{PREFIX}\.(\d{{1,12}})\.(\d{{1,19}})\.([a-z2-7]{{{SIGNATURE_LENGTH}}})@([^<>@\s]+)>?$"
)


def _signature(ticket_number: int, message_pk: int, secret: str | bytes) -> str:
    digest = salted_hmac(
        SALT, f"{ticket_number}.{message_pk}", secret=secret, algorithm="sha256"
    ).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:SIGNATURE_LENGTH]


def make(ticket_number: int, message_pk: int, domain: str) -> str:
    """The Message-ID (without angle brackets) of our message ``message_pk`` in the ticket."""
    domain = (domain or "").strip().lower() or "loket.invalid"
    signature = _signature(ticket_number, message_pk, settings.SECRET_KEY)
    return f"{PREFIX}.{ticket_number}.{message_pk}.{signature}@{domain}"


def read(message_id: str) -> tuple[int, int] | None:
    """(ticket number, message pk) of one of our ids whose signature verifies, else None."""
    parsed = _parse(message_id)
    if parsed is None:
        return None
    ticket_number, message_pk, signature, _domain = parsed
    return (ticket_number, message_pk) if _verifies(ticket_number, message_pk, signature) else None


def domain_of(message_id: str) -> str:
    """The domain part of one of our ids ("" when the id is not in our format)."""
    parsed = _parse(message_id)
    return parsed[3] if parsed else ""


def is_ours(message_id: str, domains: Iterable[str]) -> bool:
    """The id is one we made (signature verifies) on one of ``domains`` (our channels')."""
    parsed = _parse(message_id)
    if parsed is None:
        return False
    ticket_number, message_pk, signature, domain = parsed
    wanted = {d.strip().lower().rpartition("@")[2] for d in domains if d and d.strip()}
    return domain in wanted and _verifies(ticket_number, message_pk, signature)


def _parse(message_id: str) -> tuple[int, int, str, str] | None:
    match = _ID.match((message_id or "").strip().lower())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), match.group(3), match.group(4)


def _verifies(ticket_number: int, message_pk: int, signature: str) -> bool:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    ok = False
    for secret in secrets:  # every key is tried: the time taken does not tell which matched
        expected = _signature(ticket_number, message_pk, secret)
        ok |= hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii"))
    return ok
