"""Bearer API-key authentication: `Authorization: Bearer shk_…`."""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from tenants.models import ApiKey
from tenants.selectors import api_key_find
from tenants.services import API_KEY_PREFIX, api_key_touch, hash_api_key


class ApiKeyUser:
    """The caller behind an API key, as DRF's `request.user`."""

    is_authenticated = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.tenant = api_key.tenant

    def __str__(self) -> str:
        # Who acted, for audit trails and created-by fields: the key's visible prefix and name.
        return f"api-key:{self.api_key.prefix} ({self.api_key.name})"[:200]


class ApiKeyAuthentication(BaseAuthentication):
    """Resolve the bearer key to its tenant; unknown, revoked and expired keys get 401."""

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise AuthenticationFailed("Authorization must be 'Bearer <api key>'")
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("Unknown API key") from exc
        if not raw_key.startswith(API_KEY_PREFIX):
            raise AuthenticationFailed("Unknown API key")
        api_key = api_key_find(key_hash=hash_api_key(raw_key))
        if api_key is None:
            raise AuthenticationFailed("Unknown, revoked or expired API key")
        api_key_touch(api_key=api_key)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe the bearer API key in the OpenAPI spec."""

    target_class = "skillhub.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {"type": "http", "scheme": "bearer", "description": "An shk_… API key for the tenant in the path"}
