"""A customer is one phone number, however it was typed.

Examples follow shared/reference/indonesia-and-meta-rules.md section 4; the properties check
that every common way of writing a valid Indonesian mobile lands on the same E.164 string.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loket.core.phone import InvalidPhone, display_phone, normalize_phone, wa_id

DEWI = "+6281234567890"


@pytest.mark.parametrize(
    "typed",
    [
        "0812-3456-7890",
        "081234567890",
        "0812 3456 7890",
        "0812.3456.7890",
        "(0812) 3456-7890",
        "62812-3456-7890",
        "6281234567890",
        "+62 812-3456-7890",
        "+62 812 3456 7890",
        "+6281234567890",
        "62 812-3456-7890",
        "812-3456-7890",  # the trunk 0 eaten by a spreadsheet
        "812 3456 7890",
        "+62 0812-3456-7890",  # 62 prepended to a national 08... number
        "620812-3456-7890",
        "0062 812 3456 7890",  # 00 as the international prefix
        "0812-3456-7890 (WA)",
        "0812 3456 7890 wa",
        "WA: 0812-3456-7890",  # as written on a shop's Instagram bio
        "HP 0812 3456 7890",
        "tel:+6281234567890",
        "+62 (812) 3456-7890",
        "+62\u00a0812\u00a03456\u00a07890",  # non-breaking spaces from a web form
        "\uff10\uff18\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10",  # full-width
        "\u0660\u0668\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660",  # Arabic-Indic
    ],
)
def test_every_way_of_writing_dewis_number_is_one_customer(typed: str) -> None:
    assert normalize_phone(typed) == DEWI


def test_a_whatsapp_wa_id_is_read_as_international() -> None:
    assert normalize_phone("6281234567890", international=True) == DEWI
    # A foreign customer's wa_id carries its own country code, never Indonesia's.
    assert normalize_phone("16502530000", international=True) == "+16502530000"
    assert normalize_phone("447911123456", international=True) == "+447911123456"
    # Without the hint, digits that do not start with 62 are read as national first.
    assert normalize_phone("812-3456-7890") == DEWI
    assert normalize_phone("812-3456-7890", international=True) == "+81234567890"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(021) 555-1234", "+62215551234"),  # Jakarta
        ("021-555-1234", "+62215551234"),
        ("0215551234", "+62215551234"),
        ("0361 123456", "+62361123456"),  # Denpasar
        ("(022) 4201234", "+62224201234"),  # Bandung
        ("0800 1234 567", "+628001234567"),  # toll-free
    ],
)
def test_landlines_and_service_numbers_normalise_too(typed: str, e164: str) -> None:
    assert normalize_phone(typed) == e164
    parsed = phonenumbers.parse(e164)
    assert phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.MOBILE


def test_numbers_from_abroad_keep_their_country() -> None:
    assert normalize_phone("+1 650 253 0000") == "+16502530000"
    assert normalize_phone("+60 12-345 6789") == "+60123456789"  # Malaysia


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "abc",
        "+",
        "0",
        "08123",  # too short, though phonenumbers calls it "possible"
        "14045",  # a short code is not E.164
        "0812345678901234567",  # too long
        "hubungi kami",
        "+62",
        "62",
        "---",
        "(WA)",
    ],
)
def test_text_that_is_not_a_phone_number_is_refused(typed: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(typed)
    with pytest.raises(InvalidPhone):
        normalize_phone(typed, international=True)


def test_wa_id_and_display_forms() -> None:
    assert wa_id(DEWI) == "6281234567890"
    assert display_phone(DEWI) == "+62 812-3456-7890"
    assert normalize_phone(display_phone(DEWI)) == DEWI
    assert display_phone("not a number") == "not a number"


# --- properties -------------------------------------------------------------------------------
# National significant numbers of Indonesian mobiles: 8[1-35-9] followed by 7 to 10 digits.
mobile_nsn = st.builds(
    lambda second, rest: f"8{second}{rest}",
    st.sampled_from("1235689"),
    st.text(alphabet="0123456789", min_size=7, max_size=10),
).filter(lambda nsn: phonenumbers.is_valid_number(phonenumbers.parse("+62" + nsn)))

separators = st.sampled_from(["", " ", "-", ".", "\u00a0", " - "])
group_sizes = st.lists(st.integers(min_value=1, max_value=4), max_size=4)
forms = st.sampled_from(
    [
        "0{n}",
        "({n0}){rest}",
        "62{n}",
        "+62{n}",
        "+62 {n}",
        "+62-{n}",
        "+62 0{n}",
        "620{n}",
        "0062{n}",
        "0062 {n}",
        "{n}",
        "0{n} (WA)",
        "0{n} hp",
        "+62 {n} whatsapp",
    ]
)


def _grouped(digits: str, separator: str, sizes: list[int]) -> str:
    parts, start = [], 0
    for size in sizes:
        parts.append(digits[start : start + size])
        start += size
    parts.append(digits[start:])
    return separator.join(part for part in parts if part)


@st.composite
def typed_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """A valid Indonesian mobile as somebody typed it, and its E.164 form."""
    nsn = draw(mobile_nsn)
    grouped = _grouped(nsn, draw(separators), draw(group_sizes))
    typed = draw(forms).format(n=grouped, n0="0" + nsn[:3], rest=nsn[3:])
    return typed, "+62" + nsn


@settings(max_examples=200, deadline=None)
@given(typed_mobiles())
def test_any_valid_mobile_in_any_common_format_is_the_same_customer(
    example: tuple[str, str],
) -> None:
    typed, e164 = example
    assert normalize_phone(typed) == e164


@settings(max_examples=200, deadline=None)
@given(mobile_nsn)
def test_the_wa_id_of_a_mobile_reads_back_as_the_same_number(nsn: str) -> None:
    e164 = normalize_phone("0" + nsn)
    assert normalize_phone(wa_id(e164), international=True) == e164
    assert normalize_phone(wa_id(e164)) == e164


phone_like = st.text(alphabet="0123456789+-(). \u00a0/wahpWA\u0660\u0661\u0668", max_size=24)


@settings(max_examples=200, deadline=None)
@given(st.one_of(typed_mobiles().map(lambda example: example[0]), phone_like), st.booleans())
def test_normalising_is_idempotent(raw: str, international: bool) -> None:
    try:
        e164 = normalize_phone(raw, international=international)
    except InvalidPhone:
        return
    assert e164.startswith("+")
    assert e164[1:].isdigit()
    assert normalize_phone(e164) == e164
    assert normalize_phone(e164, international=True) == e164
    assert normalize_phone(display_phone(e164)) == e164


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), phone_like, st.binary().map(lambda b: b.decode("latin-1"))))
def test_arbitrary_text_either_normalises_or_raises_invalid_phone(raw: str) -> None:
    for international in (False, True):
        try:
            result = normalize_phone(raw, international=international)
        except InvalidPhone:
            continue  # the only exception allowed out (a ValueError for callers)
        else:
            assert phonenumbers.is_valid_number(phonenumbers.parse(result))
