"""The audit log over the API: who wrote what, when, paged and filtered."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, page_serializer, paginate, parse_page_request
from tenants.audit import ACTOR_KINDS
from tenants.api.views import TenantApiView
from tenants.models import AuditEvent
from tenants.selectors import audit_event_queryset


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class AuditEventOutput(serializers.Serializer):
    """One recorded write."""

    id = serializers.IntegerField()
    actor = serializers.CharField(help_text="api-key:<prefix>, scim:<prefix>, user:<login>, command:<name> or system:<what>")
    actorKind = serializers.ChoiceField(choices=ACTOR_KINDS)
    objectType = serializers.CharField(help_text="learner, group, site, apikey, assignment, endpoint, need, …")
    objectId = serializers.CharField()
    action = serializers.CharField(help_text="created, updated, deleted, or a verb such as offered or rotated")
    changedFields = serializers.ListField(child=serializers.CharField(), help_text="names only, never values")
    details = serializers.DictField()
    createdAt = serializers.DateTimeField()


def audit_event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "actor": event.actor,
        "actorKind": event.actor_kind,
        "objectType": event.object_type,
        "objectId": event.object_id,
        "action": event.action,
        "changedFields": [_camel(name) for name in event.changed_fields],
        "details": event.details,
        "createdAt": event.created_at.isoformat().replace("+00:00", "Z"),
    }


class AuditFilterInput(serializers.Serializer):
    objectType = serializers.CharField(required=False, max_length=60)
    objectId = serializers.CharField(required=False, max_length=64)
    actor = serializers.CharField(required=False, max_length=200)
    actorKind = serializers.ChoiceField(choices=ACTOR_KINDS, required=False)
    action = serializers.CharField(required=False, max_length=40)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


FILTER_PARAMETERS = [
    OpenApiParameter("objectType", str, description="e.g. learner, group, apikey"),
    OpenApiParameter("objectId", str),
    OpenApiParameter("actor", str, description="exact label, e.g. api-key:shk_AbCdEfGh"),
    OpenApiParameter("actorKind", str, enum=list(ACTOR_KINDS)),
    OpenApiParameter("action", str),
    OpenApiParameter("since", str, description="ISO 8601; events at or after it"),
    OpenApiParameter("until", str, description="ISO 8601; events before it"),
]


class AuditEventListApi(TenantApiView):
    """List the tenant's audit events, oldest first."""

    scope = "audit"

    @extend_schema(
        operation_id="audit_events_list",
        parameters=FILTER_PARAMETERS + PAGE_OPENAPI_PARAMETERS,
        responses={200: page_serializer(AuditEventOutput)},
    )
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        filters = AuditFilterInput(data={k: v for k, v in request.query_params.items() if k in AuditFilterInput().fields})
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        rows = audit_event_queryset(
            tenant=self.tenant,
            object_type=values.get("objectType"),
            object_id=values.get("objectId"),
            actor=values.get("actor"),
            actor_kind=values.get("actorKind"),
            action=values.get("action"),
            since=values.get("since"),
            until=values.get("until"),
        )
        page = paginate(rows, page_request)
        return Response(page.body([audit_event_json(event) for event in page.rows]))
