"""The human API docs page (ReDoc), held to the machine it is served from."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView

# ReDoc, its fonts and the spec all come from this server. Its bundle still names a logo on the
# vendor's CDN in the sidebar's footer: the policy keeps the browser from asking for it (the image
# hides itself when it cannot load), so the page makes no request to another host.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # the inline Redoc.init call the page ends with
        "style-src 'self' 'unsafe-inline'",  # ReDoc's styled components
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",  # ReDoc's search index runs in a worker it builds from a blob
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ]
)


class DocsView(SpectacularRedocView):
    @extend_schema(exclude=True)
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response
