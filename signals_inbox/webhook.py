"""`POST /api/v1/integration/{slug}/webhook`: the signed signal webhook, answering in its own shape.

Order matters: bound the body, verify the HMAC of the raw bytes (and, for a timestamped signature,
its time and its once-only id), and only then parse. No API key, no session, no CSRF: the signature
is the only credential.
"""
from __future__ import annotations

import logging
import uuid

import orjson
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from signals_inbox.parsing import InvalidSignal, parse_signal
from signals_inbox.selectors import ingest_context
from signals_inbox.services import signal_ingest, signal_reject
from signals_inbox.services.signing import webhook_id_release, webhook_id_take
from signals_inbox.verification import count_refusal, read_body, verify_signature

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
    verdict = verify_signature(slug=slug, body=body, headers=request.META)
    if not verdict.ok:
        count_refusal(slug=slug, reason="bad_signature")
        return _answer(401, {"error": "bad_signature", **({"detail": verdict.detail} if verdict.detail else {})})
    taken = False
    context = None
    try:
        context = ingest_context(slug=slug)
        if context is None:  # the tenant was deleted while its secrets were still cached
            return _answer(401, {"error": "bad_signature"})
        if verdict.webhook_id:
            if not webhook_id_take(tenant_id=context.tenant_id, webhook_id=verdict.webhook_id, expires_at=verdict.expires_at):
                count_refusal(slug=slug, reason="bad_signature")
                return _answer(401, {"error": "bad_signature", "detail": "this webhook-id was already received (a replay)"})
            taken = True
        try:
            parsed = parse_signal(body, context.signal_map)
        except InvalidSignal as exc:
            signal_reject(tenant_id=context.tenant_id, body=body, reason=exc.detail)
            _release(context.tenant_id, verdict.webhook_id, taken)
            return _answer(400, {"error": "invalid_payload", "detail": exc.detail})
        result = signal_ingest(tenant_id=context.tenant_id, parsed=parsed)
    except DatabaseError:
        # Not the sender's fault: ask for a retry rather than pretending the signal was bad.
        logger.exception("could not record a signal for %s", slug)
        if taken and context is not None:
            _release(context.tenant_id, verdict.webhook_id, taken)
        response = _answer(503, {"error": "unavailable"})
        response["Retry-After"] = "30"
        return response
    answer = {"ok": True, "applied": True, "signalId": result.signal_id, "deduped": result.deduped}
    if result.reason:
        answer["reason"] = result.reason
    return _answer(200, answer)


def _release(tenant_id: uuid.UUID, webhook_id: str, taken: bool) -> None:
    """Give back a taken id whose signal was not recorded, so the sender's retry is not taken for a replay."""
    if not taken:
        return
    try:
        webhook_id_release(tenant_id=tenant_id, webhook_id=webhook_id)
    except DatabaseError:
        logger.warning("could not release webhook-id of a signal that was not recorded")
