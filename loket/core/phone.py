"""Phone numbers: one customer, one E.164 string, however they typed it.

Follows the recipe in shared/reference/indonesia-and-meta-rules.md section 4.5.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

DEFAULT_REGION = "ID"

_SEPARATORS = re.compile(r"[\s\u00a0\-.()/]+")
_SUFFIX = re.compile(r"\(?\b(wa|whatsapp|hp|telp?)\b\)?$", re.IGNORECASE)


class InvalidPhone(ValueError):
    """The text is not a dialable phone number."""


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)


def normalize_phone(raw: str, region: str = DEFAULT_REGION, *, international: bool = False) -> str:
    """Return the E.164 form (``+6281234567890``) of a typed phone number or a WhatsApp ``wa_id``.

    ``international=True`` says the digits carry a country code even without a plus (a
    ``wa_id`` from a webhook). Typed digits are read as national to ``region`` first, then as
    international. Raises InvalidPhone for text that is not a valid number.
    """
    text = _ascii_digits(_SUFFIX.sub("", raw.strip()))
    text = _SEPARATORS.sub("", text)
    if not text:
        raise InvalidPhone(raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    # People prepend 62 to a national 08... number: +62 0812 / 620812.
    if text.startswith("+620"):
        text = "+62" + text[4:]
    elif text.startswith("620"):
        text = "62" + text[3:]
    candidates = [text]
    if text.isdigit() and not text.startswith("0"):
        # Bare digits: "6281234567890" (a wa_id, the region's code first) is international;
        # "81234567890" is a national number with the trunk 0 dropped, unless told otherwise.
        country = str(phonenumbers.country_code_for_region(region))
        if international or text.startswith(country):
            candidates = ["+" + text]
        else:
            candidates = [text, "+" + text]
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhone(raw)


def wa_id(e164: str) -> str:
    """The WhatsApp id for an E.164 number: digits only, no plus."""
    return e164.lstrip("+")


def display_phone(e164: str) -> str:
    """International display form: ``+62 812-3456-7890``."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
