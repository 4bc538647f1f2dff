"""Scope and role checks for API-key requests; staff checks for the admin API."""
from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tenants.models import Role

READ_ONLY_ROLES = {Role.VIEWER}


class HasScope(BasePermission):
    """Require `<view.scope>:read` for safe methods and `<view.scope>:write` (and a writing role) otherwise."""

    message = "This API key lacks the scope or role for this request"

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if api_key is None:
            return False
        scope = getattr(view, "scope", None)
        if scope is None:
            return True
        writing = request.method not in SAFE_METHODS
        needed = f"{scope}:{'write' if writing else 'read'}"
        if needed not in api_key.scopes:
            self.message = f"This API key lacks the {needed} scope"
            return False
        allowed_roles = getattr(view, "write_roles", None)
        if writing and (api_key.role in READ_ONLY_ROLES or (allowed_roles and api_key.role not in allowed_roles)):
            self.message = f"The {api_key.role} role may not do that"
            return False
        return True


class IsStaff(BasePermission):
    """A staff user, from a console session or a staff token."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and getattr(request.user, "is_staff", False))
