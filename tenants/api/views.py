"""The base views: a tenant API view (key → tenant → rate limit → scope, then the handler) and a
tenant admin API view (staff token or console session → a tenant the caller administers)."""
from __future__ import annotations

from typing import Any, NoReturn

from django.http import Http404
from rest_framework.exceptions import NotAuthenticated, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from skillhub.errors import ForbiddenError
from tenants.api.auth import ConsoleSessionAuthentication, StaffTokenAuthentication
from tenants.api.permissions import IsStaff
from tenants.api.ratelimit import RateLimitUsage, consume
from tenants.models import ApiKey, StaffToken, Tenant
from tenants.selectors import tenant_get_by_slug, user_administers


class TenantApiView(APIView):
    """An API view under /api/v1/tenants/{slug}/…; `self.tenant` is the caller's tenant.

    A key used on another tenant's slug gets 404, exactly like an unknown tenant.
    """

    scope: str | None = None
    # method → the role-table action of a write (default `<scope>.write`); see tenants.api.permissions.
    actions: dict[str, str] | None = None
    tenant: Tenant
    rate_usage: RateLimitUsage | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme
        self.perform_authentication(request)
        if not isinstance(request.auth, ApiKey):
            raise NotAuthenticated()
        tenant = request.auth.tenant
        if tenant.slug != kwargs.get("slug"):
            raise Http404()
        self.tenant = tenant
        self.rate_usage = consume(tenant=tenant)
        if self.rate_usage.retry_after is not None:
            raise Throttled(wait=self.rate_usage.retry_after)
        self.check_permissions(request)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.rate_usage is not None:
            for header, value in self.rate_usage.headers().items():
                response[header] = value
        return response

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> NoReturn:
        if request.auth is None:
            raise NotAuthenticated()
        raise ForbiddenError(message or "This API key may not do that")


class TenantAdminApiView(APIView):
    """An admin API view (`/api/v1/admin/tenants/{slug}/…`) for a tenant the caller administers.

    A console session or a staff token, never an API key; another tenant is "not found".
    """

    authentication_classes = [StaffTokenAuthentication, ConsoleSessionAuthentication]
    permission_classes = [IsStaff]
    tenant: Tenant

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        tenant = tenant_get_by_slug(slug=kwargs.get("slug", ""))
        if tenant is None or not user_administers(user=request.user, tenant=tenant):
            raise Http404
        self.tenant = tenant

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> NoReturn:
        raise NotAuthenticated("A console session or staff token of a staff user is required")

    def actor(self, request: Request) -> str:
        """Who acted, for the audit trail."""
        via = "token" if isinstance(request.auth, StaffToken) else "session"
        return f"user:{request.user.get_username()} ({via})"[:200]
