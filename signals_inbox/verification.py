"""Authenticate an inbound signal: a bounded body read and a constant-time HMAC check, before any parsing.

Two forms are accepted (docs/contract.md, section 4): document 004's `X-Skillhub-Signature` (hex HMAC-SHA256 of
the body alone), and the Standard Webhooks form (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), which cannot be replayed: its
timestamp must be within five minutes and its id is taken once (`signals_inbox.services.replay`).
Both are keyed by the UTF-8 bytes of the signal secret string as issued. A tenant may refuse the
plain form.

Verification needs the tenant's secrets on every request, including forged ones; they come from
`tenants.selectors.signal_secrets_for_slug` and are memoised in the process for a moment, so a flood
of forged requests costs neither the database nor the cache. A signature that matches none of them
re-reads the database (at most every REFRESH_AFTER seconds per slug), so a secret issued by another
process, even `manage.py issue_signal_secret` against a per-process cache, works on its first use.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable, Mapping

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from signals_inbox.models import SIGNATURE_TOLERANCE_SECONDS
from signals_inbox.selectors import timestamped_signatures_required
from skillhub import localcache
from skillhub.crypto import hex_signature_matches, standard_signature_matches
from tenants.selectors import signal_secrets_for_slug

# The table of body limits in settings (skillhub/limits.py) holds it; the front enforces it too.
MAX_BODY_BYTES = settings.SIGNAL_MAX_BODY_BYTES
# The most of a refused body read and dropped to keep the connection alive.
DISCARD_BYTES = 8 * 1024 * 1024
SIGNATURE_HEADER = "HTTP_X_SKILLHUB_SIGNATURE"
ID_HEADER = "HTTP_WEBHOOK_ID"
TIMESTAMP_HEADER = "HTTP_WEBHOOK_TIMESTAMP"
STANDARD_SIGNATURE_HEADER = "HTTP_WEBHOOK_SIGNATURE"
# How long a process trusts its copy of a tenant's secrets; a failed check refreshes a copy older
# than REFRESH_AFTER, so a newly issued secret works within a fraction of a second.
MEMO_SECONDS = 2.0
REFRESH_AFTER = 0.25
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,63}$")
_WEBHOOK_ID = re.compile(r"^[\x21-\x7e]{1,200}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")

_MEMO_PREFIX = "signal-secrets:"


@dataclass(frozen=True)
class SigningPolicy:
    secrets: list[bytes]
    require_timestamp: bool


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a request's signature.

    `detail` is given only once the signature proved that the sender holds a secret; `webhook_id`
    and `expires_at` (Unix seconds) are set for an accepted timestamped signature, whose id the
    caller must still take (once) before recording the signal.
    """

    ok: bool
    detail: str = ""
    webhook_id: str = ""
    expires_at: int = 0


REFUSED = Verdict(ok=False)


def read_body(request: HttpRequest) -> bytes | None:
    """Return the request body, or None when it is over the limit (claimed or actual).

    A chunked body has no Content-Length, and Django reads such a body as empty; the server has
    already undone the chunking, so the decoded stream is read straight from the WSGI input.
    """
    if _is_chunked(request):
        body = _read_bounded(request.META["wsgi.input"])
        if body is None:
            _discard(request.META["wsgi.input"])
        return body
    try:
        claimed = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        claimed = 0
    if claimed > MAX_BODY_BYTES:
        if claimed <= DISCARD_BYTES:  # a claim past the cap is not read at all: the server closes instead
            _discard(request)
        return None
    # Read one byte past the limit rather than trusting the header alone.
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        _discard(request)
        return None
    return body


def _discard(stream: HttpRequest | BinaryIO) -> None:
    """Read and drop what is left of a refused body (up to DISCARD_BYTES), so the 413 leaves the connection usable.

    The server announced keep-alive; a body left unread would be taken for the next request, or
    make the server close the connection under the client. Past the cap the server closes it.
    """
    left = DISCARD_BYTES
    while left > 0:
        chunk = stream.read(min(64 * 1024, left))
        if not chunk:
            return
        left -= len(chunk)


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


def _load_policy(slug: str, *, fresh: bool = False) -> Callable[[], SigningPolicy]:
    return lambda: SigningPolicy(
        secrets=[secret.encode() for secret in signal_secrets_for_slug(slug=slug, fresh=fresh)],
        require_timestamp=timestamped_signatures_required(slug=slug, fresh=fresh),
    )


def _signature_check(body: bytes, headers: Mapping[str, str]) -> tuple[Callable[[list[bytes]], bool], tuple[str, str] | None] | None:
    """Return how to check the request's signature against keys, and the timestamped form's (id, timestamp); None if malformed."""
    if any(headers.get(name) for name in (ID_HEADER, TIMESTAMP_HEADER, STANDARD_SIGNATURE_HEADER)):
        msg_id, stamp, header = (headers.get(name, "").strip() for name in (ID_HEADER, TIMESTAMP_HEADER, STANDARD_SIGNATURE_HEADER))
        if not (_WEBHOOK_ID.match(msg_id) and _TIMESTAMP.match(stamp) and header):
            return None
        return (lambda keys: standard_signature_matches(keys=keys, msg_id=msg_id, timestamp=stamp, body=body, header=header)), (msg_id, stamp)
    given = headers.get(SIGNATURE_HEADER, "").strip()
    if not given:
        return None
    signature = given.encode("latin-1", "replace")
    return (lambda keys: hex_signature_matches(keys=keys, message=body, signature=signature)), None


def _verified_policy(slug: str, matches: Callable[[list[bytes]], bool]) -> SigningPolicy | None:
    """Return the slug's policy if one of its secrets verifies the signature, else None."""
    key = _MEMO_PREFIX + slug
    policy, age = localcache.get_or_load_aged(key, MEMO_SECONDS, _load_policy(slug))
    if matches(policy.secrets):
        return policy
    if age <= REFRESH_AFTER:
        return None
    # The database, not a cache that another process may be unable to clear, has the last word.
    policy = localcache.reload(key, MEMO_SECONDS, _load_policy(slug, fresh=True))
    return policy if matches(policy.secrets) else None


def verify_signature(*, slug: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> Verdict:
    """Check the request's signature (either form) against the slug's secrets and policy."""
    check = _signature_check(body, headers) if _SLUG.match(slug) else None
    if check is None:
        return REFUSED
    matches, timestamped = check
    policy = _verified_policy(slug, matches)
    if policy is None:
        return REFUSED
    if timestamped is None:
        if policy.require_timestamp:
            return Verdict(
                ok=False,
                detail="this tenant accepts only timestamped signatures (webhook-id, webhook-timestamp, webhook-signature)",
            )
        return Verdict(ok=True)
    msg_id, stamp = timestamped
    now_s = int(time.time() if now is None else now)
    sent = int(stamp)
    if abs(now_s - sent) > SIGNATURE_TOLERANCE_SECONDS:
        return Verdict(ok=False, detail=f"webhook-timestamp is more than {SIGNATURE_TOLERANCE_SECONDS} seconds from the server's clock")
    # Beyond this the timestamp alone refuses the message, so the id need not be remembered longer.
    return Verdict(ok=True, webhook_id=msg_id, expires_at=sent + SIGNATURE_TOLERANCE_SECONDS + 1)


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
