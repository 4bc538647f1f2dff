"""The site's front page and its favicon: what the console's "View site" opens, and what browsers ask for."""
from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

_FAVICON = (Path(__file__).resolve().parents[1] / "static" / "console" / "favicon.ico").read_bytes()


@require_safe
def home_view(request: HttpRequest) -> TemplateResponse:
    """Where skillhub's parts are: the console, the API reference, the health probes."""
    return TemplateResponse(request, "home.html", {})


@require_safe
@cache_control(public=True, max_age=86400)
def favicon_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_FAVICON, content_type="image/x-icon")
