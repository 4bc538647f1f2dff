"""`Idempotency-Key` on POST: the first answer is kept 24 hours and given again to every repeat.

Keys are scoped to the API key (and so to its tenant). The first request inserts its record
under a unique constraint before it runs, so of concurrent repeats exactly one runs; the others
are answered 409 `CONFLICT` "in progress" with `Retry-After`, as Stripe and the IETF
Idempotency-Key draft do, and a retry after it finishes gets the stored answer. The handler's
writes and the stored answer commit in one transaction, so a crash leaves nothing written and
the record's lease lapses for a retry to run it again. A repeat with another body (or path) is
a 409 without running anything. 5xx answers are not kept. Expired records are reused in place
and swept by `tenants.sweeps`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from skillhub.errors import ConflictError, ValidationFailed
from tenants.models import ApiKey, IdempotencyRecord, Tenant

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
# How long a first request may run before a repeat may take over (a request that long has died).
LEASE = timedelta(minutes=2)
MAX_KEY_LENGTH = 255


class IdempotencyInProgress(ConflictError):
    """A request with this key is still running."""


@dataclass(frozen=True)
class Claim:
    """The outcome of presenting a key: run the request (`replay` None) or answer `replay` again."""

    record: IdempotencyRecord
    replay: IdempotencyRecord | None = None


def key_problem(key: str) -> str | None:
    """Say what is wrong with a client's key, or None."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return f"must be 1 to {MAX_KEY_LENGTH} characters"
    if not key.isascii() or not key.isprintable():
        return "must be printable ASCII"
    return None


def fingerprint(*, method: str, path: str, data: Any) -> str:
    """Return the SHA-256 of the request: method, path and its parsed body in a canonical form."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    # The standard library's encoder: any integer a JSON body may carry, not only 64-bit ones.
    digest.update(json.dumps(_canonical(data), sort_keys=True, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _canonical(data: Any) -> Any:
    if hasattr(data, "lists"):  # a QueryDict: form fields and uploaded files
        return {key: [_canonical(value) for value in values] for key, values in data.lists()}
    if hasattr(data, "chunks") and hasattr(data, "size"):  # an uploaded file: its name, size and bytes
        digest = hashlib.sha256()
        for chunk in data.chunks():
            digest.update(chunk)
        if hasattr(data, "seek"):
            data.seek(0)
        return {"file": getattr(data, "name", ""), "size": data.size, "sha256": digest.hexdigest()}
    if isinstance(data, dict):
        return {str(key): _canonical(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_canonical(value) for value in data]
    return data


def claim(*, tenant: Tenant, api_key: ApiKey, key: str, fingerprint: str) -> Claim:
    """Claim `key` for a new request, or return the answer to replay; raise 409s for misuse."""
    problem = key_problem(key)
    if problem:
        raise ValidationFailed({HEADER: problem})
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    tenant=tenant, api_key=api_key, key=key, fingerprint=fingerprint,
                    locked_until=now + LEASE, created_at=now, expires_at=now + KEEP_FOR,
                )
            return Claim(record=record)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if existing is None:
            continue  # expired and swept just now: insert again
        if existing.expires_at <= now:
            if _take_over(existing, fingerprint=fingerprint, now=now, expired=True):
                return Claim(record=existing)
            continue
        if existing.fingerprint != fingerprint:
            raise ConflictError(
                f"This {HEADER} was used with another request; use a new key for a different request", field=HEADER
            )
        if existing.status_code is not None:
            return Claim(record=existing, replay=existing)
        if existing.locked_until is not None and existing.locked_until > now:
            raise IdempotencyInProgress(
                f"A request with this {HEADER} is still in progress; retry shortly", field=HEADER
            )
        if _take_over(existing, fingerprint=fingerprint, now=now, expired=False):
            return Claim(record=existing)
    raise IdempotencyInProgress(f"A request with this {HEADER} is still in progress; retry shortly", field=HEADER)


def _take_over(record: IdempotencyRecord, *, fingerprint: str, now: Any, expired: bool) -> bool:
    """Claim a record whose first request died (lease lapsed) or whose 24 hours are over."""
    rows = IdempotencyRecord.objects.filter(pk=record.pk)
    rows = rows.filter(expires_at__lte=now) if expired else rows.filter(status_code__isnull=True, locked_until__lte=now)
    updated = rows.update(
        fingerprint=fingerprint, status_code=None, content_type="", body=b"",
        locked_until=now + LEASE, created_at=now, expires_at=now + KEEP_FOR,
    )
    return updated == 1


def complete(*, record: IdempotencyRecord, status_code: int, content_type: str, body: bytes) -> None:
    """Keep the answer to give to repeats."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=status_code, content_type=content_type[:100], body=body, locked_until=None
    )


def release(*, record: IdempotencyRecord) -> None:
    """Forget a claim whose request failed on the server, so a retry runs it again."""
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def sweep_expired(*, batch: int = 1000) -> int:
    """Delete records whose 24 hours are over; return how many."""
    now = timezone.now()
    ids = list(IdempotencyRecord.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[:batch])
    if not ids:
        return 0
    deleted, _ = IdempotencyRecord.objects.filter(pk__in=ids, expires_at__lte=now).delete()
    return deleted
