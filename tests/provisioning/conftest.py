"""A SCIM client written against the RFC 7643/7644 examples, authenticated with a `scim` key."""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tenants.models import Role
from tests.factories import make_api_key

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SKILLHUB = "urn:skillhub:params:scim:schemas:extension:skillhub:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class ScimClient:
    """Speaks SCIM to one tenant's base URL, as an identity provider does."""

    def __init__(self, tenant: Any, key: str) -> None:
        self.tenant = tenant
        self.base = f"/scim/v2/tenants/{tenant.slug}"
        self.http = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT=SCIM_JSON)

    def _send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        url = path if path.startswith("/") else f"{self.base}/{path}"
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        data = json.dumps(body) if body is not None else None
        return getattr(self.http, method)(url, data=data, content_type=SCIM_JSON, **extra) if data is not None else getattr(self.http, method)(url, **extra)

    def get(self, path: str, **headers: str) -> Any:
        return self._send("get", path, **headers)

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self._send("post", path, body, **headers)

    def put(self, path: str, body: Any, **headers: str) -> Any:
        return self._send("put", path, body, **headers)

    def patch(self, path: str, operations: list[dict[str, Any]], **headers: str) -> Any:
        return self._send("patch", path, {"schemas": [PATCH_OP], "Operations": operations}, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self._send("delete", path, **headers)


def barbara(**overrides: Any) -> dict[str, Any]:
    """RFC 7643 §8.2's full User representation (the parts a learning platform keeps), as Okta/Entra send it."""
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE],
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "active": True,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}, {"value": "babs@jensen.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
    }
    body.update(overrides)
    return body


@pytest.fixture
def scim_client(tenant):
    return ScimClient(tenant, make_api_key(tenant, role=Role.ADMIN, scopes=["scim"]))
