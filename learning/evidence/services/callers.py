"""Who performs a change: the key or login (`ref`), the person behind it (`person`) and a readable label."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenants.models import ApiKey


@dataclass(frozen=True)
class Caller:
    """The key or login behind a write (`ref`: "api-key:<id>", "user:<id>"), shown as `label`.

    `person` is who that is: the user who minted the key when it records one, else the key itself, so
    rules about people ("never moderate one's own assessment") hold across all of one person's keys.
    """

    ref: str
    label: str
    person: str = ""

    def __post_init__(self) -> None:
        if not self.person:
            object.__setattr__(self, "person", self.ref)

    @classmethod
    def from_request(cls, request: Any) -> Caller:
        """Return the caller of an API request (an API key) or a console request (a staff user)."""
        api_key = getattr(request, "auth", None)
        if isinstance(api_key, ApiKey):
            return cls.of_api_key(api_key, label=str(request.user))
        user = request.user
        return cls(ref=f"user:{user.pk}", label=f"user:{user.get_username()}"[:200])

    @classmethod
    def of_api_key(cls, api_key: ApiKey, *, label: str = "") -> Caller:
        ref = f"api-key:{api_key.pk}"
        return cls(ref=ref, label=(label or ref)[:200], person=api_key.created_by_ref or ref)

    @classmethod
    def system(cls, name: str) -> Caller:
        return cls(ref=f"system:{name}", label=f"system:{name}")
