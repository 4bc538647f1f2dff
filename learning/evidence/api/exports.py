"""Export routes: request one (202), follow its progress, download the file while it lives."""
from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from learning.evidence import selectors, storage
from learning.evidence.api.common import errors, found
from learning.evidence.api.serializers import ExportInputSerializer, ExportOutputSerializer
from learning.evidence.models import ExportStatus
from learning.evidence.representations import export_json
from learning.evidence.services import Caller, export_request
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, paginate, paginated_schema, parse_page_request
from tenants.api.views import TenantApiView
from skillhub.errors import ConflictError, DomainError


class ExportGone(DomainError):
    code = "GONE"
    status = 410


class ExportListCreateApi(TenantApiView):
    """List the tenant's exports, or request one: 202 with its id; a worker writes it."""

    scope = "exports"

    @extend_schema(
        operation_id="exports_list",
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/ExportOutput"}}), **errors(400)},
    )
    def get(self, request: Request, slug: str) -> Response:
        page = paginate(selectors.export_queryset(tenant=self.tenant), parse_page_request(request.query_params))
        return Response(page.body([export_json(e, slug=slug) for e in page.rows]))

    @extend_schema(
        operation_id="exports_create",
        request=ExportInputSerializer,
        responses={202: ExportOutputSerializer, **errors(400)},
        description="Rows are written in the background in keyset batches; `GET /exports/{id}` shows progress. "
        "When done, `export.ready` carries the absolute `downloadUrl`, valid until `expiresAt`.",
    )
    def post(self, request: Request, slug: str) -> Response:
        data = ExportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        export = export_request(
            tenant=self.tenant,
            kind=values["kind"],
            filters=values.get("filters") or {},
            format=values.get("format") or "csv",
            raw=values.get("raw", False),
            caller=Caller.from_request(request),
        )
        return Response(export_json(export, slug=slug), status=status.HTTP_202_ACCEPTED)


class ExportDetailApi(TenantApiView):
    """One export: status, progress (rows, percent), the reason if it failed, the link when done."""

    scope = "exports"

    @extend_schema(operation_id="exports_read", responses={200: ExportOutputSerializer, **errors(404)})
    def get(self, request: Request, slug: str, export_id: str) -> Response:
        return Response(export_json(found(selectors.export_get(tenant=self.tenant, export_id=export_id)), slug=slug))


class ExportDownloadApi(TenantApiView):
    """Stream a finished export's CSV to the owning tenant (exports:read) until it expires."""

    scope = "exports"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="exports_download",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV file"),
            **errors(404, 409, 410),
        },
    )
    def get(self, request: Request, slug: str, export_id: str) -> FileResponse:
        export = found(selectors.export_get(tenant=self.tenant, export_id=export_id))
        if export.status == ExportStatus.EXPIRED or (
            export.status == ExportStatus.DONE and export.expires_at and export.expires_at <= timezone.now()
        ):
            raise ExportGone("This export expired; request a new one")
        if export.status != ExportStatus.DONE:
            raise ConflictError(f"The export is {export.status}, not ready for download")
        response = FileResponse(
            storage.open_stored(export.storage_name),
            as_attachment=True,
            filename=f"{export.kind}-{export.pk}.csv",
            content_type="text/csv; charset=utf-8",
        )
        response["Cache-Control"] = "private, no-store"
        return response
