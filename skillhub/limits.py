"""The request body limits, one table for every layer that enforces them.

The application middleware, the front `manage.py serve` starts (skillhub/front_app.py) and the nginx
configuration it can write instead (skillhub/front.py) all read `table()`, so a limit changed in
settings moves everywhere at once, and every layer answers 413 in the shape the path promises.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

API = "api"
SIGNAL = "signal"
PLAIN = "plain"
SCIM = "scim"


@dataclass(frozen=True)
class BodyLimit:
    """Requests whose path matches `pattern` (a regex both Python and nginx read) may send `max_bytes`."""

    name: str
    pattern: str
    max_bytes: int
    shape: str

    def too_large(self) -> tuple[str, bytes]:
        """Return the content type and body of this path's 413 answer."""
        return too_large_body(self.shape, self.max_bytes)


def table() -> list[BodyLimit]:
    """Return the limits, most specific first; the first whose pattern matches a path applies.

    The apps' own routes come from `settings.BODY_LIMIT_ROUTES` (the kernel names no app's URL);
    the API's limit and everything else's close the table. Read at each call: a test may change a size.
    """
    routes = [
        BodyLimit(name, pattern, sum(getattr(settings, size) for size in sizes), shape)
        for name, pattern, sizes, shape in settings.BODY_LIMIT_ROUTES
    ]
    return [
        *routes,
        BodyLimit("API JSON", r"^/api/", settings.API_MAX_BODY_BYTES, API),
        BodyLimit("everything else", r"^/", settings.OTHER_MAX_BODY_BYTES, PLAIN),
    ]


@lru_cache(maxsize=8)
def _compiled(key: tuple[BodyLimit, ...]) -> list[tuple[re.Pattern[str], BodyLimit]]:
    return [(re.compile(limit.pattern), limit) for limit in key]


def limit_for(path: str) -> BodyLimit:
    """Return the limit that applies to a request path."""
    for pattern, limit in _compiled(tuple(table())):
        if pattern.match(path):
            return limit
    raise LookupError(path)  # the last pattern matches every path


def speaks_api(path: str) -> bool:
    """Say whether a path answers in the API's shape (its errors, its 413, its anonymous flood limit).

    Under /api/ but not every route: one whose table row says another shape (the signal webhook) keeps its own.
    """
    return path.startswith("/api/") and limit_for(path).shape == API


def too_large_body(shape: str, max_bytes: int) -> tuple[str, bytes]:
    """Return the content type and body of a 413 in the given shape (docs/contract.md, sections 2 and 4)."""
    if shape == SIGNAL:
        return "application/json", b'{"error": "payload_too_large"}'
    if shape == SCIM:
        scim_body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "413", "detail": f"Request body over {max_bytes} bytes"}
        return "application/scim+json", json.dumps(scim_body).encode()
    if shape == API:
        body = {"error": {"code": "PAYLOAD_TOO_LARGE", "message": f"Request body over {max_bytes} bytes"}}
        return "application/json", json.dumps(body).encode()
    return "text/plain; charset=utf-8", f"Request body over {max_bytes} bytes\n".encode()
