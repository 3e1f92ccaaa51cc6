"""Phone numbers: E.164 validation and the masked form that logs and answers may show."""

from __future__ import annotations

import re

__all__ = ["E164", "is_e164", "masked"]

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
"""ITU-T E.164: a plus, a country code, at most 15 digits in all."""

VISIBLE_DIGITS = 2
"""Digits left readable in a masked number: enough to tell two phones apart, not to call one."""


def is_e164(number: str) -> bool:
    return E164.match(number) is not None


def masked(number: str | None) -> str:
    """``+14155550123`` → ``+*********23``; anything that is not a phone number shows as ``***``."""
    if not number or not is_e164(number):
        return "***"
    digits = number[1:]
    return "+" + "*" * (len(digits) - VISIBLE_DIGITS) + digits[-VISIBLE_DIGITS:]
