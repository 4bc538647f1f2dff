"""Scenarios for the event-contract test: each performs, through the API, the change behind some event types.

A scenario module in this package registers functions with `@scenario("type", …)`; the contract
test imports every module here, runs the scenario that produces each catalog type, delivers the
resulting events to a real receiver and validates them. A new producer adds a module here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from rest_framework.test import APIClient

from tenants.models import Tenant


@dataclass
class Context:
    """What a scenario works with: an admin API client of the tenant, and room to keep state."""

    api: APIClient
    tenant: Tenant
    state: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"/api/v1/tenants/{self.tenant.slug}/{path.lstrip('/')}"

    def post(self, path: str, body: Any = None, *, expect: int | tuple[int, ...] = (200, 201, 202)) -> Any:
        """POST JSON to a tenant route, assert the status, and return the decoded answer (or None)."""
        response = self.api.post(self.url(path), body, format="json")
        expected = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in expected, (path, response.status_code, response.content[:500])
        return response.json() if response.content else None

    def patch(self, path: str, body: Any, *, expect: int = 200) -> Any:
        response = self.api.patch(self.url(path), body, format="json")
        assert response.status_code == expect, (path, response.status_code, response.content[:500])
        return response.json() if response.content else None

    def delete(self, path: str, *, expect: int = 204) -> None:
        response = self.api.delete(self.url(path))
        assert response.status_code == expect, (path, response.status_code, response.content[:500])


Scenario = Callable[[Context], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(*event_types: str) -> Callable[[Scenario], Scenario]:
    """Register `function` as the scenario that produces `event_types`."""

    def register(function: Scenario) -> Scenario:
        for name in event_types:
            assert name not in SCENARIOS, f"two scenarios produce {name}"
            SCENARIOS[name] = function
        return function

    return register
