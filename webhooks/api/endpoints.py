"""Webhook endpoint management: list, create, read, change, delete, ping, rotate the secret, replay."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, PageRequest, paginate, paginated_schema, parse_page_request
from skillhub.errors import ValidationFailed
from tenants.api.views import TenantApiView
from webhooks import selectors, services
from webhooks.api.serializers import (
    API_NAMES,
    DeliveryOutput,
    EndpointFormInput,
    EndpointInput,
    EndpointOutput,
    ReplayInput,
    ReplayOutput,
)
from webhooks.models import Endpoint


def page_request(params: Any, id_prefix: str) -> PageRequest:
    """Read the page parameters; a cursor must carry one of this resource's ids (a forged one is a 400)."""
    request = parse_page_request(params)
    if request.after is not None and not selectors.is_id(request.after, id_prefix):
        raise ValidationFailed({"cursor": "Invalid cursor; use the nextCursor of a previous page"})
    return request


def _api_errors(exc: ValidationFailed) -> ValidationFailed:
    """Rename service (model-field) error keys to the API's names."""
    return ValidationFailed({API_NAMES.get(k, k): v for k, v in exc.errors.items()})


class EndpointApi(TenantApiView):
    scope = "webhooks"

    def _endpoint(self, endpoint_id: str) -> Endpoint:
        endpoint = selectors.endpoint_get(tenant=self.tenant, endpoint_id=endpoint_id)
        if endpoint is None:
            raise Http404
        return endpoint


class EndpointListCreateApi(EndpointApi):
    """List the tenant's webhook endpoints, or create one."""

    # Document 001 promises form-encoded parameters for creating a webhook, beside JSON.
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        operation_id="webhooks_list",
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/EndpointOutput"}})},
    )
    def get(self, request: Request, slug: str) -> Response:
        page = paginate(selectors.endpoint_queryset(tenant=self.tenant), page_request(request.query_params, "we"))
        flows = selectors.endpoint_flows(tenant=self.tenant, endpoints=list(page.rows))
        return Response(
            page.body([selectors.endpoint_json(endpoint, flow_state=flows[endpoint.pk]) for endpoint in page.rows])
        )

    @extend_schema(
        operation_id="webhooks_create",
        request={"application/json": EndpointInput, "application/x-www-form-urlencoded": EndpointFormInput},
        responses={201: EndpointOutput},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = EndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            endpoint = services.endpoint_create(tenant=self.tenant, values=data.model_values())
        except ValidationFailed as exc:
            raise _api_errors(exc) from exc
        return Response(selectors.endpoint_json(endpoint, with_secret=True), status=status.HTTP_201_CREATED)


class EndpointDetailApi(EndpointApi):
    """Read, change (PUT and PATCH both change only the fields given) or delete an endpoint."""

    @extend_schema(operation_id="webhooks_read", responses={200: EndpointOutput})
    def get(self, request: Request, slug: str, endpoint_id: str) -> Response:
        return Response(selectors.endpoint_json(self._endpoint(endpoint_id)))

    def _update(self, request: Request, endpoint_id: str) -> Response:
        endpoint = self._endpoint(endpoint_id)
        data = EndpointInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, values=data.model_values())
        except ValidationFailed as exc:
            raise _api_errors(exc) from exc
        return Response(selectors.endpoint_json(endpoint))

    @extend_schema(operation_id="webhooks_update", request=EndpointInput, responses={200: EndpointOutput})
    def put(self, request: Request, slug: str, endpoint_id: str) -> Response:
        return self._update(request, endpoint_id)

    @extend_schema(operation_id="webhooks_partial_update", request=EndpointInput, responses={200: EndpointOutput})
    def patch(self, request: Request, slug: str, endpoint_id: str) -> Response:
        return self._update(request, endpoint_id)

    @extend_schema(operation_id="webhooks_delete", responses={204: None})
    def delete(self, request: Request, slug: str, endpoint_id: str) -> Response:
        services.endpoint_delete(endpoint=self._endpoint(endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointPingApi(EndpointApi):
    """Queue a signed `webhook.ping` to the endpoint; 202 with its delivery, whose attempt the delivery log shows."""

    @extend_schema(operation_id="webhooks_ping", request=None, responses={202: DeliveryOutput})
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        delivery = services.endpoint_ping(endpoint=self._endpoint(endpoint_id))
        return Response(selectors.delivery_json(delivery, attempts=[]), status=status.HTTP_202_ACCEPTED)


class EndpointRotateSecretApi(EndpointApi):
    """Issue a new secret; old and new both sign for 24 hours. The only other time the secret is shown."""

    @extend_schema(operation_id="webhooks_rotate_secret", request=None, responses={200: EndpointOutput})
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        endpoint = services.endpoint_rotate_secret(endpoint=self._endpoint(endpoint_id))
        return Response(selectors.endpoint_json(endpoint, with_secret=True))


class EndpointReplayApi(EndpointApi):
    """Re-send the endpoint's failed deliveries created since a time, optionally only some event types."""

    @extend_schema(operation_id="webhooks_replay", request=ReplayInput, responses={202: ReplayOutput})
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        endpoint = self._endpoint(endpoint_id)
        data = ReplayInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            replayed = services.endpoint_replay(
                endpoint=endpoint, since=values["since"], event_types=values.get("eventTypes") or None
            )
        except ValidationFailed as exc:
            raise ValidationFailed({"eventTypes": next(iter(exc.errors.values()))}) from exc
        return Response({"replayed": replayed}, status=status.HTTP_202_ACCEPTED)
