"""Evidence routes: list, multipart upload, read, download, review; and the review tasks they open."""
from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from learning.evidence import selectors, storage
from learning.evidence.sniffing import safe_file_name
from learning.evidence.api.common import choice_param, course_ref, errors, found, learner_ref, optional_ref, uuid_param
from learning.evidence.api.serializers import (
    EvidenceOutputSerializer,
    EvidenceReviewSerializer,
    EvidenceUploadSerializer,
    TaskOutputSerializer,
)
from learning.evidence.models import EvidenceKind, EvidenceStatus, TaskStatus
from learning.evidence.representations import evidence_json, task_json
from learning.evidence.services import Caller, evidence_review, evidence_upload
from learning.evidence.uploads import EvidenceMultiPartParser
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, paginate, paginated_schema, parse_page_request
from tenants.api.views import TenantApiView
from skillhub.errors import ValidationFailed


def evidence_filters(params: Any) -> dict[str, Any]:
    """Return the evidence list's query filters from the query string (400 on a bad value)."""
    from django.utils.dateparse import parse_datetime

    filters: dict[str, Any] = {}
    for param, lookup in (("learnerId", "learner_id"), ("courseId", "course_id"), ("assessmentId", "assessment_id")):
        value = uuid_param(params, param)
        if value:
            filters[lookup] = value
    for param, choices in (("status", EvidenceStatus.values), ("kind", EvidenceKind.values)):
        value = choice_param(params, param, choices)
        if value:
            filters[param] = value
    if params.get("updatedSince"):
        since = parse_datetime(params["updatedSince"])
        if since is None:
            raise ValidationFailed({"updatedSince": "must be an ISO 8601 date-time"})
        filters["updated_at__gte"] = since
    return filters


EVIDENCE_FILTERS = [
    OpenApiParameter("learnerId", str),
    OpenApiParameter("courseId", str),
    OpenApiParameter("assessmentId", str),
    OpenApiParameter("status", str, enum=EvidenceStatus.values),
    OpenApiParameter("kind", str, enum=EvidenceKind.values),
    OpenApiParameter("updatedSince", str, description="ISO 8601"),
]


class EvidenceListUploadApi(TenantApiView):
    """List the tenant's evidence, or upload a file as a learner's evidence (multipart/form-data)."""

    scope = "evidence"

    def get_parsers(self) -> list[BaseParser]:
        # The upload streams through its own parser (size limit and type check while it arrives).
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return [EvidenceMultiPartParser()]
        return [JSONParser()]

    @extend_schema(
        operation_id="evidence_list",
        parameters=EVIDENCE_FILTERS + PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/EvidenceOutput"}}), **errors(400)},
    )
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        queryset = selectors.evidence_queryset(tenant=self.tenant, filters=evidence_filters(request.query_params))
        page = paginate(queryset, page_request)
        return Response(page.body([evidence_json(e, slug=slug) for e in page.rows]))

    @extend_schema(
        operation_id="evidence_upload",
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceOutputSerializer, **errors(400, 413)},
        description="Records `evidence.uploaded` and opens a review task (`task.created`). The file's type is "
        "recognised from its bytes; a file over the limit (25 MiB by default) is refused while it streams in, and a "
        "DOCX/XLSX/PPTX whose zip directory declares more than `EVIDENCE_MAX_INFLATED_BYTES` (100 MiB by default) "
        "once inflated with 413. The kept `fileName` loses control and bidi characters and carries the extension "
        "of the recognised type.",
    )
    def post(self, request: Request, slug: str) -> Response:
        data = EvidenceUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            evidence = evidence_upload(
                tenant=self.tenant,
                learner=learner_ref(self.tenant, values["learnerId"]),
                upload=values["file"],
                title=values["title"],
                kind=values.get("kind") or EvidenceKind.DOCUMENT,
                course=course_ref(self.tenant, values.get("courseId")),
                assessment=optional_ref(self.tenant, values.get("assessmentId"), selectors.assessment_get, "assessmentId", "assessment"),
                caller=Caller.from_request(request),
            )
        finally:
            values["file"].close()  # the temp file goes now, stored or not
        return Response(evidence_json(evidence, slug=slug), status=status.HTTP_201_CREATED)


class EvidenceDetailApi(TenantApiView):
    """Read one piece of evidence, or review it (approve or reject, with feedback)."""

    scope = "evidence"
    actions = {"PATCH": "evidence.review"}

    @extend_schema(operation_id="evidence_read", responses={200: EvidenceOutputSerializer, **errors(404)})
    def get(self, request: Request, slug: str, evidence_id: str) -> Response:
        evidence = found(selectors.evidence_get(tenant=self.tenant, evidence_id=evidence_id))
        return Response(evidence_json(evidence, slug=slug))

    @extend_schema(
        operation_id="evidence_review",
        request=EvidenceReviewSerializer,
        responses={200: EvidenceOutputSerializer, **errors(400, 404)},
        description="By a facilitator, assessor or admin. Records `evidence.reviewed` and closes the review task.",
    )
    def patch(self, request: Request, slug: str, evidence_id: str) -> Response:
        evidence = found(selectors.evidence_get(tenant=self.tenant, evidence_id=evidence_id))
        data = EvidenceReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence = evidence_review(
            evidence=evidence,
            status=data.validated_data["status"],
            feedback=data.validated_data.get("feedback"),
            caller=Caller.from_request(request),
        )
        return Response(evidence_json(evidence, slug=slug))


class EvidenceDownloadApi(TenantApiView):
    """Stream the evidence file to the owning tenant (evidence:read)."""

    scope = "evidence"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is the file itself; any Accept header gets it (errors still render as JSON).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="evidence_download",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, with its Content-Type and Content-Disposition"
            ),
            **errors(404),
        },
    )
    def get(self, request: Request, slug: str, evidence_id: str) -> FileResponse:
        evidence = found(selectors.evidence_get(tenant=self.tenant, evidence_id=evidence_id))
        response = FileResponse(
            storage.open_stored(evidence.storage_name),
            as_attachment=True,
            # Cleaned again here: names stored before the cleaning existed reach the download too.
            filename=safe_file_name(evidence.file_name, evidence.content_type),
            content_type=evidence.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        # Opened in a browser tab anyway, the file runs no script and loads nothing.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response


class TaskListApi(TenantApiView):
    """List the tenant's dashboard tasks (evidence reviews), open ones with ?status=open."""

    scope = "evidence"

    @extend_schema(
        operation_id="tasks_list",
        parameters=[OpenApiParameter("status", str, enum=TaskStatus.values)] + PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/TaskOutput"}}), **errors(400)},
    )
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        status_filter = choice_param(request.query_params, "status", TaskStatus.values)
        page = paginate(selectors.task_queryset(tenant=self.tenant, status=status_filter), page_request)
        return Response(page.body([task_json(t) for t in page.rows]))


class TaskDetailApi(TenantApiView):
    """Read one dashboard task."""

    scope = "evidence"

    @extend_schema(operation_id="tasks_read", responses={200: TaskOutputSerializer, **errors(404)})
    def get(self, request: Request, slug: str, task_id: str) -> Response:
        return Response(task_json(found(selectors.task_get(tenant=self.tenant, task_id=task_id))))
