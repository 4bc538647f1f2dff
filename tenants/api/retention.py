"""The tenant's retention policy over the API: how long history is kept, and what has been removed."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from skillhub.errors import ValidationFailed
from tenants import retention
from tenants.api.views import TenantApiView

_DAYS = {"type": "integer", "minimum": 1, "maximum": retention.MAX_DAYS}
_CUTOFF = {"type": ["string", "null"], "format": "date-time"}
RETENTION_SCHEMA = {
    "type": "object",
    "properties": {
        "attemptsDays": {**_DAYS, "description": "Delivery attempts with the receivers' answers (default 30)"},
        "deliveriesDays": {**_DAYS, "description": "Finished deliveries and their events (default 90)"},
        "signalsDays": {**_DAYS, "description": "Signals of closed needs and rejected requests (default 365)"},
        "auditDays": {"type": ["integer", "null"], "minimum": 1, "maximum": retention.MAX_DAYS, "description": "Audit events; null keeps them (default)"},
        "removedBefore": {
            "type": "object",
            "description": "Records older than these were removed by the retention sweep (null: none yet)",
            "properties": {kind: _CUTOFF for kind in ("attempts", "deliveries", "signals", "audit")},
        },
        "neverRemoved": {"type": "string"},
    },
}
RETENTION_INPUT = inline_serializer(
    name="RetentionInput",
    fields={
        "attemptsDays": serializers.IntegerField(min_value=1, max_value=retention.MAX_DAYS),
        "deliveriesDays": serializers.IntegerField(min_value=1, max_value=retention.MAX_DAYS),
        "signalsDays": serializers.IntegerField(min_value=1, max_value=retention.MAX_DAYS),
        "auditDays": serializers.IntegerField(min_value=1, max_value=retention.MAX_DAYS, allow_null=True, required=False),
    },
)


class RetentionApi(TenantApiView):
    """Read or set how long the tenant's history is kept (admin keys may set it)."""

    scope = "webhooks"
    actions = {"PUT": "retention.write", "PATCH": "retention.write"}

    @extend_schema(operation_id="retention_read", responses={200: RETENTION_SCHEMA})
    def get(self, request: Request, slug: str) -> Response:
        return Response(retention.policy_json(retention.policy_get(tenant=self.tenant)))

    @extend_schema(operation_id="retention_update", request=RETENTION_INPUT, responses={200: RETENTION_SCHEMA})
    def put(self, request: Request, slug: str) -> Response:
        return self._update(request.data, partial=False)

    @extend_schema(operation_id="retention_partial_update", request=RETENTION_INPUT, responses={200: RETENTION_SCHEMA})
    def patch(self, request: Request, slug: str) -> Response:
        return self._update(request.data, partial=True)

    def _update(self, data: Any, *, partial: bool) -> Response:
        if not isinstance(data, dict):
            raise ValidationFailed({"body": "must be a JSON object"})
        values = retention.clean_days(dict(data), partial=partial)
        return Response(retention.policy_json(retention.policy_update(tenant=self.tenant, values=values)))
