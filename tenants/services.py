"""Writes for tenants, sites, groups, API keys, signal secrets and memberships."""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from skillhub import localcache
from skillhub.crypto import token_hash
from skillhub.errors import ConflictError, ForbiddenError, ValidationFailed
from skillhub.hooks import after_commit
from tenants.models import SCOPES, ApiKey, Group, Plan, Role, SignalSecret, Site, StaffToken, Tenant, TenantMembership
from tenants.selectors import api_key_cache_key, forget_signal_secrets, forget_staff_token_miss

API_KEY_PREFIX = "shk_"
STAFF_TOKEN_PREFIX = "sht_"
SIGNAL_SECRET_OVERLAP = timedelta(hours=24)


def tenant_create(*, slug: str, name: str, plan: str = Plan.PILOT) -> tuple[Tenant, bool]:
    """Create a tenant, or return the existing one with that slug; the flag says which."""
    if plan not in Plan.values:
        raise ValidationFailed({"plan": f"must be one of {', '.join(Plan.values)}"})
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name, "plan": plan})
    return tenant, created


def site_get_or_create(*, tenant: Tenant, name: str) -> Site:
    """Return the tenant's site with this name, creating it on first use."""
    site, _ = Site.objects.get_or_create(tenant=tenant, name=name.strip())
    return site


def group_create(*, tenant: Tenant, name: str) -> Group:
    """Create a learner group in the tenant."""
    try:
        with transaction.atomic():
            return Group.objects.create(tenant=tenant, name=name.strip())
    except IntegrityError as exc:
        raise ConflictError(f"A group named {name!r} already exists", field="name") from exc


def group_rename(*, group: Group, name: str) -> Group:
    """Rename a learner group; the name stays unique in the tenant."""
    try:
        with transaction.atomic():
            group.name = name.strip()
            group.save(update_fields=["name"])
    except IntegrityError as exc:
        raise ConflictError(f"A group named {name!r} already exists", field="name") from exc
    return group


def group_delete(*, group: Group) -> None:
    """Delete a learner group (callers take it off its learners first, so their group lists stay true)."""
    group.delete()


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str


def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    role: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    created_by_ref: str = "",
    created_by_label: str = "",
) -> IssuedApiKey:
    """Create an API key; the raw key is returned here once and never stored.

    `created_by_ref` names the person minting it ("user:<id>"): what the key does is then done by that
    person (one person may not moderate their own assessment through any of their keys).
    """
    errors: dict[str, str] = {}
    if role not in Role.values:
        errors["role"] = f"must be one of {', '.join(Role.values)}"
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        errors["scopes"] = f"unknown scopes: {', '.join(unknown)}"
    if not name.strip():
        errors["name"] = "must not be blank"
    if errors:
        raise ValidationFailed(errors)
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name.strip(),
        role=role,
        scopes=sorted(set(scopes)),
        prefix=raw_key[:12],
        key_hash=token_hash(raw_key),
        expires_at=expires_at,
        created_by_ref=created_by_ref[:100],
        created_by_label=(created_by_label or created_by_ref)[:200],
    )
    # Unknown hashes are cached as misses; a new key's hash cannot have been seen, but clear it regardless.
    _forget_api_key(api_key)
    after_commit(_forget_api_key, api_key)
    return IssuedApiKey(api_key=api_key, raw_key=raw_key)


def role_within(role: str, ceiling: str) -> bool:
    """Say whether `role` may do nothing that `ceiling` may not (so a key of role `ceiling` may issue it)."""
    from tenants.api.permissions import ROLE_ACTIONS

    return all(ceiling in roles for roles in ROLE_ACTIONS.values() if role in roles)


def api_key_check_delegation(*, issuer: ApiKey, role: str, scopes: list[str]) -> None:
    """Refuse a key with more rights than `issuer`: a scope it lacks, or a role that may do more."""
    beyond = sorted(set(scopes) - set(issuer.scopes))
    if beyond:
        raise ForbiddenError(f"This API key cannot grant scopes it does not hold: {', '.join(beyond)}", field="scopes")
    if role in Role.values and not role_within(role, issuer.role):
        raise ForbiddenError(f"This API key ({issuer.role}) cannot grant the {role} role", field="role")


def api_key_issue(
    *,
    issuer: ApiKey,
    name: str,
    role: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> IssuedApiKey:
    """Create a key on behalf of another key of the same tenant, with no more rights than it has."""
    api_key_check_delegation(issuer=issuer, role=role, scopes=scopes)
    # The new key acts for whoever the issuing key acts for, so a key cannot mint itself a second person
    # (one person may not moderate their own assessment through any of their keys).
    return api_key_create(
        tenant=issuer.tenant,
        name=name,
        role=role,
        scopes=scopes,
        expires_at=expires_at,
        created_by_ref=issuer.created_by_ref or f"api-key:{issuer.pk}",
        created_by_label=issuer.created_by_label or f"api-key:{issuer.prefix}",
    )


API_KEY_ROTATION_OVERLAP = timedelta(hours=24)


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, overlap: timedelta = API_KEY_ROTATION_OVERLAP) -> IssuedApiKey:
    """Give a key a new secret; the current one keeps working for `overlap` (24 hours by default), then stops."""
    if api_key.revoked_at is not None:
        raise ConflictError("A revoked key cannot be rotated; issue a new one", field="id")
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    replaced = [h for h in (locked.key_hash, locked.previous_key_hash) if h]
    now = timezone.now()
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    locked.previous_key_hash = locked.key_hash if overlap > timedelta(0) else None
    locked.previous_prefix = locked.prefix
    locked.previous_valid_until = now + overlap if overlap > timedelta(0) else None
    locked.key_hash = token_hash(raw_key)
    locked.prefix = raw_key[:12]
    locked.rotated_at = now
    locked.save(update_fields=["previous_key_hash", "previous_prefix", "previous_valid_until", "key_hash", "prefix", "rotated_at"])
    for key_hash in replaced:
        _forget_hash(key_hash)
        after_commit(_forget_hash, key_hash)
    return IssuedApiKey(api_key=locked, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once; it stops authenticating on the next request."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    _forget_api_key(api_key)
    after_commit(_forget_api_key, api_key)
    return api_key


def _forget_api_key(api_key: ApiKey) -> None:
    for key_hash in (api_key.key_hash, api_key.previous_key_hash):
        if key_hash:
            _forget_hash(key_hash)


def _forget_hash(key_hash: str) -> None:
    cache.delete(api_key_cache_key(key_hash))
    localcache.forget(api_key_cache_key(key_hash))


_last_touched: dict[object, float] = {}


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record that the key was used, at most once a minute per process to keep requests write-free."""
    now = timezone.now()
    stamp = now.timestamp()
    if stamp - _last_touched.get(api_key.pk, 0.0) < 60:
        return
    _last_touched[api_key.pk] = stamp
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


@transaction.atomic
def signal_secret_issue(*, tenant: Tenant) -> SignalSecret:
    """Issue a new signal secret: the current one stays valid for 24 hours, any older one ends now.

    At most two secrets verify at once, so a rotation cannot leave a trail of live secrets behind it.
    """
    # Serialise concurrent rotations of one tenant, so two of them cannot both keep their predecessor.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    now = timezone.now()
    SignalSecret.objects.filter(tenant=tenant, valid_until__gt=now).update(valid_until=now)
    SignalSecret.objects.filter(tenant=tenant, valid_until__isnull=True).update(valid_until=now + SIGNAL_SECRET_OVERLAP)
    raw = "sig_secret_" + secrets.token_urlsafe(32)
    secret = SignalSecret.objects.create(tenant=tenant, secret=raw, prefix=raw[:16][-12:])
    after_commit(forget_signal_secrets, tenant_slug=tenant.slug)
    return secret


def signal_secrets_delete(*, signal_secrets: Iterable[SignalSecret]) -> int:
    """Withdraw signal secrets at once (no overlap); return how many were deleted."""
    withdrawn = list(signal_secrets)
    deleted, _ = SignalSecret.objects.filter(pk__in=[secret.pk for secret in withdrawn]).delete()
    for slug in {secret.tenant.slug for secret in withdrawn}:
        after_commit(forget_signal_secrets, tenant_slug=slug)
    return deleted


def membership_grant(*, tenant: Tenant, user: Any, role: str = Role.ADMIN) -> TenantMembership:
    """Let a console user administer the tenant."""
    membership, _ = TenantMembership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": role})
    return membership


# The apps whose models the console shows; a model added to one of them is covered on the next ensure.
CONSOLE_APPS = ("tenants", "learning", "webhooks", "signals_inbox", "provisioning")
CONSOLE_ADMIN_GROUP = "console admin"
CONSOLE_VIEWER_GROUP = "console viewer"
# Creating tenants and granting access stay with operators (superusers); a tenant admin only reads them.
_OPERATOR_ONLY = {"add_tenant", "delete_tenant", "add_tenantmembership", "change_tenantmembership", "delete_tenantmembership"}


def console_roles_ensure() -> tuple[Any, Any]:
    """Create or refresh the "console admin" and "console viewer" permission groups; return them."""
    from django.contrib.auth.models import Group as AuthGroup
    from django.contrib.auth.models import Permission

    permissions = list(Permission.objects.filter(content_type__app_label__in=CONSOLE_APPS).select_related("content_type"))
    admin_group, _ = AuthGroup.objects.get_or_create(name=CONSOLE_ADMIN_GROUP)
    viewer_group, _ = AuthGroup.objects.get_or_create(name=CONSOLE_VIEWER_GROUP)
    admin_group.permissions.set([p for p in permissions if p.codename not in _OPERATOR_ONLY])
    viewer_group.permissions.set([p for p in permissions if p.codename.startswith("view_") and p.codename != "view_stafftoken"])
    return admin_group, viewer_group


@transaction.atomic
def console_admin_create(*, tenant: Tenant, username: str, password: str, email: str = "", role: str = Role.ADMIN) -> Any:
    """Create (or reset) a staff login for the tenant's console, as an "admin" (acts) or a "viewer" (reads)."""
    if role not in (Role.ADMIN, Role.VIEWER):
        raise ValidationFailed({"role": "must be admin or viewer"})
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"email": email})
    user.is_staff = True
    user.set_password(password)
    user.save()
    membership_grant(tenant=tenant, user=user, role=role)
    admin_group, viewer_group = console_roles_ensure()
    # Model permissions are global; the per-tenant role is checked row by row (tenants.admin_scoping).
    acts_somewhere = TenantMembership.objects.filter(user=user, role=Role.ADMIN).exists()
    user.groups.remove(admin_group, viewer_group)
    user.groups.add(admin_group if acts_somewhere else viewer_group)
    return user


def staff_token_create(*, user: Any, name: str) -> tuple[StaffToken, str]:
    """Create an admin-API token for a staff user; the raw token is returned once and never stored."""
    if not user.is_staff:
        raise ValueError("staff tokens are only for staff users")
    raw = STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = StaffToken.objects.create(user=user, name=name[:200], prefix=raw[:12], key_hash=token_hash(raw))
    forget_staff_token_miss(key_hash=token.key_hash)
    return token, raw
