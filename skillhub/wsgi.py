"""WSGI entry point for gunicorn."""
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillhub.settings")
_django = get_wsgi_application()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Django, with the client's address taken from the front when the request came through it."""
    # Over the front's private unix socket gunicorn has no peer address; nginx names the client.
    # A TCP peer always has one, so a client talking to gunicorn directly cannot choose its address.
    if not environ.get("REMOTE_ADDR") and environ.get("HTTP_X_REAL_IP"):
        environ["REMOTE_ADDR"] = environ["HTTP_X_REAL_IP"]
    return _django(environ, start_response)
