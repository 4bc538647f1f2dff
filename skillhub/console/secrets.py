"""A new secret or key is shown once, on a page reached by a redirect (post/redirect/get).

The POST that creates it keeps it in the user's session under a random handle and redirects to
/admin/secret/<handle>/. The first GET takes it out of the session and shows it (never cached);
a refresh or a second visit finds nothing and says so, so nothing is created twice and the secret
is not shown again.
"""
from __future__ import annotations

import secrets as _secrets

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

SESSION_KEY = "console_secrets_once"
# Secrets issued but not yet shown, kept per session; more than this and the oldest is dropped.
MAX_WAITING = 5


def secret_once_redirect(request: HttpRequest, *, title: str, secret: str, note: str, back: str) -> HttpResponseRedirect:
    """Keep the secret for one showing and redirect to the page that shows it."""
    handle = _secrets.token_urlsafe(16)
    waiting = dict(request.session.get(SESSION_KEY) or {})
    while len(waiting) >= MAX_WAITING:
        waiting.pop(next(iter(waiting)))
    waiting[handle] = {"title": title, "secret": secret, "note": note, "back": back}
    request.session[SESSION_KEY] = waiting
    return HttpResponseRedirect(reverse("admin:console_secret_once", args=[handle]))


def secret_once_view(request: HttpRequest, handle: str) -> TemplateResponse:
    """Show the secret kept under `handle` and forget it; a second visit gets a 410 saying it was shown."""
    waiting = dict(request.session.get(SESSION_KEY) or {})
    shown = waiting.pop(handle, None)
    if shown is not None:
        request.session[SESSION_KEY] = waiting
    context = {**admin.site.each_context(request), "is_nav_sidebar_enabled": False}
    if shown is None:
        context.update({"title": "Shown once", "secret": None, "note": "", "back": request.GET.get("back") or reverse("admin:index")})
        response = TemplateResponse(request, "admin/console/secret_once.html", context, status=410)
    else:
        context.update(shown)
        response = TemplateResponse(request, "admin/console/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response
