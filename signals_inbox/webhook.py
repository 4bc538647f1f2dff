"""`POST /api/v1/integration/{slug}/webhook`: the signed signal webhook, answering in its own shape.

Order matters: bound the body, verify the HMAC of the raw bytes, and only then parse. No API key,
no session, no CSRF: the signature is the only credential.
"""
from __future__ import annotations

import logging

import orjson
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from signals_inbox.parsing import InvalidSignal, parse_signal
from signals_inbox.selectors import ingest_context
from signals_inbox.services import signal_ingest, signal_reject
from signals_inbox.verification import SIGNATURE_HEADER, count_refusal, read_body, signature_valid

logger = logging.getLogger("skillhub.signals")

# What a 503 asks the sender to wait before sending the signal again.
RETRY_AFTER_SECONDS = 30


def _answer(status: int, body: dict) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


@csrf_exempt
def signal_webhook(request: HttpRequest, slug: str) -> HttpResponse:
    """Verify, validate and record one signal; resolution happens later in an actor."""
    if request.method != "POST":
        response = _answer(405, {"error": "method_not_allowed"})
        response["Allow"] = "POST"
        return response
    body = read_body(request)
    if body is None:
        count_refusal(slug=slug, reason="payload_too_large")
        return _answer(413, {"error": "payload_too_large"})
    for attempt in (1, 2):
        try:
            return _verify_and_record(request, slug, body)
        except (DatabaseError, InterfaceError):
            if attempt == 1 and _replaced_dead_connection():
                continue  # a connection that died with a database restart: once more on a fresh one
            # Not the sender's fault: ask for a retry rather than pretending the signal was bad.
            logger.warning("could not record a signal for %s: the database is unavailable", slug, exc_info=True)
            response = _answer(503, {"error": "unavailable"})
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
    raise AssertionError("unreachable")


def _replaced_dead_connection() -> bool:
    """Close the database connection if it is dead (True), so the next query opens a fresh one."""
    if connection.connection is None or connection.in_atomic_block:
        return False
    try:
        usable = connection.is_usable()
    except Exception:
        usable = False
    if usable:
        return False
    connection.close()
    return True


def _verify_and_record(request: HttpRequest, slug: str, body: bytes) -> HttpResponse:
    if not signature_valid(slug=slug, body=body, signature_header=request.META.get(SIGNATURE_HEADER, "")):
        count_refusal(slug=slug, reason="bad_signature")
        return _answer(401, {"error": "bad_signature"})
    context = ingest_context(slug=slug)
    if context is None:  # the tenant was deleted while its secrets were still cached
        return _answer(401, {"error": "bad_signature"})
    try:
        parsed = parse_signal(body, context.signal_map)
    except InvalidSignal as exc:
        signal_reject(tenant_id=context.tenant_id, body=body, reason=exc.detail)
        return _answer(400, {"error": "invalid_payload", "detail": exc.detail})
    result = signal_ingest(tenant_id=context.tenant_id, parsed=parsed)
    return _answer(200, {"ok": True, "applied": True, "signalId": result.signal_id, "deduped": result.deduped})
