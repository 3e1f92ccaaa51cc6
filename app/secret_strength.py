"""How strong a secret looks: the rule production secrets must pass (``DUET_SECRET_KEY``, its
``_PREVIOUS``, ``DUET_TURN_SECRET``).

A secret needs at least :data:`MIN_SECRET_CHARS` characters and an estimated :data:`MIN_SECRET_BITS`
bits. The estimate is the secret's length times the lower of two Shannon entropies, bits a
character: of its characters' frequencies (low for repeats and small alphabets: ``"k" * 40`` is
0 bits, a word repeated about 3 a character) and of the steps between neighbouring characters (low
for runs: ``abcdef…0123…`` is about 7 bits in all). A random string scores close to its real entropy
or a little under: 32 random bytes as ``secrets.token_urlsafe(32)`` (43 characters) scored at
least 183 bits, as ``openssl rand -hex 32`` (64 hex digits) at least 222 (20,000 samples each); 16
random bytes written as 32 hex digits hold exactly 128 bits and score less, so they are refused:
use 32 bytes. The
estimate sees the string only, not how it was made: what passes is not proven random, but what
fails is surely not 128 random bits.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence

__all__ = ["MIN_SECRET_BITS", "MIN_SECRET_CHARS", "estimated_bits", "weakness"]

MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 128
"""What a secret must hold against offline guessing (HS256 keys, TURN's HMAC-SHA1 secret):
128 bits, the security level of the 128-bit schemes (NIST SP 800-57 part 1, table 2)."""
_KNOWN_WEAK = {"changethis", "secret", "changeme", "duet", "password"}
_GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def _entropy_per_item(items: Sequence[object]) -> float:
    counts, n = Counter(items), len(items)
    return sum(c / n * math.log2(n / c) for c in counts.values()) if n else 0.0


def estimated_bits(secret: str) -> float:
    """A rough measure of the guessing work in ``secret``, in bits (see the module's docstring)."""
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(secret)]
    return len(secret) * min(_entropy_per_item(secret), _entropy_per_item(steps))


def weakness(secret: str) -> str | None:
    """Why ``secret`` is too weak for production, in words; ``None`` when it is strong enough."""
    if secret.lower() in _KNOWN_WEAK:
        return f"it is a well-known placeholder; make one with {_GENERATE}"
    if len(secret) < MIN_SECRET_CHARS:
        return f"it has {len(secret)} characters, fewer than {MIN_SECRET_CHARS}; make one with {_GENERATE}"
    bits = estimated_bits(secret)
    if bits < MIN_SECRET_BITS:
        return (
            f"it holds about {bits:.0f} bits (repeated or sequential characters), fewer than "
            f"{MIN_SECRET_BITS}; make one with {_GENERATE}"
        )
    return None
