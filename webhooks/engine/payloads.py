"""Delivery bodies (`full` and `thin`) and the headers around them; one body per event and style."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Union

import orjson
from django.conf import settings

from webhooks import signing
from webhooks.models import Delivery, Endpoint, Event, PayloadStyle
from webhooks.engine.transport import USER_AGENT

if TYPE_CHECKING:
    from webhooks.engine.rows import ClaimedDelivery, ClaimedEvent

# A request is built from the models (the console's preview) or from a claimed delivery's records.
AnyEvent = Union[Event, "ClaimedEvent"]
AnyDelivery = Union[Delivery, "ClaimedDelivery"]

# subject_type → collection under /api/v1/tenants/{slug}/; other apps may register more.
SUBJECT_COLLECTIONS: dict[str, str] = {
    "learner": "learners",
    "evidence": "evidence",
    "assessment": "assessments",
    "moderation": "moderations",
    "export": "exports",
    "course": "courses",
    "lesson": "lessons",
    "path": "paths",
    "class": "classes",
    "enrollment": "enrollments",
    "assignment": "assignments",
    "quiz": "quizzes",
    "purchase": "purchases",
    "task": "tasks",
    "feedback": "feedback",
    "achievement": "achievements",
    "voucher": "vouchers",
    "need": "needs",
    "signal": "signals",
    "webhook": "webhooks",
    "quiz_attempt": "quiz-attempts",
    "path_enrollment": "path-enrollments",
    "class_enrollment": "class-enrollments",
    "achievement_award": "achievement-awards",
}

# Headers an endpoint's additional headers may not set: the signed and framing ones.
PROTECTED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "host",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "webhook-sequence",
        "x-skillhub-event",
        "x-skillhub-signature",
        "x-webhook-secret",
    }
)


def subject_url(*, tenant_slug: str, subject_type: str, subject_id: str) -> str | None:
    """Return the absolute API URL of an event's subject, or None when it has none."""
    if not subject_type or not subject_id:
        return None
    collection = SUBJECT_COLLECTIONS.get(subject_type)
    if collection is None:
        return None
    return f"{settings.SKILLHUB_PUBLIC_URL}/api/v1/tenants/{tenant_slug}/{collection}/{subject_id}"


def _timestamp(event: AnyEvent) -> str:
    return event.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def full_body(event: AnyEvent) -> dict[str, Any]:
    """Return the `full` body: the whole event."""
    return {
        "id": event.id,
        "type": event.type,
        "timestamp": _timestamp(event),
        "tenantId": str(event.tenant_id),
        "data": event.data,
    }


def thin_body(event: AnyEvent, *, tenant_slug: str) -> dict[str, Any]:
    """Return the `thin` body: what happened and where to GET the document."""
    return {
        "id": event.id,
        "type": event.type,
        "action": event.type.rsplit(".", 1)[-1],
        "document": {
            "type": event.subject_type or event.type.split(".", 1)[0],
            "id": event.subject_id or None,
            "url": subject_url(tenant_slug=tenant_slug, subject_type=event.subject_type, subject_id=event.subject_id),
        },
    }


class _BodyCache:
    """A small LRU of rendered bodies: a fan-out to many endpoints renders each event once per process."""

    def __init__(self, size: int = 2048) -> None:
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], build: Callable[[], bytes]) -> bytes:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
                return body
        body = build()
        with self._lock:
            self._items[key] = body
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return body


_bodies = _BodyCache()


def render_body(event: AnyEvent, *, style: str, tenant_slug: str) -> bytes:
    """Return the body bytes of `event` in `style`; the same bytes every time."""

    def build() -> bytes:
        body = thin_body(event, tenant_slug=tenant_slug) if style == PayloadStyle.THIN else full_body(event)
        return orjson.dumps(body, option=orjson.OPT_UTC_Z)

    return _bodies.get((event.id, style), build)


def signing_secrets(endpoint: Endpoint, *, now_ts: float) -> list[str]:
    """Return the secrets that sign right now: the current one, then the previous during its 24 h."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires.timestamp() > now_ts:
        found.append(endpoint.previous_secret)
    return found


def request_headers(*, delivery: AnyDelivery, endpoint: Endpoint, event: AnyEvent, body: bytes) -> dict[str, str]:
    """Return every header of a delivery POST; the endpoint's own headers never override ours."""
    now_ts = time.time()  # the receiver checks this against its own clock, so always real time
    headers = {
        name: str(value)
        for name, value in (endpoint.additional_headers or {}).items()
        if name.lower() not in PROTECTED_HEADERS
        and not (name.lower() == "authorization" and (endpoint.basic_auth_username or endpoint.basic_auth_password))
    }
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Skillhub-Event": event.type,
            "webhook-sequence": str(delivery.sequence),
        }
    )
    headers.update(
        signing.signature_headers(
            secrets_=signing_secrets(endpoint, now_ts=now_ts), msg_id=event.id, timestamp=int(now_ts), body=body
        )
    )
    if endpoint.send_secret_header:
        headers["X-Webhook-Secret"] = endpoint.secret
    return headers
