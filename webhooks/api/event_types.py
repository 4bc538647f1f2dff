"""`GET /api/v1/event-types`: the public event catalog, each type with the JSON Schema of its `data`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from skillhub.api.parameters import refuse_unknown_query_parameters
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, paginate_sequence, paginated_schema, parse_page_request
from webhooks import catalog
from webhooks.docs import catalog_table
from webhooks.openapi import EVENT_TYPE_SCHEMA


class EventTypeListApi(APIView):
    """The public event catalog."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        refuse_unknown_query_parameters(self, request)  # a misspelt parameter is a 400, as on every other list

    @extend_schema(
        operation_id="event_types_list",
        description="Every event type skillhub sends, with the JSON Schema of its `data`.\n\n" + catalog_table(),
        auth=[],
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": EVENT_TYPE_SCHEMA})},
    )
    def get(self, request: Request) -> Response:
        page = paginate_sequence(catalog.EVENT_TYPES, parse_page_request(request.query_params), key=lambda item: item.name)
        return Response(page.body([item.as_json() for item in page.rows]))
