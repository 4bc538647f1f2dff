"""Who performs a change: a stable reference (compared, e.g. assessor vs moderator) and a readable label."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenants.models import ApiKey


@dataclass(frozen=True)
class Caller:
    """The person or key behind a write; `ref` is stable ("api-key:<id>", "user:<id>"), `label` is shown."""

    ref: str
    label: str

    @classmethod
    def from_request(cls, request: Any) -> Caller:
        """Return the caller of an API request (an API key) or a console request (a staff user)."""
        api_key = getattr(request, "auth", None)
        if isinstance(api_key, ApiKey):
            return cls(ref=f"api-key:{api_key.pk}", label=str(request.user)[:200])
        user = request.user
        return cls(ref=f"user:{user.pk}", label=f"user:{user.get_username()}"[:200])

    @classmethod
    def system(cls, name: str) -> Caller:
        return cls(ref=f"system:{name}", label=f"system:{name}")
