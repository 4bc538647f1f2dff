"""Assessment routes: list, record, read; moderation of an assessment, and reading a moderation."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from learning.evidence import selectors
from learning.evidence.api.common import choice_param, course_ref, errors, found, learner_ref, uuid_param
from learning.evidence.api.serializers import (
    AssessmentInputSerializer,
    AssessmentOutputSerializer,
    ModerationInputSerializer,
    ModerationOutputSerializer,
)
from learning.evidence.models import Outcome
from learning.evidence.representations import assessment_json, moderation_json
from learning.evidence.services import Caller, assessment_record, moderation_record
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, paginate, paginated_schema, parse_page_request
from tenants.api.views import TenantApiView
from skillhub.errors import ValidationFailed


class AssessmentListCreateApi(TenantApiView):
    """List the tenant's assessments, or record one (assessor or admin)."""

    scope = "assessments"

    @extend_schema(
        operation_id="assessments_list",
        parameters=[
            OpenApiParameter("learnerId", str),
            OpenApiParameter("courseId", str),
            OpenApiParameter("outcome", str, enum=Outcome.values),
        ]
        + PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/AssessmentOutput"}}), **errors(400)},
    )
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        params = request.query_params
        filters = {}
        for param, lookup in (("learnerId", "learner_id"), ("courseId", "course_id")):
            value = uuid_param(params, param)
            if value:
                filters[lookup] = value
        outcome = choice_param(params, "outcome", Outcome.values)
        if outcome:
            filters["outcome"] = outcome
        page = paginate(selectors.assessment_queryset(tenant=self.tenant, filters=filters), page_request)
        return Response(page.body([assessment_json(a) for a in page.rows]))

    @extend_schema(
        operation_id="assessments_create",
        request=AssessmentInputSerializer,
        responses={201: AssessmentOutputSerializer, **errors(400)},
        description="Against a course (`courseId`) or a unit standard; linked evidence must be the tenant's and "
        "the learner's. The caller is the assessor. Records `assessment.recorded`.",
    )
    def post(self, request: Request, slug: str) -> Response:
        data = AssessmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        learner = learner_ref(self.tenant, values["learnerId"])
        evidence, missing = selectors.evidence_many(tenant=self.tenant, evidence_ids=values.get("evidenceIds") or [])
        if missing:
            raise ValidationFailed({"evidenceIds": f"unknown evidence: {', '.join(missing[:10])}"})
        assessment = assessment_record(
            tenant=self.tenant,
            learner=learner,
            outcome=values["outcome"],
            course=course_ref(self.tenant, values.get("courseId")),
            unit_standard=values.get("unitStandard") or "",
            assessed_on=values.get("assessedOn"),
            comments=values.get("comments") or "",
            evidence=evidence,
            caller=Caller.from_request(request),
        )
        return Response(assessment_json(assessment, moderations=[]), status=status.HTTP_201_CREATED)


class AssessmentDetailApi(TenantApiView):
    """Read one assessment, with its moderations."""

    scope = "assessments"

    @extend_schema(operation_id="assessments_read", responses={200: AssessmentOutputSerializer, **errors(404)})
    def get(self, request: Request, slug: str, assessment_id: str) -> Response:
        assessment = found(selectors.assessment_get(tenant=self.tenant, assessment_id=assessment_id))
        return Response(assessment_json(assessment, moderations=selectors.moderations_of(assessment=assessment)))


class AssessmentModerationApi(TenantApiView):
    """Moderate an assessment (moderator or admin, never its own assessor), or list its moderations."""

    scope = "assessments"
    actions = {"POST": "assessments.moderate"}

    @extend_schema(
        operation_id="assessments_moderations_list",
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/ModerationOutput"}}), **errors(400, 404)},
    )
    def get(self, request: Request, slug: str, assessment_id: str) -> Response:
        assessment = found(selectors.assessment_get(tenant=self.tenant, assessment_id=assessment_id))
        page = paginate(assessment.moderations.select_related("assessment").order_by("id"), parse_page_request(request.query_params))
        return Response(page.body([moderation_json(m) for m in page.rows]))

    @extend_schema(
        operation_id="assessments_moderate",
        request=ModerationInputSerializer,
        responses={201: ModerationOutputSerializer, **errors(400, 403, 404, 409)},
        description="`upheld` or `overturned` (an overturned assessment then shows `overturned: true`). "
        "Refused with 403 when the caller's person recorded the assessment (through any key that person minted, "
        "or in the console); with 409 when it was moderated before, unless `remoderate: true`, which records a "
        "new moderation superseding the last (both kept). Records `moderation.completed`.",
    )
    def post(self, request: Request, slug: str, assessment_id: str) -> Response:
        assessment = found(selectors.assessment_get(tenant=self.tenant, assessment_id=assessment_id))
        data = ModerationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moderation = moderation_record(
            assessment=assessment,
            decision=data.validated_data["decision"],
            comments=data.validated_data.get("comments") or "",
            remoderate=data.validated_data.get("remoderate", False),
            caller=Caller.from_request(request),
        )
        return Response(moderation_json(moderation), status=status.HTTP_201_CREATED)


class ModerationDetailApi(TenantApiView):
    """Read one moderation (the subject of `moderation.completed`)."""

    scope = "assessments"

    @extend_schema(operation_id="moderations_read", responses={200: ModerationOutputSerializer, **errors(404)})
    def get(self, request: Request, slug: str, moderation_id: str) -> Response:
        return Response(moderation_json(found(selectors.moderation_get(tenant=self.tenant, moderation_id=moderation_id))))
