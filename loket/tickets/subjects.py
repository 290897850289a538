"""Subjects compared the way mail clients change them: reply and forward prefixes in many
languages, our ticket token, and spacing are not part of what a subject says.

Threading compares cleaned subjects (email lessons §6: "References plus identical subject",
and a customer's new mail joining their open ticket only when it is about the same thing).
"""

from __future__ import annotations

import re

# Our ticket token, "[#1042]", anywhere in the subject.
TOKEN = re.compile(r"\[#(\d{1,12})\]")

# Reply/forward prefixes: Re, Fwd, Fw (English); AW, WG (German); SV, VS (Nordic); Odp
# (Polish); Antw (Dutch); RIF, R (Italian); TR, Enc, RES (French, Portuguese); RV (Spanish);
# Balas, Bls, Tr, Teruskan (Indonesian clients); YNT (Turkish); full-width CJK forms. A
# counter ("Re[5]:", "Re(2):") and a missing space ("Re:subject") are allowed.
_COLON = "[:\uff1a]"  # ASCII or full-width
_PREFIX = re.compile(
    r"^\s*(?:"
    r"(?:re|fwd?|aw|wg|sv|vs|odp|antw|rif|r|tr|enc|res|rv|balas|bls|teruskan|ynt|fs|vb)"
    rf"\s*(?:\[\d{{1,4}}\]|\(\d{{1,4}}\))?\s*{_COLON}"
    rf"|(?:\u56de\u590d|\u7b54\u590d|\u8f6c\u53d1|\u56de\u8986|\u8f49\u5bc4)\s*{_COLON}"
    r")\s*",
    re.IGNORECASE,
)
# Mailing-list style tags, "[Toko] ", at the very start.
_LIST_TAG = re.compile(r"^\s*\[[^\[\]#]{1,40}\]\s*")
_SPACES = re.compile(r"\s+")


def strip(subject: str, *, list_tags: bool = False) -> str:
    """The subject without reply and forward prefixes, our "[#N]" tokens and extra spacing;
    case and other systems' tokens ("[Ticket#123]") kept. ``list_tags`` also drops
    mailing-list tags ("[Toko] ") met between the prefixes."""
    text = _SPACES.sub(" ", TOKEN.sub(" ", subject or "")).strip()
    for _ in range(20):  # "Re: AW: Fwd: [list] Re:" peels off one layer at a time
        stripped = _PREFIX.sub("", text, count=1)
        if list_tags:
            stripped = _LIST_TAG.sub("", stripped, count=1)
        if stripped == text:
            break
        text = stripped
    return _SPACES.sub(" ", text).strip()


def clean(subject: str) -> str:
    """The subject as threading compares it: stripped, list tags too, case-folded."""
    return strip(subject, list_tags=True).casefold()


def ticket_number(subject: str) -> int | None:
    """The ticket number a subject quotes ("[#1042]"), the last one when there are several
    (our hook is appended at the right; an older one may precede it)."""
    found = TOKEN.findall(subject or "")
    return int(found[-1]) if found else None
