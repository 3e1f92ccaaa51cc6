"""Phone numbers: E.164 validation, the masked form that logs and answers may show, and which
numbers a typed "call me" may ring (the country and the kind of line, from ``phonenumbers``, the
Python port of Google's libphonenumber)."""

from __future__ import annotations

import enum
import re

import phonenumbers

__all__ = [
    "CALLABLE_LINES",
    "E164",
    "TypedNumber",
    "country_of",
    "is_country",
    "is_e164",
    "judge_typed",
    "masked",
]

E164 = re.compile(r"\+[1-9]\d{6,14}")
"""ITU-T E.164: a plus, a country code, at most 15 digits in all. Always ``fullmatch``: ``$`` in a
pattern also matches before a final newline, and ``"+14155550123\\n"`` is not a phone number."""

VISIBLE_DIGITS = 2
"""Digits left readable in a masked number: enough to tell two phones apart, not to call one."""

CALLABLE_LINES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)
"""The kinds of line a typed number may be: premium-rate, shared-cost, personal (UK 070), VoIP,
pager, UAN and voicemail numbers are where toll fraud pays, and no person needs one for "call me"."""


class TypedNumber(enum.Enum):
    """What duet makes of a number someone typed for "call me"."""

    CALLABLE = "callable"
    NO_SUCH_NUMBER = "no-such-number"
    """No country has such a number (``+999…``), or it is one of the international networks'
    (``+882…``, ``+883…``: satellite and global services, which have no country)."""
    OTHER_COUNTRY = "other-country"
    """A real number in a country the deployment does not call (``DUET_PHONE_CALL_COUNTRIES``)."""
    NOT_A_PHONE = "not-a-phone"
    """A real number in an allowed country, but not a landline or a mobile (:data:`CALLABLE_LINES`)."""


def is_e164(number: str) -> bool:
    return E164.fullmatch(number) is not None


def is_country(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 code of a region with phone numbers (``"GB"``)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def country_of(number: str) -> str | None:
    """The ISO country of a valid E.164 number (``+12685551234`` → ``"AG"``: Antigua shares +1 with
    the United States, told apart by the area code), or ``None`` for no country."""
    if not is_e164(number):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and is_country(region) else None


def judge_typed(number: str, countries: frozenset[str]) -> TypedNumber:
    """May "call me" ring ``number``, typed by a join link holder, in a deployment that calls
    ``countries`` (ISO codes)?"""
    country = country_of(number)
    if country is None:
        return TypedNumber.NO_SUCH_NUMBER
    if country not in countries:
        return TypedNumber.OTHER_COUNTRY
    if phonenumbers.number_type(phonenumbers.parse(number, None)) not in CALLABLE_LINES:
        return TypedNumber.NOT_A_PHONE
    return TypedNumber.CALLABLE


def masked(number: str | None) -> str:
    """``+14155550123`` → ``+*********23``; anything that is not a phone number shows as ``***``."""
    if not number or not is_e164(number):
        return "***"
    digits = number[1:]
    return "+" + "*" * (len(digits) - VISIBLE_DIGITS) + digits[-VISIBLE_DIGITS:]
