"""Webhook secrets and signatures (Standard Webhooks v1, with its reference library).

A signature is ``v1,`` and the base64 HMAC-SHA256, keyed by the secret, of ``{id}.{timestamp}.{body}``;
after a rotation the old secret signs alongside the new for a while, so ``webhook-signature`` holds
several space-separated signatures and a receiver with either secret verifies.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

__all__ = ["SECRET_BYTES", "new_secret", "signed_headers"]

SECRET_BYTES = 32
"""256-bit keys: as long as the HMAC-SHA256 output (RFC 2104 section 3's recommended minimum is the
hash's output length)."""


def new_secret() -> str:
    """A fresh ``whsec_…`` secret (base64 of :data:`SECRET_BYTES` random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(*, keys: Sequence[str], msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed with every secret in ``keys``."""
    signatures = " ".join(Webhook(key).sign(msg_id, at, body) for key in keys)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
