"""The base views: a tenant API view (key → tenant → rate limit → scope, then the handler) and a
tenant admin API view (staff token or console session → a tenant the caller administers)."""
from __future__ import annotations

from typing import Any, NoReturn

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.exceptions import NotAuthenticated, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from skillhub.api.parameters import refuse_unknown_query_parameters
from skillhub.errors import ForbiddenError
from tenants import audit, idempotency
from tenants.api.auth import ConsoleSessionAuthentication, StaffTokenAuthentication
from tenants.api.permissions import IsStaff
from tenants.api.ratelimit import RateLimitUsage, consume
from tenants.models import ApiKey, IdempotencyRecord, Tenant
from tenants.selectors import tenant_get_by_slug, user_administers


class _Replay(Exception):
    """Answer a repeated idempotent POST with the stored first answer."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


class TenantApiView(APIView):
    """An API view under /api/v1/tenants/{slug}/…; `self.tenant` is the caller's tenant.

    A key used on another tenant's slug gets 404, exactly like an unknown tenant.
    """

    scope: str | None = None
    # method → the role-table action of a write (default `<scope>.write`); see tenants.api.permissions.
    actions: dict[str, str] | None = None
    tenant: Tenant
    rate_usage: RateLimitUsage | None = None
    idempotency_record: IdempotencyRecord | None = None

    def audit_actor(self, api_key: ApiKey) -> audit.Actor:
        """Who the audit log names for this request's writes."""
        return audit.api_key_actor(api_key)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # The actor named in `initial` lasts exactly as long as this request.
        token = audit.set_actor(None)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self.idempotency_record is not None:  # a server error escaped: a retry may run it again
                idempotency.release(record=self.idempotency_record)
                self.idempotency_record = None
            audit.reset_actor(token)

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
        if request.method not in ("GET", "HEAD", "OPTIONS"):  # reads write nothing: no change tracking
            audit.set_actor(self.audit_actor(request.auth))
        self.rate_usage = consume(tenant=tenant)
        if self.rate_usage.retry_after is not None:
            raise Throttled(wait=self.rate_usage.retry_after)
        self.check_permissions(request)
        if request.method in ("GET", "HEAD"):
            refuse_unknown_query_parameters(self, request)
        elif request.method == "POST" and idempotency.HEADER in request.headers and hasattr(self, "post"):
            self._claim_idempotency_key(request, request.headers[idempotency.HEADER])

    def _claim_idempotency_key(self, request: Request, key: str) -> None:
        """Run this POST once per key: replay a finished one, or run it and keep its answer with its writes."""
        assert isinstance(request.auth, ApiKey)
        fingerprint = idempotency.fingerprint(method="POST", path=request.path, data=request.data)
        claim = idempotency.claim(tenant=self.tenant, api_key=request.auth, key=key, fingerprint=fingerprint)
        if claim.replay is not None:
            raise _Replay(claim.replay)
        self.idempotency_record = claim.record
        handler = getattr(self, "post")  # noqa: B009  (views without POST never get here)

        def post_once(request: Request, *args: Any, **kwargs: Any) -> Any:
            # The writes and the kept answer commit together: a crash leaves neither.
            with transaction.atomic():
                response = handler(request, *args, **kwargs)
                if response.status_code < 500:
                    self.finalize_response(request, response, *args, **kwargs)  # renders and keeps it
            return response

        setattr(self, "post", post_once)  # noqa: B010  (an instance attribute: this request only)

    def _keep_answer(self, response: HttpResponseBase) -> None:
        record, self.idempotency_record = self.idempotency_record, None
        if record is None or getattr(response, "streaming", False):
            return
        if response.status_code >= 500:
            idempotency.release(record=record)
            return
        if hasattr(response, "render"):
            response.render()
        content: bytes = response.content  # type: ignore[attr-defined]
        idempotency.complete(
            record=record, status_code=response.status_code, content_type=response.get("Content-Type", ""), body=content
        )

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replay):
            record = exc.record
            replay = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type or None)
            replay["Idempotent-Replayed"] = "true"
            return replay  # type: ignore[return-value]
        response = super().handle_exception(exc)
        if isinstance(exc, idempotency.IdempotencyInProgress):
            response["Retry-After"] = "1"
        return response

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.rate_usage is not None:
            for header, value in self.rate_usage.headers().items():
                response[header] = value
        if self.idempotency_record is not None:
            # Refused before or while the handler ran (its writes rolled back): keep a 4xx, forget a 5xx.
            self._keep_answer(response)
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

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        token = audit.set_actor(None)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            audit.reset_actor(token)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        tenant = tenant_get_by_slug(slug=kwargs.get("slug", ""))
        if tenant is None or not user_administers(user=request.user, tenant=tenant):
            raise Http404
        self.tenant = tenant
        if request.method in ("GET", "HEAD"):
            refuse_unknown_query_parameters(self, request)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            audit.set_actor(audit.console_actor(request.user))

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> NoReturn:
        raise NotAuthenticated("A console session or staff token of a staff user is required")
