"""Hashing and HMAC, one helper each: stored credentials are hashed here, and bodies signed and verified here."""

from __future__ import annotations

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
