"""`POST /api/v1/integration/{slug}/webhook`: the signed signal webhook, answering in its own shape.

Order matters: bound the body, verify the HMAC of the raw bytes, and only then parse. No API key,
no session, no CSRF: the signature is the only credential.
"""
from __future__ import annotations

import logging

import orjson
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from signals_inbox.parsing import InvalidSignal, parse_signal
from signals_inbox.selectors import ingest_context
from signals_inbox.services import signal_ingest, signal_reject
from signals_inbox.verification import SIGNATURE_HEADER, count_refusal, read_body, signature_valid

logger = logging.getLogger("skillhub.signals")


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
    if not signature_valid(slug=slug, body=body, signature_header=request.META.get(SIGNATURE_HEADER, "")):
        count_refusal(slug=slug, reason="bad_signature")
        return _answer(401, {"error": "bad_signature"})
    try:
        context = ingest_context(slug=slug)
        if context is None:  # the tenant was deleted while its secrets were still cached
            return _answer(401, {"error": "bad_signature"})
        try:
            parsed = parse_signal(body, context.signal_map)
        except InvalidSignal as exc:
            signal_reject(tenant_id=context.tenant_id, body=body, reason=exc.detail)
            return _answer(400, {"error": "invalid_payload", "detail": exc.detail})
        result = signal_ingest(tenant_id=context.tenant_id, parsed=parsed)
    except DatabaseError:
        # Not the sender's fault: ask for a retry rather than pretending the signal was bad.
        logger.exception("could not record a signal for %s", slug)
        response = _answer(503, {"error": "unavailable"})
        response["Retry-After"] = "30"
        return response
    return _answer(200, {"ok": True, "applied": True, "signalId": result.signal_id, "deduped": result.deduped})
