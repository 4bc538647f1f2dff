"""Deliveries over the API: an endpoint's delivery log, one delivery, and retrying it."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, paginate, paginated_schema
from skillhub.errors import ValidationFailed
from skillhub.formats import iso
from tenants import retention
from tenants.api.views import TenantApiView
from webhooks import catalog, selectors, services
from webhooks.api.endpoints import EndpointApi, page_request
from webhooks.api.serializers import DeliveryOutput
from webhooks.models import DeliveryState


def delivery_log_schema() -> dict:
    """A page of deliveries, with what retention has removed and whether the total is exact."""
    schema = paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/DeliveryOutput"}})
    pagination = schema["properties"]["pagination"]["properties"]
    pagination["totalExact"] = {
        "type": "boolean",
        "description": f"false when the log has more than {selectors.DELIVERY_COUNT_LIMIT} rows: total is then that lower bound",
    }
    cutoff = {"type": ["string", "null"], "format": "date-time"}
    schema["properties"]["retentionCutoff"] = {**cutoff, "description": "Deliveries made before this were removed by the tenant's retention policy (null: none removed)"}
    schema["properties"]["attemptsRetentionCutoff"] = {**cutoff, "description": "Attempts made before this were removed by the retention policy (null: none removed)"}
    schema["properties"]["retentionNote"] = {"type": ["string", "null"], "description": "The same, in a sentence"}
    return schema


class EndpointDeliveriesApi(EndpointApi):
    """List an endpoint's deliveries, each with its attempts and `nextAttemptAt`."""

    @extend_schema(
        operation_id="webhooks_deliveries",
        parameters=[
            OpenApiParameter("status", str, enum=DeliveryState.values),
            OpenApiParameter("eventType", str),
            *PAGE_OPENAPI_PARAMETERS,
        ],
        responses={200: delivery_log_schema()},
    )
    def get(self, request: Request, slug: str, endpoint_id: str) -> Response:
        endpoint = self._endpoint(endpoint_id)
        params = request.query_params
        state = params.get("status") or None
        if state is not None and state not in DeliveryState.values:
            raise ValidationFailed({"status": f"must be one of {', '.join(DeliveryState.values)}"})
        event_type = params.get("eventType") or None
        if event_type is not None:
            try:
                event_type = catalog.canonical(event_type)
            except catalog.UnknownEventType as exc:
                raise ValidationFailed({"eventType": str(exc)}) from exc
        queryset = selectors.delivery_queryset(tenant=self.tenant, endpoint=endpoint, state=state, event_type=event_type)
        counted: list[bool] = []

        def total() -> int:
            count, exact = selectors.delivery_total(endpoint=endpoint, state=state, event_type=event_type)
            counted.append(exact)
            return count

        page = paginate(queryset, page_request(params, "dlv"), total=total)
        attempts = selectors.attempts_by_delivery(delivery_ids=[row.pk for row in page.rows])
        body = page.body([selectors.delivery_json(row, attempts.get(row.pk)) for row in page.rows])
        # Counting a long history would cost as much as the history: past the limit, a lower bound.
        body["pagination"]["totalExact"] = all(counted)
        policy = retention.policy_get(tenant=self.tenant)
        body["retentionCutoff"] = iso(policy.deliveries_removed_before)
        body["attemptsRetentionCutoff"] = iso(policy.attempts_removed_before)
        body["retentionNote"] = retention.removal_note(policy)
        return Response(body)


class DeliveryDetailApi(TenantApiView):
    """Read one delivery with its attempts."""

    scope = "webhooks"

    @extend_schema(operation_id="webhooks_delivery_read", responses={200: DeliveryOutput})
    def get(self, request: Request, slug: str, delivery_id: str) -> Response:
        delivery = selectors.delivery_get(tenant=self.tenant, delivery_id=delivery_id)
        if delivery is None:
            raise Http404
        attempts = selectors.attempts_by_delivery(delivery_ids=[delivery.pk])
        return Response(selectors.delivery_json(delivery, attempts.get(delivery.pk)))


class DeliveryRetryApi(TenantApiView):
    """Send one delivery again from the start of its schedule (same `webhook-id`)."""

    scope = "webhooks"

    @extend_schema(operation_id="webhooks_delivery_retry", request=None, responses={202: DeliveryOutput})
    def post(self, request: Request, slug: str, delivery_id: str) -> Response:
        delivery = selectors.delivery_get(tenant=self.tenant, delivery_id=delivery_id)
        if delivery is None:
            raise Http404
        delivery = services.delivery_retry(delivery=delivery)
        attempts = selectors.attempts_by_delivery(delivery_ids=[delivery.pk])
        return Response(selectors.delivery_json(delivery, attempts.get(delivery.pk)), status=status.HTTP_202_ACCEPTED)
