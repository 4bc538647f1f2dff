"""The signal inbox's admin API (`/api/v1/admin/tenants/{slug}/signal-map…`): console session or staff token."""
from __future__ import annotations

from typing import Any

import orjson
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from learning.selectors import course_match_topic, learner_find
from signals_inbox.models import ACTIVE_NEED_STATUSES, Need
from signals_inbox.parsing import InvalidSignal, MapEntry, parse_signal
from signals_inbox.serializers import SignalMapOutput, SignalMapPreviewOutput, SignalMapReadOutput
from signals_inbox.selectors import ingest_context, signal_map_json
from signals_inbox.services import map_entry_values, signal_map_put
from signals_inbox.verification import refusal_counts
from skillhub.api.serializers import StrictSerializer
from tenants.api.views import TenantAdminApiView

class SignalMapInput(StrictSerializer):
    map = serializers.DictField(child=serializers.JSONField(), allow_empty=True)
    autoAuthor = serializers.BooleanField(required=False, default=False)
    autoAuthorThreshold = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    authoringQuotaMonthly = serializers.IntegerField(required=False, min_value=0, max_value=10_000)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object"]})
        if "autoAuthor" in data and not isinstance(data["autoAuthor"], bool):
            raise serializers.ValidationError({"autoAuthor": ["Must be true or false"]})
        return super().to_internal_value(data)


class SignalMapApi(TenantAdminApiView):
    """Read or replace the tenant's signal map and auto-author settings."""

    @extend_schema(operation_id="admin_signal_map_read", responses={200: SignalMapReadOutput})
    def get(self, request: Request, slug: str) -> Response:
        return Response({**signal_map_json(tenant=self.tenant), "refusedLast24h": refusal_counts(slug=self.tenant.slug)})

    @extend_schema(operation_id="admin_signal_map_replace", request=SignalMapInput, responses={200: SignalMapOutput})
    def put(self, request: Request, slug: str) -> Response:
        data = SignalMapInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        signal_map_put(
            tenant=self.tenant,
            actor=self.actor(request),
            mapping=values["map"],
            auto_author=values["autoAuthor"],
            auto_author_threshold=values.get("autoAuthorThreshold"),
            authoring_quota_monthly=values.get("authoringQuotaMonthly"),
        )
        return Response(signal_map_json(tenant=self.tenant))


class SignalMapPreviewApi(TenantAdminApiView):
    """Dry run: what a sample signal would become (topic, worker or cohort, course or author, dedupe key); stores nothing."""

    @extend_schema(operation_id="admin_signal_map_preview", request=OpenApiTypes.OBJECT, responses={200: SignalMapPreviewOutput})
    def post(self, request: Request, slug: str) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object: a signal, or {signal, map}"]})
        sample = body.get("signal", body) if "signal" in body else body
        context = ingest_context(slug=self.tenant.slug)
        signal_map = dict(context.signal_map) if context else {}
        if "map" in body and "event" not in body:
            if not isinstance(body["map"], dict):
                raise serializers.ValidationError({"map": ["Must be an object"]})
            signal_map = {}
            for kind, value in body["map"].items():
                clean_kind, clean = map_entry_values(kind, value)
                signal_map[clean_kind] = MapEntry(**clean)
        try:
            parsed = parse_signal(orjson.dumps(sample), signal_map)
        except (InvalidSignal, TypeError) as exc:
            detail = exc.detail if isinstance(exc, InvalidSignal) else "the sample is not JSON-serialisable"
            return Response({"outcome": "rejected", "detail": detail})
        learner = learner_find(tenant=self.tenant, **parsed.worker_lookup()) if parsed.worker_key else None
        target = "cohort" if not parsed.worker_key else ("worker" if learner else "unmatched")
        course, match = course_match_topic(tenant=self.tenant, topic=parsed.topic)
        open_need = (
            Need.objects.filter(tenant=self.tenant, dedupe_key=parsed.dedupe_key, status__in=ACTIVE_NEED_STATUSES)
            .values_list("pk", flat=True)
            .first()
        )
        return Response(
            {
                "outcome": "accepted",
                "type": parsed.type,
                "topic": parsed.topic,
                "category": parsed.category or None,
                "severity": parsed.severity,
                "dedupeKey": parsed.dedupe_key,
                "target": target,
                "learnerId": str(learner.pk) if learner else None,
                "workerRef": parsed.worker_ref or None,
                "site": parsed.site or (learner.site.name if learner and learner.site is not None else None),
                "action": "offer" if course else "author",
                "recommendation": {"courseId": str(course.pk), "title": course.title, "match": match} if course else None,
                "deduped": open_need is not None,
                "existingNeedId": str(open_need) if open_need else None,
                "checkedAt": timezone.now(),
            }
        )
