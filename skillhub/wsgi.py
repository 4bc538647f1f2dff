"""WSGI entry point for gunicorn."""
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillhub.settings")
_django = get_wsgi_application()
# Django imports the URLconf, and with it every view (SCIM's models, the API's serializers), on
# the first request; about a second that a client would wait. Each web process pays it here instead.
get_resolver().url_patterns  # noqa: B018


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Django, with the client's address taken from the front when the request came through it."""
    # Over the front's private unix socket gunicorn has no peer address; nginx names the client.
    # A TCP peer always has one, so a client talking to gunicorn directly cannot choose its address.
    if not environ.get("REMOTE_ADDR") and environ.get("HTTP_X_REAL_IP"):
        environ["REMOTE_ADDR"] = environ["HTTP_X_REAL_IP"]
    return _django(environ, start_response)
