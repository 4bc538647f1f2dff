"""Webhook management endpoints and the public event catalog: thin views that parse, call and answer."""

from __future__ import annotations

import json
from datetime import timezone as dt_timezone
from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from skillhub.api.pagination import (
    PAGE_OPENAPI_PARAMETERS,
    PageRequest,
    paginate,
    paginate_sequence,
    paginated_schema,
    parse_page_request,
)
from skillhub.api.views import TenantApiView
from webhooks.docs import catalog_table
from webhooks.openapi import EVENT_TYPE_SCHEMA
from skillhub.errors import ValidationFailed
from webhooks import catalog, selectors, services
from webhooks.models import DeliveryState, Endpoint, PayloadStyle, RetryPolicyName

# Every accepted input name → model field: SPEC camelCase, its aliases, and document 001's names.
_INPUT_NAMES = {
    "url": "url",
    "targetUrl": "url",
    "target_url": "url",
    "events": "events",
    "eventTypes": "events",
    "eventType": "events",
    "event_type": "events",
    "enabled": "enabled",
    "active": "enabled",
    "description": "description",
    "secret": "secret",
    "basicAuthUsername": "basic_auth_username",
    "basic_auth_username": "basic_auth_username",
    "basicAuthPassword": "basic_auth_password",
    "basic_auth_password": "basic_auth_password",
    "additionalHeaders": "additional_headers",
    "additional_headers": "additional_headers",
    "payloadStyle": "payload_style",
    "payload_style": "payload_style",
    "retryPolicy": "retry_policy",
    "retry_policy": "retry_policy",
    "sendSecretHeader": "send_secret_header",
    "send_secret_header": "send_secret_header",
    "maxInFlight": "max_in_flight",
    "max_in_flight": "max_in_flight",
}
# Output-only fields a client may send back unchanged (GET, edit, PUT); they are ignored.
_READ_ONLY = {
    "id",
    "deactivateReason",
    "deactivate_reason",
    "createdAt",
    "updatedAt",
    "lastSequence",
    "basicAuthPasswordSet",
    "secretRotationEndsAt",
    "flow",
}
_CAMEL = {
    "url": "url",
    "events": "events",
    "enabled": "enabled",
    "description": "description",
    "secret": "secret",
    "basic_auth_username": "basicAuthUsername",
    "basic_auth_password": "basicAuthPassword",
    "additional_headers": "additionalHeaders",
    "payload_style": "payloadStyle",
    "retry_policy": "retryPolicy",
    "send_secret_header": "sendSecretHeader",
    "max_in_flight": "maxInFlight",
}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _values(data: Any, name: str) -> list[Any]:
    if hasattr(data, "getlist"):  # form-encoded: repeated keys are a list
        return data.getlist(name)
    return [data[name]]


def _parse_bool(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return value


def _parse_events(raw: list[Any]) -> Any:
    if len(raw) == 1 and isinstance(raw[0], list):
        return raw[0]
    if len(raw) == 1 and (raw[0] is None or raw[0] == ""):
        return []  # document 001: a blank event_type means every event
    if all(isinstance(item, str) for item in raw):
        return [part for item in raw for part in item.replace(",", " ").split()]
    return raw[0] if len(raw) == 1 else raw


def endpoint_input(data: Any) -> dict[str, Any]:
    """Turn a JSON or form-encoded endpoint body into model-field values; raise ValidationFailed."""
    if not isinstance(data, dict) and not hasattr(data, "getlist"):
        raise ValidationFailed({"body": "Expected a JSON object or form fields"})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in data:
        if name in _READ_ONLY:
            continue
        field = _INPUT_NAMES.get(name)
        if field is None:
            errors[name] = "Unknown field"
            continue
        raw = _values(data, name)
        if field == "events":
            value = _parse_events(raw)
        else:
            value = raw[-1]
            if field in ("enabled", "send_secret_header"):
                value = _parse_bool(value)
            elif field == "max_in_flight" and isinstance(value, str):
                value = int(value) if value.strip().isdigit() else (None if not value.strip() else value)
            elif field == "additional_headers" and isinstance(value, str):
                try:
                    value = json.loads(value) if value.strip() else {}
                except ValueError:
                    errors[_CAMEL[field]] = "must be a JSON object of header names to values"
                    continue
        if field in values and values[field] != value:
            errors[_CAMEL[field]] = f"given twice with different values ({name})"
            continue
        values[field] = value
    if errors:
        raise ValidationFailed(errors)
    return values


def _page_request(params: Any, id_prefix: str) -> PageRequest:
    """Read the page parameters; a cursor must carry one of this resource's ids (a forged one is a 400)."""
    page_request = parse_page_request(params)
    if page_request.after is not None and not selectors.is_id(page_request.after, id_prefix):
        raise ValidationFailed({"cursor": "Invalid cursor; use the nextCursor of a previous page"})
    return page_request


def _services_errors(exc: ValidationFailed) -> ValidationFailed:
    """Rename service (model-field) error keys to the API's camelCase names."""
    return ValidationFailed({_CAMEL.get(k, k): v for k, v in exc.errors.items()})


# --- OpenAPI documentation of the shapes -------------------------------------------------


class EndpointInputSerializer(serializers.Serializer):
    """An endpoint as created or changed; document 001 names (`target_url`, `active`, `event_type`) also work."""

    url = serializers.URLField(help_text="https URL of a public host (alias targetUrl, target_url)")
    events = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Empty = every event; aliases such as COURSE_ENROLLMENT accepted",
    )
    enabled = serializers.BooleanField(required=False, default=True, help_text="alias active")
    description = serializers.CharField(required=False, allow_blank=True)
    secret = serializers.CharField(required=False, help_text="whsec_… (generated when not given)")
    basicAuthUsername = serializers.CharField(required=False, allow_blank=True)
    basicAuthPassword = serializers.CharField(required=False, allow_blank=True)
    additionalHeaders = serializers.DictField(child=serializers.CharField(), required=False)
    payloadStyle = serializers.ChoiceField(choices=PayloadStyle.values, required=False, default="full")
    retryPolicy = serializers.ChoiceField(choices=RetryPolicyName.values, required=False, default="standard")
    sendSecretHeader = serializers.BooleanField(required=False, default=False)
    maxInFlight = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=64,
        help_text="deliveries in flight at once (null: the platform default, 4)",
    )


class EndpointFlowSerializer(serializers.Serializer):
    """How the endpoint's deliveries are moving, and whether (and why) they are held back."""

    inFlight = serializers.IntegerField(help_text="deliveries being sent now")
    waiting = serializers.IntegerField(help_text="due deliveries not started yet (counted up to 10,000)")
    consecutiveFailures = serializers.IntegerField(help_text="attempts in a row without an answer")
    circuit = serializers.ChoiceField(
        choices=["closed", "open", "probing"],
        help_text="open: deliveries wait for the next probe; probing: one delivery at a time until an answer",
    )
    nextProbeAt = serializers.DateTimeField(allow_null=True)
    heldBack = serializers.BooleanField()
    heldBackReason = serializers.ChoiceField(
        choices=["disabled", "circuit_open", "probing", "at_capacity"], allow_null=True
    )
    heldBackMessage = serializers.CharField(allow_null=True)


class EndpointOutputSerializer(serializers.Serializer):
    """An endpoint as the API shows it; `secret` only in the answers of create and rotate-secret."""

    id = serializers.CharField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    deactivateReason = serializers.CharField(allow_null=True)
    description = serializers.CharField()
    payloadStyle = serializers.ChoiceField(choices=PayloadStyle.values)
    retryPolicy = serializers.ChoiceField(choices=RetryPolicyName.values)
    sendSecretHeader = serializers.BooleanField()
    basicAuthUsername = serializers.CharField(allow_null=True)
    basicAuthPasswordSet = serializers.BooleanField()
    additionalHeaders = serializers.DictField(child=serializers.CharField(), help_text="values masked")
    secretRotationEndsAt = serializers.DateTimeField(allow_null=True)
    lastSequence = serializers.IntegerField()
    maxInFlight = serializers.IntegerField(help_text="deliveries in flight at once (the endpoint's or the default)")
    flow = EndpointFlowSerializer()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    secret = serializers.CharField(required=False)


class AttemptOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    at = serializers.DateTimeField()
    succeeded = serializers.BooleanField()
    statusCode = serializers.IntegerField(allow_null=True)
    durationMs = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    responseBody = serializers.CharField(help_text="first 4 KiB")


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    endpointId = serializers.CharField()
    eventId = serializers.CharField()
    eventType = serializers.CharField()
    sequence = serializers.IntegerField()
    # A plain string: a second "status" enum would collide with the learners' in the OpenAPI components.
    status = serializers.CharField(help_text="pending | sending | succeeded | failed")
    attemptCount = serializers.IntegerField()
    nextAttemptAt = serializers.DateTimeField(allow_null=True)
    lastStatusCode = serializers.IntegerField(allow_null=True)
    lastError = serializers.CharField(allow_null=True)
    deliveredAt = serializers.DateTimeField(allow_null=True)
    isPing = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    attempts = AttemptOutputSerializer(many=True)


class ReplayInputSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Re-send failed deliveries created at or after this time")
    eventTypes = serializers.ListField(child=serializers.CharField(), required=False, allow_empty=True)


class ReplayOutputSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()


# --- views ------------------------------------------------------------------------------


class _EndpointApi(TenantApiView):
    scope = "webhooks"

    def _endpoint(self, endpoint_id: str) -> Endpoint:
        endpoint = selectors.endpoint_get(tenant=self.tenant, endpoint_id=endpoint_id)
        if endpoint is None:
            raise Http404
        return endpoint


class EndpointListCreateApi(_EndpointApi):
    """List the tenant's webhook endpoints, or create one."""

    @extend_schema(
        operation_id="webhooks_list",
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/EndpointOutput"}})},
    )
    def get(self, request: Request, slug: str) -> Response:
        page = paginate(selectors.endpoint_queryset(tenant=self.tenant), _page_request(request.query_params, "we"))
        flows = selectors.endpoint_flows(tenant=self.tenant, endpoints=list(page.rows))
        return Response(
            page.body([selectors.endpoint_json(endpoint, flow_state=flows[endpoint.pk]) for endpoint in page.rows])
        )

    @extend_schema(
        operation_id="webhooks_create", request=EndpointInputSerializer, responses={201: EndpointOutputSerializer}
    )
    def post(self, request: Request, slug: str) -> Response:
        try:
            endpoint = services.endpoint_create(tenant=self.tenant, values=endpoint_input(request.data))
        except ValidationFailed as exc:
            raise _services_errors(exc) from exc
        return Response(selectors.endpoint_json(endpoint, with_secret=True), status=status.HTTP_201_CREATED)


class EndpointDetailApi(_EndpointApi):
    """Read, change (PUT and PATCH both change only the fields given) or delete an endpoint."""

    @extend_schema(operation_id="webhooks_read", responses={200: EndpointOutputSerializer})
    def get(self, request: Request, slug: str, endpoint_id: str) -> Response:
        return Response(selectors.endpoint_json(self._endpoint(endpoint_id)))

    def _update(self, request: Request, endpoint_id: str) -> Response:
        endpoint = self._endpoint(endpoint_id)
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, values=endpoint_input(request.data))
        except ValidationFailed as exc:
            raise _services_errors(exc) from exc
        return Response(selectors.endpoint_json(endpoint))

    @extend_schema(
        operation_id="webhooks_update", request=EndpointInputSerializer, responses={200: EndpointOutputSerializer}
    )
    def put(self, request: Request, slug: str, endpoint_id: str) -> Response:
        return self._update(request, endpoint_id)

    @extend_schema(
        operation_id="webhooks_partial_update",
        request=EndpointInputSerializer,
        responses={200: EndpointOutputSerializer},
    )
    def patch(self, request: Request, slug: str, endpoint_id: str) -> Response:
        return self._update(request, endpoint_id)

    @extend_schema(operation_id="webhooks_delete", responses={204: None})
    def delete(self, request: Request, slug: str, endpoint_id: str) -> Response:
        services.endpoint_delete(endpoint=self._endpoint(endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointPingApi(_EndpointApi):
    """Send a signed `webhook.ping` to the endpoint now and answer with the attempt's outcome."""

    @extend_schema(operation_id="webhooks_ping", request=None, responses={200: AttemptOutputSerializer})
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        attempt = services.endpoint_ping(endpoint=self._endpoint(endpoint_id))
        return Response({**selectors.attempt_json(attempt), "deliveryId": attempt.delivery_id})


class EndpointRotateSecretApi(_EndpointApi):
    """Issue a new secret; old and new both sign for 24 hours. The only other time the secret is shown."""

    @extend_schema(operation_id="webhooks_rotate_secret", request=None, responses={200: EndpointOutputSerializer})
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        endpoint = services.endpoint_rotate_secret(endpoint=self._endpoint(endpoint_id))
        return Response(selectors.endpoint_json(endpoint, with_secret=True))


class EndpointDeliveriesApi(_EndpointApi):
    """List an endpoint's deliveries, each with its attempts and `nextAttemptAt`."""

    @extend_schema(
        operation_id="webhooks_deliveries",
        parameters=[
            OpenApiParameter("status", str, enum=DeliveryState.values),
            OpenApiParameter("eventType", str),
            *PAGE_OPENAPI_PARAMETERS,
        ],
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/DeliveryOutput"}})},
    )
    def get(self, request: Request, slug: str, endpoint_id: str) -> Response:
        endpoint = self._endpoint(endpoint_id)
        params = request.query_params
        state = params.get("status") or None
        if state is not None and state not in DeliveryState.values:
            raise ValidationFailed({"status": f"must be one of {', '.join(DeliveryState.values)}"})
        event_type = params.get("eventType") or None
        if event_type is not None:
            try:
                event_type = catalog.canonical(event_type)
            except catalog.UnknownEventType as exc:
                raise ValidationFailed({"eventType": str(exc)}) from exc
        queryset = selectors.delivery_queryset(
            tenant=self.tenant, endpoint=endpoint, state=state, event_type=event_type
        )
        page = paginate(queryset, _page_request(params, "dlv"))
        attempts = selectors.attempts_by_delivery(delivery_ids=[row.pk for row in page.rows])
        return Response(page.body([selectors.delivery_json(row, attempts.get(row.pk)) for row in page.rows]))


class EndpointReplayApi(_EndpointApi):
    """Re-send the endpoint's failed deliveries created since a time, optionally only some event types."""

    @extend_schema(
        operation_id="webhooks_replay", request=ReplayInputSerializer, responses={202: ReplayOutputSerializer}
    )
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        endpoint = self._endpoint(endpoint_id)
        data = request.data
        if not isinstance(data, dict) and not hasattr(data, "getlist"):
            raise ValidationFailed({"body": "Expected a JSON object or form fields"})
        raw_since = data.get("since")
        try:
            since = parse_datetime(raw_since.strip()) if isinstance(raw_since, str) else None
        except ValueError:
            since = None
        if since is None:
            raise ValidationFailed({"since": "required, an ISO 8601 date-time"})
        if timezone.is_naive(since):
            since = timezone.make_aware(since, dt_timezone.utc)
        raw_types = data.getlist("eventTypes") if hasattr(data, "getlist") else data.get("eventTypes")
        if raw_types is not None and not (isinstance(raw_types, list) and all(isinstance(t, str) for t in raw_types)):
            raise ValidationFailed({"eventTypes": "must be a list of event type names"})
        try:
            replayed = services.endpoint_replay(endpoint=endpoint, since=since, event_types=raw_types or None)
        except ValidationFailed as exc:
            raise ValidationFailed({"eventTypes": next(iter(exc.errors.values()))}) from exc
        return Response({"replayed": replayed}, status=status.HTTP_202_ACCEPTED)


class DeliveryDetailApi(TenantApiView):
    """Read one delivery with its attempts."""

    scope = "webhooks"

    @extend_schema(operation_id="webhooks_delivery_read", responses={200: DeliveryOutputSerializer})
    def get(self, request: Request, slug: str, delivery_id: str) -> Response:
        delivery = selectors.delivery_get(tenant=self.tenant, delivery_id=delivery_id)
        if delivery is None:
            raise Http404
        attempts = selectors.attempts_by_delivery(delivery_ids=[delivery.pk])
        return Response(selectors.delivery_json(delivery, attempts.get(delivery.pk)))


class DeliveryRetryApi(TenantApiView):
    """Send one delivery again from the start of its schedule (same `webhook-id`)."""

    scope = "webhooks"

    @extend_schema(operation_id="webhooks_delivery_retry", request=None, responses={202: DeliveryOutputSerializer})
    def post(self, request: Request, slug: str, delivery_id: str) -> Response:
        delivery = selectors.delivery_get(tenant=self.tenant, delivery_id=delivery_id)
        if delivery is None:
            raise Http404
        delivery = services.delivery_retry(delivery=delivery)
        attempts = selectors.attempts_by_delivery(delivery_ids=[delivery.pk])
        return Response(selectors.delivery_json(delivery, attempts.get(delivery.pk)), status=status.HTTP_202_ACCEPTED)


class EventTypeListApi(APIView):
    """The public event catalog."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="event_types_list",
        description="Every event type skillhub sends, with the JSON Schema of its `data`.\n\n" + catalog_table(),
        auth=[],
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": EVENT_TYPE_SCHEMA})},
    )
    def get(self, request: Request) -> Response:
        page = paginate_sequence(catalog.EVENT_TYPES, parse_page_request(request.query_params), key=lambda item: item.name)
        return Response(page.body([item.as_json() for item in page.rows]))
