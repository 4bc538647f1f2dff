"""Hashing and HMAC, one helper each: stored credentials are hashed here, and bodies signed and verified here."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Iterable


def token_hash(raw: str) -> str:
    """Return the stored form of a bearer credential (API key, staff token): its hex SHA-256."""
    return hashlib.sha256(raw.encode()).hexdigest()


def hmac_sha256(key: bytes | str, message: bytes) -> bytes:
    """Return the HMAC-SHA256 digest of `message` (a text key is used as its UTF-8 bytes)."""
    return hmac.new(key.encode() if isinstance(key, str) else key, message, hashlib.sha256).digest()


def hmac_sha256_hex(key: bytes | str, message: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of `message`."""
    return hmac_sha256(key, message).hex()


def hex_signature_matches(*, keys: Iterable[bytes | str], message: bytes, signature: bytes) -> bool:
    """Say whether `signature` is the lowercase hex HMAC-SHA256 of `message` under any of `keys`.

    Every key is checked, in constant time, so the time taken does not say which one matched.
    """
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(hmac_sha256_hex(key, message).encode(), signature)
    return ok


def standard_signature_matches(*, keys: Iterable[bytes | str], msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Say whether a Standard Webhooks `webhook-signature` header holds a `v1,<base64>` signature of
    "{msg_id}.{timestamp}.{body}" under any of `keys` (every pair compared, in constant time)."""
    given: list[bytes] = []
    for item in header.split()[:8]:
        version, _, encoded = item.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            given.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not given:
        return False
    message = f"{msg_id}.{timestamp}.".encode() + body
    ok = False
    for key in keys:
        expected = hmac_sha256(key, message)
        for signature in given:
            ok |= hmac.compare_digest(expected, signature)
    return ok
