"""The signal inbox's admin API (`/api/v1/admin/tenants/{slug}/signal-map…`, `…/signal-signing`): console session or staff token."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from signals_inbox.selectors import signal_map_json, signal_signing_json
from signals_inbox.serializers import SignalMapOutput, SignalMapPreviewOutput, SignalMapReadOutput, SignalSigningOutput
from signals_inbox.services import signal_map_preview, signal_map_put, signal_signing_put
from signals_inbox.verification import refusal_counts
from skillhub.api.serializers import StrictSerializer
from skillhub.errors import ValidationFailed
from tenants import audit
from tenants.api.views import TenantAdminApiView
from tenants.selectors import user_acts_for

class SignalMapInput(StrictSerializer):
    map = serializers.DictField(child=serializers.JSONField(), allow_empty=True)
    autoAuthor = serializers.BooleanField(required=False, default=False)
    autoAuthorThreshold = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    authoringQuotaMonthly = serializers.IntegerField(required=False, min_value=0, max_value=10_000)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object"]})
        if "autoAuthor" in data and not isinstance(data["autoAuthor"], bool):
            raise serializers.ValidationError({"autoAuthor": ["Must be true or false"]})
        return super().to_internal_value(data)


class SignalMapApi(TenantAdminApiView):
    """Read or replace the tenant's signal map and auto-author settings."""

    @extend_schema(operation_id="admin_signal_map_read", responses={200: SignalMapReadOutput})
    def get(self, request: Request, slug: str) -> Response:
        return Response({**signal_map_json(tenant=self.tenant), "refusedLast24h": refusal_counts(slug=self.tenant.slug)})

    @extend_schema(operation_id="admin_signal_map_replace", request=SignalMapInput, responses={200: SignalMapOutput})
    def put(self, request: Request, slug: str) -> Response:
        if not user_acts_for(user=request.user, tenant=self.tenant):
            raise PermissionDenied("A console viewer reads the signal map; changing it takes the admin role")
        data = SignalMapInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        signal_map_put(
            tenant=self.tenant,
            actor=audit.current_label(),
            mapping=values["map"],
            auto_author=values["autoAuthor"],
            auto_author_threshold=values.get("autoAuthorThreshold"),
            authoring_quota_monthly=values.get("authoringQuotaMonthly"),
        )
        return Response(signal_map_json(tenant=self.tenant))


class SignalMapPreviewApi(TenantAdminApiView):
    """Dry run: what a sample signal would become (topic, worker or cohort, course or author, dedupe key); stores nothing."""

    @extend_schema(operation_id="admin_signal_map_preview", request=OpenApiTypes.OBJECT, responses={200: SignalMapPreviewOutput})
    def post(self, request: Request, slug: str) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object: a signal, or {signal, map}"]})
        sample = body.get("signal", body) if "signal" in body else body
        mapping = body["map"] if "map" in body and "event" not in body else None
        try:
            return Response(signal_map_preview(tenant=self.tenant, sample=sample, mapping=mapping))
        except ValidationFailed as exc:
            raise serializers.ValidationError({field: [reason] for field, reason in exc.errors.items()}) from exc


class SignalSigningInput(StrictSerializer):
    requireTimestampedSignatures = serializers.BooleanField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object"]})
        if "requireTimestampedSignatures" in data and not isinstance(data["requireTimestampedSignatures"], bool):
            raise serializers.ValidationError({"requireTimestampedSignatures": ["Must be true or false"]})
        return super().to_internal_value(data)


class SignalSigningApi(TenantAdminApiView):
    """Read the tenant's signal-signing settings, or require (or stop requiring) timestamped signatures."""

    @extend_schema(operation_id="admin_signal_signing_read", responses={200: SignalSigningOutput})
    def get(self, request: Request, slug: str) -> Response:
        return Response(signal_signing_json(tenant=self.tenant))

    @extend_schema(operation_id="admin_signal_signing_replace", request=SignalSigningInput, responses={200: SignalSigningOutput})
    def put(self, request: Request, slug: str) -> Response:
        if not user_acts_for(user=request.user, tenant=self.tenant):
            raise PermissionDenied("A console viewer reads the signing settings; changing them takes the admin role")
        data = SignalSigningInput(data=request.data)
        data.is_valid(raise_exception=True)
        signal_signing_put(
            tenant=self.tenant,
            actor=audit.current_label(),
            require_timestamped_signatures=data.validated_data["requireTimestampedSignatures"],
        )
        return Response(signal_signing_json(tenant=self.tenant))
