"""`POST /api/v1/integration/{slug}/webhook`: the signed signal webhook, answering in its own shape.

Order matters: bound the body, verify the HMAC of the raw bytes (and, for a timestamped signature,
its time and its once-only id), and only then parse. No API key, no session, no CSRF: the signature
is the only credential.

An ordinary view behind the whole middleware stack. It once was answered by a middleware ahead of
sessions and CSRF, for throughput; `make bench-signals` measured both in the same hour, alternating
runs, each round a ratio to the same bare answer placed right after CommonMiddleware (medians of
nine rounds each, 2 CPUs at load 6-20): all-new ingest 29% with the middleware, 29% as this view;
all-duplicate 28% and 26%. Recording a signal costs far more than the middleware it skipped, so the
shortcut was worth under 10% of ingest and the route is routed like every other. Refused forgeries,
which touch no database, do pay for the stack: 78% of the ceiling before, 60% now. Its answers are its own shapes, which `skillhub.limits` knows
from the table of body limits (`settings.BODY_LIMIT_ROUTES`): the API's error and flood-limit
middleware leave it alone.
"""
from __future__ import annotations

import logging
import uuid

from typing import Any

import orjson
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from signals_inbox.parsing import InvalidSignal, parse_signal
from signals_inbox.selectors import ingest_context
from signals_inbox.services import signal_ingest, signal_reject
from signals_inbox.services.signing import webhook_id_release, webhook_id_take
from signals_inbox.verification import count_refusal, read_body, verify_signature
from signals_inbox.webhook_docs import DESCRIPTION, PARAMETERS, REQUEST, RESPONSES
from skillhub import logcontext, metrics

logger = logging.getLogger("skillhub.signals")

# What a 503 asks the sender to wait before sending the signal again.
RETRY_AFTER_SECONDS = 30


def _answer(status: int, body: dict) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


class _AnyAccept(BaseContentNegotiation):
    """The webhook answers JSON whatever the sender's Accept header says (no 406)."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return None  # the body is read raw, never parsed by DRF

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


class SignalWebhookApi(APIView):
    """The signed signal webhook: no API key, no session (the signature is the credential), its own answer shapes."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    content_negotiation_class = _AnyAccept
    metadata_class = None  # OPTIONS is refused like any method but POST

    @property
    def default_response_headers(self) -> dict[str, str]:
        return {}  # no DRF `Allow`/`Vary: Accept` on every answer: the 405 says `Allow: POST` itself

    @extend_schema(
        operation_id="signals_ingest", summary="Record a signed signal (HR, credential and incident systems)",
        description=DESCRIPTION, tags=["signals"], auth=[], parameters=PARAMETERS, request=REQUEST, responses=RESPONSES,
    )
    def post(self, request: Request, slug: str) -> HttpResponse:
        response = signal_webhook(request._request, slug)
        _observe(response)
        return response

    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]  # its own 405 shape
        response = _answer(405, {"error": "method_not_allowed"})
        response["Allow"] = "POST"
        return response


def _observe(response: HttpResponse) -> None:
    """Count the answer by what it said, and name the signal it recorded in the request's log line."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    metrics.signal_answered(status=response.status_code, body=body)
    if isinstance(body.get("signalId"), str):
        logcontext.bind(signalId=body["signalId"])


def signal_webhook(request: HttpRequest, slug: str) -> HttpResponse:
    """Verify, validate and record one signal; resolution happens later in an actor."""
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
    verdict = verify_signature(slug=slug, body=body, headers=request.META)
    if not verdict.ok:
        count_refusal(slug=slug, reason="bad_signature")
        return _answer(401, {"error": "bad_signature", **({"detail": verdict.detail} if verdict.detail else {})})
    context = ingest_context(slug=slug)
    if context is None:  # the tenant was deleted while its secrets were still cached
        return _answer(401, {"error": "bad_signature"})
    taken = False
    if verdict.webhook_id:
        if not webhook_id_take(tenant_id=context.tenant_id, webhook_id=verdict.webhook_id, expires_at=verdict.expires_at):
            count_refusal(slug=slug, reason="bad_signature")
            return _answer(401, {"error": "bad_signature", "detail": "this webhook-id was already received (a replay)"})
        taken = True
    try:
        try:
            parsed = parse_signal(body, context.signal_map)
        except InvalidSignal as exc:
            signal_reject(tenant_id=context.tenant_id, body=body, reason=exc.detail)
            _release(context.tenant_id, verdict.webhook_id, taken)
            return _answer(400, {"error": "invalid_payload", "detail": exc.detail})
        result = signal_ingest(tenant_id=context.tenant_id, parsed=parsed)
    except (DatabaseError, InterfaceError):
        _release(context.tenant_id, verdict.webhook_id, taken)
        raise
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
    except (DatabaseError, InterfaceError):
        logger.warning("could not release webhook-id of a signal that was not recorded")
