"""The SCIM 2.0 service provider at /scim/v2/tenants/{slug}/: thin views that parse with scim2-models,
call a provisioning service or selector, and answer in application/scim+json (errors in the SCIM shape)."""
from __future__ import annotations

import logging
from typing import Any, Callable, NoReturn

import scim2_models as scim
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from pydantic import ValidationError
from rest_framework import exceptions as drf
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from provisioning import selectors, services
from provisioning.scim_schema import (
    DEFAULT_COUNT,
    MAX_RESULTS,
    MEDIA_TYPE,
    POLICY,
    GroupResource,
    UserResource,
    resource_types,
    schemas,
    service_provider_config,
)
from skillhub.api.errors import UNAVAILABLE_RETRY_AFTER_SECONDS, is_database_unavailable
from skillhub.api.renderers import OrjsonRenderer
from skillhub.errors import DomainError, ForbiddenError
from tenants import audit
from tenants.api.auth import ApiKeyAuthentication
from tenants.api.permissions import role_may
from tenants.api.views import TenantApiView
from tenants.models import ApiKey

logger = logging.getLogger("skillhub.scim")

SCIM_SCOPE = "scim"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimRenderer(OrjsonRenderer):
    media_type = MEDIA_TYPE
    format = "scim"


class ScimParser(JSONParser):
    media_type = MEDIA_TYPE


def error_response(status: int, detail: str, scim_type: str | None = None) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return Response(body, status=status)


def scim_exception_handler(exc: Exception, context: dict) -> Response:
    """Every error of a SCIM view in the RFC 7644 §3.12 shape."""
    if isinstance(exc, scim.SCIMException):
        return error_response(exc.status, exc.detail, exc.scim_type or None)
    if isinstance(exc, ValidationError):
        error = scim.Error.from_validation_errors(exc)[0]
        return error_response(int(error.status or 400), str(error.detail or "invalid payload"), error.scim_type)
    if isinstance(exc, DomainError):
        converted = services.scim_error(exc) if exc.status in (400, 404, 409) else None
        if converted is not None:
            return error_response(converted.status, converted.detail, converted.scim_type or None)
        return error_response(exc.status, exc.message)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        response = error_response(401, str(exc.detail) if isinstance(exc, drf.AuthenticationFailed) else "An API key with the scim scope is required")
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
        return response
    if isinstance(exc, (PermissionDenied, drf.PermissionDenied)):
        return error_response(403, "This API key may not do that")
    if isinstance(exc, Http404):
        return error_response(404, "Resource not found")
    if isinstance(exc, drf.Throttled):
        wait = max(1, int(getattr(exc, "wait", None) or 1))
        response = error_response(429, f"Rate limit exceeded; retry in {wait} s")
        response["Retry-After"] = str(wait)
        return response
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "Request body too large")
    if isinstance(exc, drf.ParseError):
        return error_response(400, f"Malformed JSON: {exc.detail}", "invalidSyntax")
    if isinstance(exc, drf.APIException):
        return error_response(exc.status_code, str(exc.detail))
    if is_database_unavailable(exc):
        logger.warning("database unavailable: %s", type(exc).__name__)
        response = error_response(503, "The service cannot reach its database; try again later")
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
        return response
    logger.exception("unhandled SCIM error in %s", type(context.get("view")).__name__)
    return error_response(500, "Internal error")


class ScimView(TenantApiView):
    """A SCIM endpoint of the tenant in the path: an API key with the `scim` scope, rate limited like the API.

    Writes also need a role that may write learners (admin or facilitator).
    """

    schema = None  # SCIM documents itself (/Schemas, /ResourceTypes), not in the REST OpenAPI
    authentication_classes = [ApiKeyAuthentication]
    parser_classes = [ScimParser, JSONParser]
    renderer_classes = [ScimRenderer]

    def get_exception_handler(self) -> Callable[[Exception, dict], Response]:
        return scim_exception_handler

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        # SCIM answers in application/scim+json whatever a client's Accept says (RFC 7644 §3.1).
        renderer = ScimRenderer()
        return renderer, renderer.media_type

    def check_permissions(self, request: Request) -> None:
        api_key = request.auth
        if not isinstance(api_key, ApiKey) or SCIM_SCOPE not in api_key.scopes:
            raise ForbiddenError("This API key lacks the scim scope")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not role_may(api_key.role, "learners.write"):
            raise ForbiddenError(f"The {api_key.role} role may not provision users")

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> NoReturn:
        raise ForbiddenError(message or "This API key may not do that")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.API_MAX_BODY_BYTES:
            raise RequestDataTooBig("Request body too large")
        super().initial(request, *args, **kwargs)

    def audit_actor(self, api_key: ApiKey) -> audit.Actor:
        return audit.scim_actor(api_key)

    @property
    def base_url(self) -> str:
        return f"{settings.SKILLHUB_PUBLIC_URL}/scim/v2/tenants/{self.tenant.slug}"

    def page_params(self, request: Request) -> tuple[int, int]:
        """startIndex (1-based; below 1 counts as 1) and count (0 to 1000; default 100), RFC 7644 §3.4.2.4."""
        try:
            start = int(request.query_params.get("startIndex", "1"))
            count = int(request.query_params.get("count", str(DEFAULT_COUNT)))
        except ValueError as exc:
            raise scim.InvalidValueException(detail="startIndex and count must be integers") from exc
        return max(start, 1), min(max(count, 0), MAX_RESULTS)

    def response_parameters(self, request: Request, model: Any) -> Any:
        attributes = request.query_params.get("attributes")
        excluded = request.query_params.get("excludedAttributes")
        if not attributes and not excluded:
            return None
        try:
            return scim.ResponseParameters[model].model_validate({"attributes": attributes, "excludedAttributes": excluded})
        except ValidationError as exc:
            raise scim.InvalidValueException(detail=f"attributes: {exc.errors()[0]['msg']}") from exc

    def check_version(self, request: Request, current: str) -> None:
        """If-Match (RFC 7644 §3.14): a write to a resource that changed since the client read it is refused."""
        wanted = request.headers.get("If-Match")
        if wanted and wanted.strip() != "*" and current not in [tag.strip() for tag in wanted.split(",")]:
            raise scim.PreconditionFailedException(detail="The resource changed since it was read (If-Match)")

    def resource_response(self, body: dict[str, Any], *, status: int = 200) -> Response:
        response = Response(body, status=status)
        response["ETag"] = body["meta"]["version"]
        if status == 201:
            response["Location"] = body["meta"]["location"]
        return response

    def not_modified(self, request: Request, version: str) -> bool:
        wanted = request.headers.get("If-None-Match")
        return bool(wanted) and version in [tag.strip() for tag in (wanted or "").split(",")]


def _payload(request: Request) -> Any:
    data = request.data
    if not isinstance(data, dict):
        raise scim.InvalidSyntaxException(detail="The body must be a JSON object")
    return data


class ServiceProviderConfigView(ScimView):
    """GET /ServiceProviderConfig."""

    def get(self, request: Request, slug: str) -> Response:
        return Response(service_provider_config(base_url=self.base_url))


class ResourceTypesView(ScimView):
    """GET /ResourceTypes and /ResourceTypes/{name}."""

    def get(self, request: Request, slug: str, name: str | None = None) -> Response:
        types = resource_types(base_url=self.base_url)
        if name is not None:
            found = next((t for t in types if t["id"] == name), None)
            if found is None:
                raise Http404
            return Response(found)
        return Response(selectors.Page(total=len(types), start_index=1, resources=types).body())


class SchemasView(ScimView):
    """GET /Schemas and /Schemas/{urn}."""

    def get(self, request: Request, slug: str, urn: str | None = None) -> Response:
        found = schemas(base_url=self.base_url)
        if urn is not None:
            one = next((s for s in found if s["id"] == urn), None)
            if one is None:
                raise Http404
            return Response(one)
        return Response(selectors.Page(total=len(found), start_index=1, resources=found).body())


class UsersView(ScimView):
    """GET /Users (filter, paging) and POST /Users (create a learner)."""

    def get(self, request: Request, slug: str) -> Response:
        start, count = self.page_params(request)
        page = selectors.users_page(
            tenant=self.tenant,
            filter_text=request.query_params.get("filter"),
            start_index=start,
            count=count,
            base_url=self.base_url,
            attributes=self.response_parameters(request, UserResource),
        )
        return Response(page.body())

    def post(self, request: Request, slug: str) -> Response:
        user = UserResource.model_validate(_payload(request), scim_ctx=scim.Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY)
        learner, profile = services.scim_user_create(tenant=self.tenant, user=user)
        body = selectors.user_render(tenant=self.tenant, learner=learner, profile=profile, base_url=self.base_url)
        return self.resource_response(body, status=201)


class UserView(ScimView):
    """GET, PUT, PATCH, DELETE /Users/{id}; another tenant's ids are 404."""

    def _found(self, user_id: str) -> tuple[Any, Any]:
        found = selectors.user_get(tenant=self.tenant, user_id=user_id)
        if found is None:
            raise Http404
        return found

    def _current_version(self, learner: Any, profile: Any) -> str:
        return selectors.user_render(tenant=self.tenant, learner=learner, profile=profile, base_url=self.base_url)["meta"]["version"]

    def get(self, request: Request, slug: str, user_id: str) -> Response:
        learner, profile = self._found(user_id)
        body = selectors.user_render(
            tenant=self.tenant, learner=learner, profile=profile, base_url=self.base_url,
            attributes=self.response_parameters(request, UserResource),
        )
        if self.not_modified(request, body["meta"]["version"]):
            return Response(status=304)
        return self.resource_response(body)

    def put(self, request: Request, slug: str, user_id: str) -> Response:
        learner, profile = self._found(user_id)
        self.check_version(request, self._current_version(learner, profile))
        user = UserResource.model_validate(_payload(request), scim_ctx=scim.Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY)
        learner, profile = services.scim_user_apply(tenant=self.tenant, learner=learner, profile=profile, user=user)
        return self.resource_response(selectors.user_render(tenant=self.tenant, learner=learner, profile=profile, base_url=self.base_url))

    def patch(self, request: Request, slug: str, user_id: str) -> Response:
        learner, profile = self._found(user_id)
        self.check_version(request, self._current_version(learner, profile))
        patch = scim.PatchOp[UserResource].model_validate(_payload(request), scim_ctx=scim.Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)
        learner, profile = services.scim_user_patch(tenant=self.tenant, learner=learner, profile=profile, patch=patch)
        return self.resource_response(selectors.user_render(tenant=self.tenant, learner=learner, profile=profile, base_url=self.base_url))

    def delete(self, request: Request, slug: str, user_id: str) -> Response:
        learner, profile = self._found(user_id)
        self.check_version(request, self._current_version(learner, profile))
        services.scim_user_delete(learner=learner)
        return Response(status=204)


class GroupsView(ScimView):
    """GET /Groups (filter, paging; excludedAttributes=members for large groups) and POST /Groups."""

    def get(self, request: Request, slug: str) -> Response:
        start, count = self.page_params(request)
        params = self.response_parameters(request, GroupResource)
        excluded = [str(p).lower() for p in (params.excluded_attributes or [])] if params is not None else []
        attributes = [str(p).lower() for p in (params.attributes or [])] if params is not None else []
        with_members = "members" not in excluded and (not attributes or any(a.startswith("members") for a in attributes))
        page = selectors.groups_page(
            tenant=self.tenant,
            filter_text=request.query_params.get("filter"),
            start_index=start,
            count=count,
            base_url=self.base_url,
            attributes=params,
            with_members=with_members,
        )
        return Response(page.body())

    def post(self, request: Request, slug: str) -> Response:
        resource = GroupResource.model_validate(_payload(request), scim_ctx=scim.Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY)
        group = services.scim_group_create(tenant=self.tenant, resource=resource)
        body = selectors.group_body(group, selectors.group_members(group=group), base_url=self.base_url)
        return self.resource_response(body, status=201)


class GroupView(ScimView):
    """GET, PUT, PATCH, DELETE /Groups/{id}."""

    def _found(self, group_id: str) -> Any:
        group = selectors.group_get(tenant=self.tenant, group_id=group_id)
        if group is None:
            raise Http404
        return group

    def _body(self, group: Any, attributes: Any = None) -> dict[str, Any]:
        return selectors.group_body(group, selectors.group_members(group=group), base_url=self.base_url, attributes=attributes)

    def get(self, request: Request, slug: str, group_id: str) -> Response:
        group = self._found(group_id)
        body = self._body(group, self.response_parameters(request, GroupResource))
        if self.not_modified(request, body["meta"]["version"]):
            return Response(status=304)
        return self.resource_response(body)

    def put(self, request: Request, slug: str, group_id: str) -> Response:
        group = self._found(group_id)
        self.check_version(request, self._body(group)["meta"]["version"])
        resource = GroupResource.model_validate(_payload(request), scim_ctx=scim.Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY)
        group = services.scim_group_replace(tenant=self.tenant, group=group, resource=resource)
        return self.resource_response(self._body(group))

    def patch(self, request: Request, slug: str, group_id: str) -> Response:
        group = self._found(group_id)
        self.check_version(request, self._body(group)["meta"]["version"])
        patch = scim.PatchOp[GroupResource].model_validate(_payload(request), scim_ctx=scim.Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)
        group = services.scim_group_patch(tenant=self.tenant, group=group, patch=patch)
        return self.resource_response(self._body(group))

    def delete(self, request: Request, slug: str, group_id: str) -> Response:
        group = self._found(group_id)
        self.check_version(request, self._body(group)["meta"]["version"])
        services.scim_group_delete(group=group)
        return Response(status=204)


class UnknownEndpointView(ScimView):
    """Anything else under a tenant's SCIM base: a SCIM 404 (Bulk and /.search are not offered)."""

    def _missing(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.path.rstrip("/").endswith(("/Bulk", "/.search")):
            raise scim.NotImplementedException(detail="This SCIM endpoint is not offered here")
        raise Http404

    get = post = put = patch = delete = _missing
