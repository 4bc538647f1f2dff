"""Authenticate an inbound signal: a bounded body read and a constant-time HMAC check, before any parsing.

Verification needs the tenant's secrets on every request, including forged ones; they come from
`tenants.selectors.signal_secrets_for_slug` (shared cache, so no query) and are memoised in the
process for a moment, so a flood of forged requests costs neither the database nor the cache.
"""
from __future__ import annotations

import re
import threading
import time
from typing import BinaryIO, Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from skillhub import localcache
from skillhub.crypto import hex_signature_matches
from tenants.selectors import signal_secrets_for_slug

# The table of body limits in settings (skillhub/limits.py) holds it; the front enforces it too.
MAX_BODY_BYTES = settings.SIGNAL_MAX_BODY_BYTES
SIGNATURE_HEADER = "HTTP_X_SKILLHUB_SIGNATURE"
# How long a process trusts its copy of a tenant's secrets; a failed check refreshes a copy older
# than REFRESH_AFTER, so a newly issued secret works within a fraction of a second.
MEMO_SECONDS = 2.0
REFRESH_AFTER = 0.25
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,63}$")

_MEMO_PREFIX = "signal-secrets:"


def read_body(request: HttpRequest) -> bytes | None:
    """Return the request body, or None when it is over the limit (claimed or actual).

    A chunked body has no Content-Length, and Django reads such a body as empty; the server has
    already undone the chunking, so the decoded stream is read straight from the WSGI input.
    """
    if _is_chunked(request):
        return _read_bounded(request.META["wsgi.input"])
    try:
        claimed = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        claimed = 0
    if claimed > MAX_BODY_BYTES:
        return None
    # Read one byte past the limit rather than trusting the header alone.
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def _is_chunked(request: HttpRequest) -> bool:
    if request.META.get("CONTENT_LENGTH"):
        return False
    encodings = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in (part.strip() for part in encodings.split(",")) and "wsgi.input" in request.META


def _read_bounded(stream: BinaryIO) -> bytes | None:
    """Read a stream to its end, but never more than one byte past the limit."""
    parts: list[bytes] = []
    taken = 0
    while taken <= MAX_BODY_BYTES:
        chunk = stream.read(MAX_BODY_BYTES + 1 - taken)
        if not chunk:
            break
        parts.append(chunk)
        taken += len(chunk)
    return None if taken > MAX_BODY_BYTES else b"".join(parts)


def _load_secrets(slug: str) -> Callable[[], list[bytes]]:
    return lambda: [s.encode() for s in signal_secrets_for_slug(slug=slug)]


def signature_valid(*, slug: str, body: bytes, signature_header: str) -> bool:
    """Say whether `signature_header` is the lowercase hex HMAC-SHA256 of `body` under one of the slug's secrets."""
    if not signature_header or not _SLUG.match(slug):
        return False
    signature = signature_header.strip().encode("latin-1", "replace")
    key = _MEMO_PREFIX + slug
    secrets, age = localcache.get_or_load_aged(key, MEMO_SECONDS, _load_secrets(slug))
    if hex_signature_matches(keys=secrets, message=body, signature=signature):
        return True
    if age > REFRESH_AFTER:
        fresh = localcache.reload(key, MEMO_SECONDS, _load_secrets(slug))
        return hex_signature_matches(keys=fresh, message=body, signature=signature)
    return False


def forget(slug: str | None = None) -> None:
    """Drop the process's memoised secrets (all, or one slug's)."""
    if slug is None:
        localcache.forget_prefix(_MEMO_PREFIX)
    else:
        localcache.forget(_MEMO_PREFIX + slug)


# --- counting refusals (never storing them) ---------------------------------------------------

_counts: dict[str, int] = {}
_counts_lock = threading.Lock()
_last_flush = [0.0]
_FLUSH_SECONDS = 1.0
_COUNT_TTL = 2 * 24 * 3600


def _count_key(slug: str, reason: str, hour: int) -> str:
    return f"signal-refused:{slug}:{reason}:{hour}"


def count_refusal(*, slug: str, reason: str) -> None:
    """Count a refused request (bad_signature, payload_too_large) for the slug; flushed to the cache each second."""
    bucket = slug if _SLUG.match(slug) and localcache.peek(_MEMO_PREFIX + slug) else "unknown-tenant"
    hour = int(time.time() // 3600)
    key = _count_key(bucket, reason, hour)
    with _counts_lock:
        _counts[key] = _counts.get(key, 0) + 1
        now = time.monotonic()
        if now - _last_flush[0] < _FLUSH_SECONDS:
            return
        _last_flush[0] = now
        pending = dict(_counts)
        _counts.clear()
    flush_refusals(pending)


def flush_refusals(pending: dict[str, int] | None = None) -> None:
    """Add counted refusals to the shared cache."""
    if pending is None:
        with _counts_lock:
            pending = dict(_counts)
            _counts.clear()
    for key, value in pending.items():
        if not cache.add(key, value, _COUNT_TTL):
            try:
                cache.incr(key, value)
            except ValueError:  # expired between add and incr
                cache.set(key, value, _COUNT_TTL)


def refusal_counts(*, slug: str, hours: int = 24) -> dict[str, int]:
    """Return how many requests for the slug were refused in the last `hours`, by reason."""
    flush_refusals()
    now_hour = int(time.time() // 3600)
    keys = {
        _count_key(slug, reason, hour): reason
        for reason in ("bad_signature", "payload_too_large")
        for hour in range(now_hour - hours + 1, now_hour + 1)
    }
    totals = {"bad_signature": 0, "payload_too_large": 0}
    for key, value in cache.get_many(list(keys)).items():
        totals[keys[key]] += int(value)
    return totals
