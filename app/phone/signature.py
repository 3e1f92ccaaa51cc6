"""Twilio's request signature (``X-Twilio-Signature``), computed and checked with the standard library.

Twilio signs every webhook request: the full URL it requested, followed by each POST parameter's name
and value, sorted by name (and by value where a name repeats), HMAC-SHA1 with the account's auth token,
base64 (https://www.twilio.com/docs/usage/security#validating-requests). Twilio's own validator
accepts the URL with and without the scheme's default port, because Twilio's side is inconsistent
about it; so does this one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["SIGNATURE_HEADER", "Params", "compute_signature", "is_valid_signature"]

SIGNATURE_HEADER = "X-Twilio-Signature"

Params = Iterable[tuple[str, str]]
"""Form parameters as (name, value) pairs; a name may repeat."""

_DEFAULT_PORTS = {"https": 443, "http": 80}


def compute_signature(auth_token: str, url: str, params: Params) -> str:
    """The signature Twilio sends for a POST of ``params`` to ``url``."""
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    payload = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_valid_signature(auth_token: str, url: str, params: Params, signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's for this request (constant-time comparison)."""
    if not signature or not auth_token:
        return False
    pairs = list(params)
    given = signature.encode()
    return any(
        hmac.compare_digest(compute_signature(auth_token, candidate, pairs).encode(), given)
        for candidate in _url_variants(url)
    )


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port, and with the scheme's default port (as Twilio's validator)."""
    parts = urlsplit(url)
    variants = [url]
    if parts.port is not None:
        variants.append(urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])))
    elif (default := _DEFAULT_PORTS.get(parts.scheme)) is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}")))
    return variants
