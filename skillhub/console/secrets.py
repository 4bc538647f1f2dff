"""The page that shows a new secret or key once, with a copy button, and is never cached."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


def secret_once_response(request: HttpRequest, *, title: str, secret: str, note: str, back: str) -> TemplateResponse:
    """Render the secret once; nothing stores it where it could be shown again."""
    context = {**admin.site.each_context(request), "title": title, "secret": secret, "note": note, "back": back}
    response = TemplateResponse(request, "admin/console/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response
