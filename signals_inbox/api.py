"""Signals, needs and readiness over the API (`needs:read` / `needs:write`): parse, call, answer."""
from __future__ import annotations


from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from learning.selectors import assignment_json, course_json
from signals_inbox.models import Need, NeedStatus
from signals_inbox.selectors import (
    SIGNAL_STATUSES,
    need_detail_json,
    need_get,
    need_json,
    need_queryset,
    readiness_board,
    rejected_signal_json,
    rejected_signal_queryset,
    signal_get,
    signal_json,
    signal_queryset,
)
from signals_inbox.services import need_author, need_dismiss, need_offer, rejected_signal_reprocess
from signals_inbox.serializers import (
    NeedAuthorOutput,
    NeedDetailOutput,
    NeedOfferOutput,
    NeedOutput,
    ReadinessRowOutput,
    ReadinessSiteOutput,
    RejectedSignalOutput,
    ReprocessOutput,
    SignalOutput,
)
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, page_serializer, paginate, parse_page_request
from skillhub.api.serializers import StrictSerializer
from skillhub.errors import ValidationFailed
from tenants import audit
from tenants.api.views import TenantApiView


class SignalListApi(TenantApiView):
    """List the data points received, oldest first."""

    scope = "needs"

    @extend_schema(
        operation_id="signals_list",
        parameters=PAGE_OPENAPI_PARAMETERS
        + [
            OpenApiParameter("type", str),
            OpenApiParameter(
                "status",
                str,
                enum=list(SIGNAL_STATUSES),
                description="`unresolved`: the resolution backlog (its `pagination.total` is the backlog's size, "
                "its first row the oldest waiting signal); `resolved`: the rest",
            ),
        ],
        responses={200: page_serializer(SignalOutput)},
    )
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        status = request.query_params.get("status", "").strip().lower()
        if status and status not in SIGNAL_STATUSES:
            raise ValidationFailed({"status": f"must be one of {', '.join(SIGNAL_STATUSES)}"})
        queryset = signal_queryset(tenant=self.tenant, status=status)
        if request.query_params.get("type"):
            queryset = queryset.filter(type=request.query_params["type"].strip().lower())
        page = paginate(queryset, page_request)
        return Response(page.body([signal_json(s) for s in page.rows]))


class SignalDetailApi(TenantApiView):
    """Read one data point as it arrived (kept for audit)."""

    scope = "needs"

    @extend_schema(operation_id="signals_read", responses={200: SignalOutput})
    def get(self, request: Request, slug: str, signal_id: str) -> Response:
        signal = signal_get(tenant=self.tenant, signal_id=signal_id)
        if signal is None:
            raise Http404
        return Response(signal_json(signal))


class RejectedSignalListApi(TenantApiView):
    """List authenticated signals that failed validation, with the reason (the latest 500 are kept)."""

    scope = "needs"

    @extend_schema(operation_id="signals_rejected_list", parameters=PAGE_OPENAPI_PARAMETERS, responses={200: page_serializer(RejectedSignalOutput)})
    def get(self, request: Request, slug: str) -> Response:
        page = paginate(rejected_signal_queryset(tenant=self.tenant), parse_page_request(request.query_params))
        return Response(page.body([rejected_signal_json(r) for r in page.rows]))


class RejectedSignalReprocessApi(TenantApiView):
    """Run a rejected signal through ingest again, after the signal map was fixed."""

    scope = "needs"

    @extend_schema(operation_id="signals_rejected_reprocess", request=None, responses={200: ReprocessOutput})
    def post(self, request: Request, slug: str, rejected_id: int) -> Response:
        rejected = rejected_signal_queryset(tenant=self.tenant).select_related("tenant").filter(pk=rejected_id).first()
        if rejected is None:
            raise Http404
        result = rejected_signal_reprocess(rejected=rejected, actor=audit.current_label())
        return Response({"signalId": result.signal_id, "needId": str(result.need_id), "deduped": result.deduped})


NEED_FILTERS = [
    OpenApiParameter("status", str, enum=NeedStatus.values),
    OpenApiParameter("topic", str, description="Matches case-, plural- and word-order-tolerantly"),
    OpenApiParameter("site", str),
    OpenApiParameter("severity", int, enum=[1, 2, 3, 4]),
]


class NeedFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=NeedStatus.values, required=False)
    topic = serializers.CharField(max_length=200, required=False)
    site = serializers.CharField(max_length=200, required=False)
    severity = serializers.IntegerField(min_value=1, max_value=4, required=False)


class NeedListApi(TenantApiView):
    """List training needs, filtered by status, topic, site and severity."""

    scope = "needs"

    @extend_schema(operation_id="needs_list", parameters=NEED_FILTERS + PAGE_OPENAPI_PARAMETERS, responses={200: page_serializer(NeedOutput)})
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        filters = NeedFilterSerializer(data={k: v for k, v in request.query_params.items() if k in NeedFilterSerializer().fields})
        filters.is_valid(raise_exception=True)
        page = paginate(need_queryset(tenant=self.tenant, filters=filters.validated_data), page_request)
        return Response(page.body([need_json(n) for n in page.rows]))


class _NeedView(TenantApiView):
    scope = "needs"

    def _need(self, need_id: str) -> Need:
        need = need_get(tenant=self.tenant, need_id=need_id)
        if need is None:
            raise Http404
        return need


class NeedDetailApi(_NeedView):
    """Read a need with its signals, its recommendation (or "action": "author") and its assignments."""

    @extend_schema(operation_id="needs_read", responses={200: NeedDetailOutput})
    def get(self, request: Request, slug: str, need_id: str) -> Response:
        return Response(need_detail_json(self._need(need_id)))


class NeedOfferInput(StrictSerializer):
    """The Offer body: a course and one target kind, or none for the need's own worker or site."""

    courseId = serializers.CharField(max_length=64, required=False, allow_null=True)
    learnerIds = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=5000)
    groupId = serializers.CharField(max_length=64, required=False, allow_null=True)
    site = serializers.CharField(max_length=200, required=False, allow_null=True)
    dueDate = serializers.DateField(required=False, allow_null=True)


class NeedOfferApi(_NeedView):
    """Offer: assign the recommended or a chosen course to the need's worker or site, learners, a group or a site."""

    @extend_schema(operation_id="needs_offer", request=NeedOfferInput, responses={200: NeedOfferOutput})
    def post(self, request: Request, slug: str, need_id: str) -> Response:
        need = self._need(need_id)
        data = NeedOfferInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        assignments = need_offer(
            need=need,
            actor=audit.current_label(),
            course_id=values.get("courseId"),
            learner_ids=values.get("learnerIds"),
            group_id=values.get("groupId"),
            site=values.get("site"),
            due_date=values.get("dueDate"),
        )
        need = self._need(need_id)
        return Response({**need_json(need), "assignments": [assignment_json(a) for a in assignments]})


class NeedAuthorApi(_NeedView):
    """Author: create a draft course on the need's topic, its outline seeded from the need's signals."""

    @extend_schema(operation_id="needs_author", request=None, responses={201: NeedAuthorOutput})
    def post(self, request: Request, slug: str, need_id: str) -> Response:
        course = need_author(need=self._need(need_id), actor=audit.current_label())
        return Response({**need_json(self._need(need_id)), "course": course_json(course)}, status=201)


class NeedDismissInput(StrictSerializer):
    """The Dismiss body."""

    reason = serializers.CharField(max_length=1000)


class NeedDismissApi(_NeedView):
    """Dismiss a need with a reason."""

    @extend_schema(operation_id="needs_dismiss", request=NeedDismissInput, responses={200: NeedOutput})
    def post(self, request: Request, slug: str, need_id: str) -> Response:
        need = self._need(need_id)
        data = NeedDismissInput(data=request.data)
        data.is_valid(raise_exception=True)
        need = need_dismiss(need=need, actor=audit.current_label(), reason=data.validated_data["reason"])
        return Response(need_json(need))


class ReadinessApi(TenantApiView):
    """Who is ready, and why not: per worker one reason row per cause, and a per-site summary."""

    scope = "needs"

    @extend_schema(
        operation_id="readiness",
        parameters=[OpenApiParameter("site", str)] + PAGE_OPENAPI_PARAMETERS,
        responses={200: page_serializer(ReadinessRowOutput, sites=ReadinessSiteOutput(many=True))},
    )
    def get(self, request: Request, slug: str) -> Response:
        site = (request.query_params.get("site") or "").strip() or None
        return Response(readiness_board(tenant=self.tenant, site=site, page_request=parse_page_request(request.query_params)))
