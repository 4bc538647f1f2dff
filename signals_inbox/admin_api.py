"""The admin API (`/api/v1/admin/tenants/{slug}/…`): console session or staff token, never API keys."""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from signals_inbox.models import StaffToken
from signals_inbox.selectors import signal_map_json
from signals_inbox.services import signal_map_preview, signal_map_put
from skillhub.errors import ValidationFailed
from signals_inbox.verification import refusal_counts
from skillhub.api.serializers import StrictSerializer
from tenants.models import Tenant
from tenants.selectors import tenant_get_by_slug, user_acts_for, user_administers

STAFF_TOKEN_PREFIX = "sht_"


def hash_staff_token(raw: str) -> str:
    """Return the stored form of a staff token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def staff_token_create(*, user: Any, name: str) -> tuple[StaffToken, str]:
    """Create a staff token for a staff user; the raw token is returned once and never stored."""
    if not user.is_staff:
        raise ValueError("staff tokens are only for staff users")
    raw = STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = StaffToken.objects.create(user=user, name=name[:200], prefix=raw[:12], key_hash=hash_staff_token(raw))
    return token, raw


class ConsoleSessionAuthentication(SessionAuthentication):
    """A logged-in console (Django admin) session of a staff user; CSRF-checked for writes."""

    def authenticate(self, request: Request):  # noqa: ANN201
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result


class StaffTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer sht_…`, a token acting as one active staff user."""

    def authenticate(self, request: Request):  # noqa: ANN201
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer" or len(header) != 2:
            return None
        raw = header[1].decode("ascii", "replace")
        if not raw.startswith(STAFF_TOKEN_PREFIX):
            raise AuthenticationFailed("The admin API takes a console session or a staff token, not an API key")
        token = StaffToken.objects.select_related("user").filter(key_hash=hash_staff_token(raw), revoked_at__isnull=True).first()
        if token is None or not token.user.is_active or not token.user.is_staff:
            raise AuthenticationFailed("Unknown or revoked staff token")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="admin"'


class StaffTokenScheme(OpenApiAuthenticationExtension):
    """Describe the staff token in the OpenAPI spec."""

    target_class = "signals_inbox.admin_api.StaffTokenAuthentication"
    name = "StaffToken"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {"type": "http", "scheme": "bearer", "description": "An sht_… staff token (admin API only)"}


class ConsoleSessionScheme(OpenApiAuthenticationExtension):
    """Describe the console session in the OpenAPI spec."""

    target_class = "signals_inbox.admin_api.ConsoleSessionAuthentication"
    name = "ConsoleSession"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "A staff console session (CSRF token for writes)"}


class IsStaff(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and getattr(request.user, "is_staff", False))


class TenantAdminApiView(APIView):
    """An admin API view for one tenant the caller administers; other tenants are "not found"."""

    authentication_classes = [StaffTokenAuthentication, ConsoleSessionAuthentication]
    permission_classes = [IsStaff]
    tenant: Tenant

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        tenant = tenant_get_by_slug(slug=kwargs.get("slug", ""))
        if tenant is None or not user_administers(user=request.user, tenant=tenant):
            raise Http404
        self.tenant = tenant

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> None:
        raise NotAuthenticated("A console session or staff token of a staff user is required")

    def actor(self, request: Request) -> str:
        via = "token" if isinstance(request.auth, StaffToken) else "session"
        return f"user:{request.user.get_username()} ({via})"[:200]


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

    @extend_schema(operation_id="admin_signal_map_read", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, slug: str) -> Response:
        return Response({**signal_map_json(tenant=self.tenant), "refusedLast24h": refusal_counts(slug=self.tenant.slug)})

    @extend_schema(operation_id="admin_signal_map_replace", request=SignalMapInput, responses={200: OpenApiTypes.OBJECT})
    def put(self, request: Request, slug: str) -> Response:
        if not user_acts_for(user=request.user, tenant=self.tenant):
            raise PermissionDenied("A console viewer reads the signal map; changing it takes the admin role")
        data = SignalMapInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        signal_map_put(
            tenant=self.tenant,
            actor=self.actor(request),
            mapping=values["map"],
            auto_author=values["autoAuthor"],
            auto_author_threshold=values.get("autoAuthorThreshold"),
            authoring_quota_monthly=values.get("authoringQuotaMonthly"),
        )
        return Response(signal_map_json(tenant=self.tenant))


class SignalMapPreviewApi(TenantAdminApiView):
    """Dry run: what a sample signal would become (topic, worker or cohort, course or author, dedupe key); stores nothing."""

    @extend_schema(operation_id="admin_signal_map_preview", request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
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
