"""API keys over the API: list, issue (no more rights than the caller's key), rotate with an overlap, revoke."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, page_serializer, paginate, parse_page_request
from skillhub.api.serializers import StrictSerializer
from tenants.api.views import TenantApiView
from tenants.models import SCOPES, ApiKey, Role
from tenants.selectors import api_key_get, api_key_queryset
from tenants.services import api_key_check_delegation, api_key_issue, api_key_revoke, api_key_rotate


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class ApiKeyOutput(serializers.Serializer):
    """An API key as listed: never its secret, which is shown once on create and on rotate."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.values)
    scopes = serializers.ListField(child=serializers.CharField())
    prefix = serializers.CharField(help_text="The first 12 characters of the current secret")
    previousPrefix = serializers.CharField(allow_null=True, help_text="The secret a rotation replaced, while it still works")
    previousValidUntil = serializers.DateTimeField(allow_null=True)
    rotatedAt = serializers.DateTimeField(allow_null=True)
    expiresAt = serializers.DateTimeField(allow_null=True)
    revokedAt = serializers.DateTimeField(allow_null=True)
    lastUsedAt = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField()


class IssuedApiKeyOutput(ApiKeyOutput):
    key = serializers.CharField(help_text="The secret (`shk_…`), shown only in this answer")


def api_key_json(api_key: ApiKey, *, raw_key: str | None = None) -> dict[str, Any]:
    overlapping = api_key.previous_valid_until is not None and api_key.previous_valid_until > timezone.now()
    body = {
        "id": str(api_key.pk),
        "name": api_key.name,
        "role": api_key.role,
        "scopes": list(api_key.scopes or []),
        "prefix": api_key.prefix,
        "previousPrefix": api_key.previous_prefix if overlapping else None,
        "previousValidUntil": _iso(api_key.previous_valid_until) if overlapping else None,
        "rotatedAt": _iso(api_key.rotated_at),
        "expiresAt": _iso(api_key.expires_at),
        "revokedAt": _iso(api_key.revoked_at),
        "lastUsedAt": _iso(api_key.last_used_at),
        "createdAt": _iso(api_key.created_at),
    }
    if raw_key is not None:
        body["key"] = raw_key
    return body


class ApiKeyInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    role = serializers.ChoiceField(choices=Role.values)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), max_length=len(SCOPES))
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)


class RotateInput(StrictSerializer):
    overlapHours = serializers.IntegerField(
        required=False, min_value=0, max_value=168, default=24, help_text="How long the current secret keeps working (default 24)"
    )


class _KeyView(TenantApiView):
    scope = "keys"

    def _key(self, key_id: str) -> ApiKey:
        api_key = api_key_get(tenant=self.tenant, key_id=key_id)
        if api_key is None:
            raise Http404
        return api_key

    def _manageable(self, request: Request, key_id: str) -> ApiKey:
        """The key, if the caller's key holds every right it has (a narrow key cannot rotate or revoke a wider one)."""
        target = self._key(key_id)
        caller = request.auth
        assert isinstance(caller, ApiKey)
        api_key_check_delegation(issuer=caller, role=target.role, scopes=list(target.scopes or []))
        return target


class ApiKeyListCreateApi(_KeyView):
    """List the tenant's API keys, or issue one with no more rights than the calling key."""

    @extend_schema(operation_id="api_keys_list", parameters=PAGE_OPENAPI_PARAMETERS, responses={200: page_serializer(ApiKeyOutput)})
    def get(self, request: Request, slug: str) -> Response:
        page = paginate(api_key_queryset(tenant=self.tenant), parse_page_request(request.query_params))
        return Response(page.body([api_key_json(k) for k in page.rows]))

    @extend_schema(
        operation_id="api_keys_create",
        request=ApiKeyInput,
        responses={201: IssuedApiKeyOutput},
        description="The new key's scopes must be a subset of the calling key's, and its role may do nothing the "
        "calling key's role may not (403 otherwise). The secret is in `key`, in this answer only.",
    )
    def post(self, request: Request, slug: str) -> Response:
        data = ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        caller = request.auth
        assert isinstance(caller, ApiKey)
        issued = api_key_issue(
            issuer=caller, name=values["name"], role=values["role"], scopes=values["scopes"], expires_at=values.get("expiresAt")
        )
        return Response(api_key_json(issued.api_key, raw_key=issued.raw_key), status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(_KeyView):
    """Read one API key, or revoke it (DELETE)."""

    @extend_schema(operation_id="api_keys_read", responses={200: ApiKeyOutput})
    def get(self, request: Request, slug: str, key_id: str) -> Response:
        return Response(api_key_json(self._key(key_id)))

    @extend_schema(
        operation_id="api_keys_revoke",
        responses={204: None},
        description="Revokes the key at once (its previous secret too); it stays listed with `revokedAt`.",
    )
    def delete(self, request: Request, slug: str, key_id: str) -> Response:
        api_key_revoke(api_key=self._manageable(request, key_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyRotateApi(_KeyView):
    """Give a key a new secret; the current one keeps working for the overlap."""

    @extend_schema(
        operation_id="api_keys_rotate",
        request=RotateInput,
        responses={200: IssuedApiKeyOutput},
        description="The new secret is in `key`, in this answer only. The current secret keeps working for "
        "`overlapHours` (24 by default, 0 stops it at once), as signal secrets do; a second rotation ends the first overlap.",
    )
    def post(self, request: Request, slug: str, key_id: str) -> Response:
        data = RotateInput(data=request.data if request.data else {})
        data.is_valid(raise_exception=True)
        issued = api_key_rotate(api_key=self._manageable(request, key_id), overlap=timedelta(hours=data.validated_data["overlapHours"]))
        return Response(api_key_json(issued.api_key, raw_key=issued.raw_key))
