"""The one permission class of the tenant API (the key's scopes and its role must both allow a call); staff checks.

Scopes narrow what a key may touch (`<family>:read` for safe methods, `<family>:write` otherwise);
the role says what kind of person may do a write at all. The table below is the README's role
table: every write route names the action it performs (by default `<family>.write`), and only the
roles listed for that action may perform it. An action missing from the table is refused, so a new
route is closed until it is given a row.
"""
from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tenants.models import ApiKey, Role

ADMIN, FACILITATOR, ASSESSOR, MODERATOR, VIEWER = (
    Role.ADMIN.value,
    Role.FACILITATOR.value,
    Role.ASSESSOR.value,
    Role.MODERATOR.value,
    Role.VIEWER.value,
)

# action → roles that may perform it. Reads are open to every role that holds the read scope.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "learners.write": frozenset({ADMIN, FACILITATOR}),
    "credentials.write": frozenset({ADMIN, FACILITATOR}),
    "onboarding.complete": frozenset({ADMIN, FACILITATOR}),
    "onboarding.define": frozenset({ADMIN}),
    "enrollments.write": frozenset({ADMIN, FACILITATOR}),
    "classes.write": frozenset({ADMIN, FACILITATOR}),
    "quizzes.grade": frozenset({ADMIN, FACILITATOR, ASSESSOR}),
    "training_settings.write": frozenset({ADMIN}),
    "courses.write": frozenset({ADMIN}),
    "evidence.write": frozenset({ADMIN, FACILITATOR, ASSESSOR}),
    "evidence.review": frozenset({ADMIN, FACILITATOR, ASSESSOR}),
    "assessments.write": frozenset({ADMIN, ASSESSOR}),
    "assessments.moderate": frozenset({ADMIN, MODERATOR}),
    "exports.write": frozenset({ADMIN, FACILITATOR}),
    "webhooks.write": frozenset({ADMIN}),
    "needs.write": frozenset({ADMIN}),
    "retention.write": frozenset({ADMIN}),
    # Issue, rotate and revoke keys; never one with more rights than the calling key (tenants.services).
    "keys.write": frozenset({ADMIN, FACILITATOR}),
    "groups.write": frozenset({ADMIN, FACILITATOR}),
    "sites.write": frozenset({ADMIN}),
}


def role_may(role: str, action: str) -> bool:
    """Return whether `role` may perform the write `action` (unknown actions: nobody)."""
    return role in ROLE_ACTIONS.get(action, frozenset())


def view_action(view: object, method: str) -> str:
    """Return the write action a view performs for `method`: its `actions[method]`, else `<scope>.write`."""
    actions = getattr(view, "actions", None) or {}
    return actions.get(method) or f"{getattr(view, 'scope', '')}.write"


class HasScope(BasePermission):
    """Require `<view.scope>:read|write` on the key, and for writes a role the role table allows."""

    message = "This API key lacks the scope or role for this request"

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        scope = getattr(view, "scope", None)
        if scope is None:
            return True
        writing = request.method not in SAFE_METHODS
        needed = f"{scope}:{'write' if writing else 'read'}"
        if needed not in api_key.scopes:
            self.message = f"This API key lacks the {needed} scope"
            return False
        if writing:
            action = view_action(view, request.method or "")
            if not role_may(api_key.role, action):
                self.message = f"The {api_key.role} role may not do that ({action})"
                return False
        return True


class IsStaff(BasePermission):
    """A staff user, from a console session or a staff token."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and getattr(request.user, "is_staff", False))
