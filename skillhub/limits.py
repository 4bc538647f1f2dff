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
    """Return the limits, most specific first; the first whose pattern matches a path applies."""
    evidence = settings.EVIDENCE_MAX_UPLOAD_BYTES + settings.UPLOAD_FORM_ALLOWANCE
    signal_prefix = re.escape(settings.SIGNALS_INTEGRATION_PREFIX)
    return [
        BodyLimit("signal webhook", f"^{signal_prefix}", settings.SIGNAL_MAX_BODY_BYTES, SIGNAL),
        BodyLimit("evidence upload", r"^/api/v1/tenants/[^/]+/evidence/?$", evidence, API),
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


def too_large_body(shape: str, max_bytes: int) -> tuple[str, bytes]:
    """Return the content type and body of a 413 in the given shape (SPEC sections 2 and 4)."""
    if shape == SIGNAL:
        return "application/json", b'{"error": "payload_too_large"}'
    if shape == API:
        body = {"error": {"code": "PAYLOAD_TOO_LARGE", "message": f"Request body over {max_bytes} bytes"}}
        return "application/json", json.dumps(body).encode()
    return "text/plain; charset=utf-8", f"Request body over {max_bytes} bytes\n".encode()
