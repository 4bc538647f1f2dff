"""Who calls the API: an API key (`Bearer shk_…`) for the tenant API; a staff token (`Bearer sht_…`)
or a console session for the admin API."""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from tenants.api.throttle import credential
from tenants.models import ApiKey, StaffToken
from tenants.services import STAFF_TOKEN_PREFIX, api_key_touch


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
        # Looked up once per request, shared with the anonymous flood limit (tenants.api.throttle).
        found = credential(request._request)
        if found is None:
            return None
        if found.api_key is None:
            raise AuthenticationFailed(found.problem or "Unknown API key")
        api_key_touch(api_key=found.api_key)
        return ApiKeyUser(found.api_key), found.api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe the bearer API key in the OpenAPI spec."""

    target_class = "tenants.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An shk_… API key for the tenant in the path"}


class ConsoleSessionAuthentication(SessionAuthentication):
    """A logged-in console (Django admin) session of a staff user; CSRF-checked for writes."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result


class StaffTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer sht_…`, a token acting as one active staff user."""

    def authenticate(self, request: Request) -> tuple[Any, StaffToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer" or len(header) != 2:
            return None
        raw = header[1].decode("ascii", "replace")
        if not raw.startswith(STAFF_TOKEN_PREFIX):
            raise AuthenticationFailed("The admin API takes a console session or a staff token, not an API key")
        found = credential(request._request)
        token = found.staff_token if found is not None else None
        if token is None:
            raise AuthenticationFailed("Unknown or revoked staff token")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="admin"'


class StaffTokenScheme(OpenApiAuthenticationExtension):
    """Describe the staff token in the OpenAPI spec."""

    target_class = "tenants.api.auth.StaffTokenAuthentication"
    name = "StaffToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An sht_… staff token (admin API only)"}


class ConsoleSessionScheme(OpenApiAuthenticationExtension):
    """Describe the console session in the OpenAPI spec."""

    target_class = "tenants.api.auth.ConsoleSessionAuthentication"
    name = "ConsoleSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "A staff console session (CSRF token for writes)"}
