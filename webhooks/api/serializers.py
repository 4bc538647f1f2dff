"""What the webhook API reads and writes: endpoint input (JSON or form fields, the contract's names or document
001's), replay input, and the documented output shapes."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from skillhub.api.serializers import StrictSerializer
from skillhub.errors import ValidationFailed
from webhooks import services
from webhooks.models import PayloadStyle, RetryPolicyName

# API name → service (model-field) name.
MODEL_FIELDS = {
    "url": "url",
    "events": "events",
    "enabled": "enabled",
    "description": "description",
    "secret": "secret",
    "basicAuthUsername": "basic_auth_username",
    "basicAuthPassword": "basic_auth_password",
    "additionalHeaders": "additional_headers",
    "payloadStyle": "payload_style",
    "retryPolicy": "retry_policy",
    "sendSecretHeader": "send_secret_header",
    "maxInFlight": "max_in_flight",
}
API_NAMES = {model: api for api, model in MODEL_FIELDS.items()}
# Other accepted input names: aliases and document 001's snake_case names.
ALIASES = {
    "targetUrl": "url",
    "target_url": "url",
    "eventTypes": "events",
    "eventType": "events",
    "event_type": "events",
    "active": "enabled",
    **{model: api for api, model in MODEL_FIELDS.items() if model != api},
}
# Output-only fields a client may send back unchanged (GET, edit, PUT); they are ignored.
READ_ONLY = {
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


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class EventTypesField(serializers.Field):
    """Event type names: a list, or one text of names separated by commas or spaces; blank means every event."""

    def to_internal_value(self, data: Any) -> list[str]:
        if data is None or data == "":
            return []  # document 001: a blank event_type means every event
        items = [data] if isinstance(data, str) else data
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise serializers.ValidationError("must be a list of event type names")
        return [part for item in items for part in item.replace(",", " ").split()]

    def to_representation(self, value: Any) -> list[str]:
        return list(value)


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class HeadersField(serializers.Field):
    """Header names to values: an object, or (form fields) its JSON text."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError as exc:
                raise serializers.ValidationError("must be a JSON object of header names to values") from exc
        return data  # names and values are checked by the service

    def to_representation(self, value: Any) -> Any:
        return value


class EndpointInput(StrictSerializer):
    """An endpoint as created or changed; the first contract's names (`target_url`, `active`, `event_type`) also work.

    Use `partial=True` for changes: PUT and PATCH both change only the fields given. The fields say
    the types, and quote the service's limits (`webhooks.services`) for the OpenAPI document; the
    rules themselves are the service's (`endpoint_clean_values`), run here so one answer lists every
    invalid field.
    """

    url = serializers.CharField(max_length=services.URL_MAX_LENGTH, help_text="https URL of a public host (alias targetUrl, target_url)")
    events = EventTypesField(required=False, help_text="Empty = every event; aliases such as COURSE_ENROLLMENT accepted")
    enabled = serializers.BooleanField(required=False, help_text="alias active")
    description = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=services.TEXT_MAX_LENGTHS["description"]
    )
    secret = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="whsec_… (generated when not given)"
    )
    basicAuthUsername = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=services.TEXT_MAX_LENGTHS["basic_auth_username"]
    )
    basicAuthPassword = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=services.TEXT_MAX_LENGTHS["basic_auth_password"]
    )
    additionalHeaders = HeadersField(required=False, allow_null=True)
    payloadStyle = serializers.ChoiceField(choices=PayloadStyle.values, required=False)
    retryPolicy = serializers.ChoiceField(choices=RetryPolicyName.values, required=False)
    sendSecretHeader = serializers.BooleanField(required=False)
    maxInFlight = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=services.MAX_IN_FLIGHT_LIMIT,
        help_text="deliveries in flight at once (null: the platform default, 4); alias max_in_flight",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        named = self._named(data)
        problems: dict[str, Any] = {}
        try:
            typed = super().to_internal_value(named)
        except serializers.ValidationError as exc:
            problems = dict(exc.detail) if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            typed = self._valid_fields(named, skip=problems)
        # The service's rules (a public https target, known event types, header names, secrets) on
        # whatever is well-typed, so one answer lists every invalid field.
        try:
            services.endpoint_clean_values(
                {MODEL_FIELDS[name]: value for name, value in typed.items()}, creating=not self.partial and "url" not in problems
            )
        except ValidationFailed as exc:
            for field, reason in exc.errors.items():
                problems.setdefault(API_NAMES.get(field, field), [reason])
        if problems:
            raise serializers.ValidationError(problems)
        return typed

    def _named(self, data: Any) -> dict[str, Any]:
        """The input under the API's field names (aliases resolved, read-only fields dropped); unknown fields refused."""
        if not isinstance(data, dict) and not hasattr(data, "getlist"):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object or form fields"]})
        named: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for name in data:
            if name in READ_ONLY:
                continue
            field = ALIASES.get(name, name)
            # Form fields: repeated event names are a list; any other field takes its last value.
            value = data.getlist(name) if hasattr(data, "getlist") and field == "events" else data[name]
            if field in named and named[field] != value:
                errors[field] = [f"given twice with different values ({name})"]
            named[field] = value
        unknown = sorted(set(named) - set(self.fields))
        if errors or unknown:  # unknown fields are refused before anything else is looked at
            raise serializers.ValidationError({**errors, **{name: ["Unknown field"] for name in unknown}})
        return named

    def _valid_fields(self, named: dict[str, Any], *, skip: dict[str, Any]) -> dict[str, Any]:
        typed = {}
        for name, value in named.items():
            if name not in skip:
                try:
                    typed[name] = self.fields[name].run_validation(value)
                except serializers.ValidationError:
                    continue
        return typed

    def model_values(self) -> dict[str, Any]:
        """The validated input as the service's model-field values."""
        return {MODEL_FIELDS[name]: value for name, value in self.validated_data.items()}


class EndpointFormInput(EndpointInput):
    """An endpoint created from form fields (document 001): repeat `events` for several, `additionalHeaders` as JSON text.

    The same fields as the JSON body; a component of its own so client generators tell the two bodies apart.
    """


class ReplayInput(StrictSerializer):
    since = serializers.DateTimeField(help_text="Re-send failed deliveries created at or after this time")
    eventTypes = serializers.ListField(child=serializers.CharField(), required=False, allow_empty=True)


class EndpointFlowOutput(serializers.Serializer):
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


class EndpointOutput(serializers.Serializer):
    """An endpoint as the API shows it; `secret` only in the answers of create and rotate-secret."""

    id = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    deactivateReason = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_blank=True)
    payloadStyle = serializers.ChoiceField(choices=PayloadStyle.values)
    retryPolicy = serializers.ChoiceField(choices=RetryPolicyName.values)
    sendSecretHeader = serializers.BooleanField()
    basicAuthUsername = serializers.CharField(allow_null=True)
    basicAuthPasswordSet = serializers.BooleanField()
    additionalHeaders = serializers.DictField(child=serializers.CharField(), help_text="values masked")
    secretRotationEndsAt = serializers.DateTimeField(allow_null=True)
    lastSequence = serializers.IntegerField()
    maxInFlight = serializers.IntegerField(help_text="deliveries in flight at once (the endpoint's or the default)")
    flow = EndpointFlowOutput()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    secret = serializers.CharField(required=False)


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField(help_text="1 for the delivery's first attempt, counting every retry and replay after it")
    at = serializers.DateTimeField()
    succeeded = serializers.BooleanField()
    statusCode = serializers.IntegerField(allow_null=True)
    durationMs = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    responseBody = serializers.CharField(allow_blank=True, help_text="first 4 KiB")


class DeliveryOutput(serializers.Serializer):
    id = serializers.CharField()
    endpointId = serializers.CharField()
    eventId = serializers.CharField()
    eventType = serializers.CharField()
    sequence = serializers.IntegerField()
    # A plain string: a second "status" enum would collide with the learners' in the OpenAPI components.
    status = serializers.CharField(help_text="pending | sending | succeeded | failed")
    attemptCount = serializers.IntegerField(help_text="every attempt made so far, retries and replays included")
    nextAttemptAt = serializers.DateTimeField(allow_null=True)
    lastStatusCode = serializers.IntegerField(allow_null=True)
    lastError = serializers.CharField(allow_null=True)
    deliveredAt = serializers.DateTimeField(allow_null=True)
    isPing = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    attempts = AttemptOutput(many=True)


class ReplayOutput(serializers.Serializer):
    replayed = serializers.IntegerField()
