"""Signing of outbound bodies: Standard Webhooks `webhook-signature` and the hex `X-Skillhub-Signature`.

The Standard Webhooks signature is the `standardwebhooks` package's own (`Webhook.sign`), so what
receivers verify with that package is what we sign with it. The hex signature of the plain body is
the older scheme integrators of the first contract still check; it is sent beside it on every
delivery (docs/contract.md, "Signatures").
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook

from skillhub.crypto import hmac_sha256_hex

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
MIN_SECRET_BYTES = 16
MAX_SECRET_BYTES = 64


def generate_secret() -> str:
    """Return a new `whsec_…` secret (24 random bytes, base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_problem(secret: str) -> str | None:
    """Say what is wrong with a caller-chosen secret, or None when it can sign."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        return f"must start with {SECRET_PREFIX} followed by base64"
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return "the part after whsec_ must be valid base64"
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        return f"must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
    return None


def standard_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` keyed by the decoded `whsec_` secret."""
    # Bodies are JSON we serialised ourselves: UTF-8, so decoding and the package's re-encoding are exact.
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), body.decode())


def hex_signature(*, secret: str, body: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of the raw body keyed by the whole secret string."""
    return hmac_sha256_hex(secret, body)


def signature_headers(*, secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the signing headers; the first secret is current, any others are still valid during a rotation."""
    signatures = " ".join(
        standard_signature(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body) for secret in secrets_
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
        "X-Skillhub-Signature": hex_signature(secret=secrets_[0], body=body),
    }
