"""The base of every tenant API view: key → tenant → rate limit → scope, then the handler."""
from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework.exceptions import NotAuthenticated, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from skillhub.api.ratelimit import RateLimitUsage, consume
from skillhub.errors import ForbiddenError
from tenants.models import Tenant


class TenantApiView(APIView):
    """An API view under /api/v1/tenants/{slug}/…; `self.tenant` is the caller's tenant.

    A key used on another tenant's slug gets 404, exactly like an unknown tenant.
    """

    scope: str | None = None
    write_roles: set[str] | None = None
    tenant: Tenant
    rate_usage: RateLimitUsage | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme
        self.perform_authentication(request)
        if request.auth is None:
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

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> None:
        if request.auth is None:
            raise NotAuthenticated()
        raise ForbiddenError(message or "This API key may not do that")
