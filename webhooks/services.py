"""Endpoint management of the outbound side: create, change, rotate, ping, retry and replay."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Callable

from django.db import transaction
from django.utils import timezone

from skillhub.errors import ConflictError, ValidationFailed
from skillhub.hooks import after_commit
from skillhub.ids import prefixed_floor
from tenants.models import Tenant
from webhooks import catalog, signing
from webhooks.engine import fanout, turns as flow, payloads, transport, wake
from webhooks.events import webhook_ping_data
from webhooks.outbox import check_event_data, deliveries_due
from webhooks.models import (
    Delivery,
    DeliveryState,
    Endpoint,
    PayloadStyle,
    RetryPolicyName,
)
from webhooks.selectors import MASKED

SECRET_ROTATION_OVERLAP = timedelta(hours=24)
MAX_ADDITIONAL_HEADERS = 20
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Printable ASCII without surrounding spaces: what every HTTP stack sends unchanged.
_HEADER_VALUE = re.compile(r"^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$")


# --- endpoints ---------------------------------------------------------------------------

# The endpoint rules, each field's alone: a rule returns the clean value or raises Refused(reason).
# `endpoint_clean_values` applies them all and lists every refusal at once. The API's serializer
# quotes the limits below for the OpenAPI document; the rules themselves live only here.
URL_MAX_LENGTH = 2048
TEXT_MAX_LENGTHS = {"description": 500, "basic_auth_username": 200, "basic_auth_password": 200}
MAX_IN_FLIGHT_LIMIT = flow.MAX_IN_FLIGHT_LIMIT


class Refused(ValueError):
    """A field's value breaks its rule; the message says how."""


def _clean_url(url: Any) -> str:
    if not url:
        raise Refused("must not be blank")
    if not isinstance(url, str) or len(url) > URL_MAX_LENGTH:
        raise Refused(f"must be a URL of at most {URL_MAX_LENGTH} characters")
    try:
        transport.check_target(url.strip(), fresh=True)
    except transport.TargetRefused as exc:
        raise Refused(str(exc)) from None
    return url.strip()


def _clean_events(events: Any) -> list[str]:
    events = events or []
    if not isinstance(events, list) or not all(isinstance(item, str) for item in events):
        raise Refused("must be a list of event type names")
    names: list[str] = []
    for item in events:
        try:
            name = catalog.canonical(item.strip())
        except catalog.UnknownEventType:
            raise Refused(f"unknown event type {item!r}; see GET /api/v1/event-types") from None
        if name not in names:
            names.append(name)
    return names


def _clean_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Refused("must be true or false")
    return value


def _text_rule(name: str) -> Callable[[Any], str]:
    limit = TEXT_MAX_LENGTHS[name]

    def clean(value: Any) -> str:
        value = "" if value is None else value
        if not isinstance(value, str) or len(value) > limit:
            raise Refused(f"must be text of at most {limit} characters")
        if name == "basic_auth_username" and ":" in value:
            raise Refused("must not contain ':'")
        if name.startswith("basic_auth") and not _latin1(value):
            raise Refused("must be Latin-1 text (HTTP Basic auth cannot carry other characters)")
        return value

    return clean


def _choice_rule(choices: list[str]) -> Callable[[Any], str]:
    def clean(value: Any) -> str:
        if value not in choices:
            raise Refused(f"must be one of {', '.join(choices)}")
        return str(value)

    return clean


def _clean_secret(secret: Any) -> str:
    problem = signing.secret_problem(secret)
    if problem:
        raise Refused(problem)
    return str(secret)


def _clean_headers(headers: Any) -> dict[str, str]:
    problem = _headers_problem(headers)
    if problem:
        raise Refused(problem)
    return {str(k): str(v) for k, v in (headers or {}).items()}


def _clean_max_in_flight(cap: Any) -> int | None:
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_IN_FLIGHT_LIMIT):
        raise Refused(f"must be a whole number from 1 to {MAX_IN_FLIGHT_LIMIT}, or null for the default")
    return cap


ENDPOINT_RULES: dict[str, Callable[[Any], Any]] = {
    "url": _clean_url,
    "events": _clean_events,
    "enabled": _clean_bool,
    "send_secret_header": _clean_bool,
    "description": _text_rule("description"),
    "basic_auth_username": _text_rule("basic_auth_username"),
    "basic_auth_password": _text_rule("basic_auth_password"),
    "payload_style": _choice_rule(PayloadStyle.values),
    "retry_policy": _choice_rule(RetryPolicyName.values),
    "secret": _clean_secret,
    "additional_headers": _clean_headers,
    "max_in_flight": _clean_max_in_flight,
}
ENDPOINT_FIELDS = tuple(ENDPOINT_RULES)


def _field_problem(name: str, value: Any) -> str | None:
    """The problem that keeps a field from reaching its rule: unknown, or text with NUL in it."""
    if name not in ENDPOINT_RULES:
        return "Unknown field"
    # No database stores a NUL character in text; refuse it here rather than fail there.
    if _has_nul(value):
        return "must not contain NUL characters"
    return None


def endpoint_clean_values(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate model-field values for an endpoint; raise ValidationFailed listing every problem."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if creating and not values.get("url"):
        errors["url"] = "This field is required"
    for name, value in values.items():
        problem = _field_problem(name, value)
        if problem or name in errors:
            errors.setdefault(name, problem or "")
            continue
        if name == "secret" and value in (None, ""):
            continue  # no secret given: one is generated (create) or the current one kept (change)
        try:
            clean[name] = ENDPOINT_RULES[name](value)
        except Refused as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(item) for item in value)
    return False


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _headers_problem(headers: Any) -> str | None:
    if headers is None:
        return None
    if not isinstance(headers, dict):
        return "must be an object of header names to values"
    if len(headers) > MAX_ADDITIONAL_HEADERS:
        return f"at most {MAX_ADDITIONAL_HEADERS} headers"
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            return f"invalid header name {name!r}"
        if name.lower() in payloads.PROTECTED_HEADERS:
            return f"{name} is set by skillhub and cannot be overridden"
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return f"the value of {name} must be text"
        text = str(value)
        if len(text) > 1000 or not _HEADER_VALUE.match(text):
            return f"the value of {name} must be printable ASCII on one line, at most 1000 characters, not padded"
    return None


@transaction.atomic
def endpoint_create(*, tenant: Tenant, values: dict[str, Any]) -> Endpoint:
    """Create an endpoint (a `whsec_…` secret is generated unless given); the caller shows the secret once."""
    clean = endpoint_clean_values(values, creating=True)
    clean.setdefault("secret", signing.generate_secret())
    if clean.get("enabled") is False:
        clean["deactivate_reason"] = "Created disabled"
    endpoint = Endpoint.objects.create(tenant=tenant, **clean)
    flow.ensure_slots(endpoint_id=endpoint.pk, cap=endpoint.max_in_flight or flow.default_cap())
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: Endpoint, values: dict[str, Any]) -> Endpoint:
    """Change an endpoint; turning it on clears the reason and resumes its pending deliveries."""
    headers = values.get("additional_headers")
    if isinstance(headers, dict):
        # A masked value sent back unchanged (GET, edit, PUT) keeps the stored value.
        stored = endpoint.additional_headers or {}
        values = {
            **values,
            "additional_headers": {k: stored.get(k, v) if v == MASKED else v for k, v in headers.items()},
        }
    clean = endpoint_clean_values(values, creating=False)
    if "secret" in clean and clean["secret"] != endpoint.secret:
        # A secret set by hand replaces the old one at once; rotate-secret is the overlapping way.
        endpoint.previous_secret, endpoint.previous_secret_expires_at = "", None
    re_enabling = clean.get("enabled") is True and not endpoint.enabled
    if clean.get("enabled") is False and endpoint.enabled:
        endpoint.deactivate_reason = "Disabled through the API"
    for name, value in clean.items():
        setattr(endpoint, name, value)
    if re_enabling:
        endpoint.deactivate_reason = ""
    endpoint.save()
    if "max_in_flight" in clean:
        flow.ensure_slots(endpoint_id=endpoint.pk, cap=endpoint.max_in_flight or flow.default_cap())
    if re_enabling:
        _resume_pending(endpoint=endpoint)
    return endpoint


def endpoint_enable(*, endpoint: Endpoint) -> Endpoint:
    """Re-enable an endpoint, clear its deactivate reason and resume its pending deliveries."""
    return endpoint_update(endpoint=endpoint, values={"enabled": True})


def _resume_pending(*, endpoint: Endpoint) -> int:
    """Make the endpoint's pending deliveries due now and wake as many as it has slots for."""
    now = timezone.now()
    resumed = Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).update(
        next_attempt_at=now, enqueued_at=None
    )
    _wake(endpoint_ids=[endpoint.pk], now=now)
    return resumed


def _wake(*, endpoint_ids: list[str], now: datetime) -> None:
    """After commit, send messages for these endpoints' due deliveries, as many as they have free slots."""

    def send_messages() -> None:
        ids: list[str] = []
        for endpoint_id in endpoint_ids:
            ids += wake.wake_endpoint(endpoint_id=endpoint_id, now=now)
        deliveries_due.fire(ids)

    after_commit(send_messages)


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Delete an endpoint with its deliveries and their attempts."""
    # Lock the deliveries first: a worker recording an attempt either finishes before the delete
    # gathers the attempts, or waits and then finds its delivery gone.
    list(Delivery.objects.select_for_update().filter(endpoint_id=endpoint.pk).values_list("pk", flat=True))
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: Endpoint, now: datetime | None = None) -> Endpoint:
    """Give the endpoint a new secret; the old one keeps signing beside it for 24 hours."""
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + SECRET_ROTATION_OVERLAP
    endpoint.secret = signing.generate_secret()
    endpoint.save(update_fields=["previous_secret", "previous_secret_expires_at", "secret", "updated_at"])
    return endpoint


def endpoint_ping(*, endpoint: Endpoint) -> Delivery:
    """Queue a signed `webhook.ping` to this endpoint alone and return its delivery.

    The ping goes through the delivery pipeline like any other delivery: no web request waits on
    a receiver, however slow. Its one attempt appears in the endpoint's delivery log.
    """
    data = webhook_ping_data(endpoint)
    check_event_data("webhook.ping", data)
    with transaction.atomic():
        event = fanout.insert_event(
            tenant_id=endpoint.tenant_id,
            event_type="webhook.ping",
            data=data,
            subject_type="webhook",
            subject_id=endpoint.pk,
        )
        delivery_ids = fanout.create_deliveries(event=event, endpoint_ids=[endpoint.pk], is_ping=True)
        if not delivery_ids:  # only if the endpoint was deleted meanwhile
            raise ConflictError("The endpoint changed while it was being pinged; try again")
        deliveries_due.fire_on_commit(delivery_ids)
    return Delivery.objects.get(pk=delivery_ids[0])


def endpoint_send_test(*, endpoint: Endpoint, event_type: str) -> Delivery:
    """Queue an example event of a catalog type to this endpoint alone (the console's "send a test event").

    The data is an example shaped like the real event (webhooks.samples); it is recorded as an
    event of that type and delivered through the pipeline like any other, retries included.
    """
    from webhooks.samples import sample_data

    try:
        name = catalog.canonical(event_type)
    except catalog.UnknownEventType as exc:
        raise ValidationFailed({"event_type": str(exc)}) from exc
    if not catalog.BY_NAME[name].fan_out:
        raise ValidationFailed({"event_type": f"{name} is sent by its own action, not as a test event"})
    _require_enabled(endpoint)
    data = sample_data(name)
    if "tenantId" in data:
        data["tenantId"] = str(endpoint.tenant_id)
    check_event_data(name, data)
    subject = catalog.BY_NAME[name].subject or "test"
    with transaction.atomic():
        event = fanout.insert_event(
            tenant_id=endpoint.tenant_id, event_type=name, data=data, subject_type=subject, subject_id=str(data.get("id") or "test")
        )
        delivery_ids = fanout.create_deliveries(event=event, endpoint_ids=[endpoint.pk])
        if not delivery_ids:
            raise ConflictError("The endpoint changed while the test event was queued; try again")
        deliveries_due.fire_on_commit(delivery_ids)
    return Delivery.objects.get(pk=delivery_ids[0])


# --- retry and replay ------------------------------------------------------------------


def _restart(queryset: Any, *, now: datetime) -> list[str]:
    ids = list(queryset.values_list("id", flat=True))
    restarted = Delivery.objects.filter(pk__in=ids).exclude(state=DeliveryState.SENDING)
    endpoint_ids = sorted(set(restarted.values_list("endpoint_id", flat=True)))
    restarted.update(
        state=DeliveryState.PENDING,
        attempt_count=0,
        next_attempt_at=now,
        enqueued_at=None,
        claimed_until=None,
        claim_token="",
    )
    if endpoint_ids:
        _wake(endpoint_ids=endpoint_ids, now=now)
    return ids


def _require_enabled(endpoint: Endpoint) -> None:
    if not endpoint.enabled:
        raise ConflictError("The endpoint is disabled; re-enable it first", field="enabled", reason="endpoint disabled")


@transaction.atomic
def delivery_retry(*, delivery: Delivery, now: datetime | None = None) -> Delivery:
    """Send one delivery again from the start of its schedule (same webhook-id)."""
    if delivery.is_ping:
        raise ConflictError("A ping is not retried; ping the endpoint again")
    if delivery.state == DeliveryState.SENDING:
        raise ConflictError("The delivery is being sent right now")
    _require_enabled(delivery.endpoint)
    _restart(Delivery.objects.filter(pk=delivery.pk), now=now or timezone.now())
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def endpoint_replay(
    *, endpoint: Endpoint, since: datetime, event_types: list[str] | None = None, now: datetime | None = None
) -> int:
    """Send again every failed delivery of the endpoint created since `since` (optionally of some types)."""
    _require_enabled(endpoint)
    # The id bound keeps the scan to the endpoint's deliveries since then (ids are time-ordered).
    failed = Delivery.objects.filter(
        endpoint=endpoint,
        id__gte=prefixed_floor("dlv", since - timedelta(seconds=1)),
        state=DeliveryState.FAILED,
        is_ping=False,
        created_at__gte=since,
    )
    if event_types:
        try:
            names = [catalog.canonical(name) for name in event_types]
        except catalog.UnknownEventType as exc:
            raise ValidationFailed({"event_types": str(exc)}) from exc
        failed = failed.filter(event_type__in=names)
    return len(_restart(failed, now=now or timezone.now()))
