"""Signing of outbound bodies: Standard Webhooks `webhook-signature` and the hex `X-Skillhub-Signature`."""

from __future__ import annotations

import base64
import binascii
import secrets

from skillhub.crypto import hmac_sha256, hmac_sha256_hex

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


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def standard_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` keyed by the decoded secret."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac_sha256(_key(secret), to_sign)
    return "v1," + base64.b64encode(digest).decode()


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
