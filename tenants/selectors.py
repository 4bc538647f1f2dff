"""Reads for tenants, API keys and signal secrets."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from skillhub import localcache
from skillhub.ids import uuid_or_none
from tenants.models import ApiKey, AuditEvent, SignalSecret, StaffToken, Tenant

# Every write of a secret (issue, delete) clears this entry, so it can live long: a flood of forged
# signals then costs one query per tenant per period, not one per minute.
_SECRETS_CACHE_SECONDS = 600


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    """Return the tenant with this slug, or None."""
    return Tenant.objects.filter(slug=slug).first()


def tenants_for_user(*, user: Any) -> list[Tenant]:
    """Return the tenants a console user administers (all of them for a superuser)."""
    if user.is_superuser:
        return list(Tenant.objects.all())
    return list(Tenant.objects.filter(memberships__user=user))


def user_administers(*, user: Any, tenant: Tenant) -> bool:
    """Say whether a console user may administer the tenant."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or tenant.memberships.filter(user=user).exists()


def user_acts_for(*, user: Any, tenant: Tenant) -> bool:
    """Say whether a console user may change the tenant's data (a superuser, or a member with the admin role)."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or tenant.memberships.filter(user=user, role="admin").exists()


API_KEY_CACHE_SECONDS = 60


def api_key_cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


LOCAL_SECONDS = 2


def _api_key_shared(cache_key: str, key_hash: str) -> ApiKey | None:
    api_key = cache.get(cache_key)
    if api_key is None:
        matches = ApiKey.objects.select_related("tenant")
        api_key = matches.filter(key_hash=key_hash).first() or matches.filter(previous_key_hash=key_hash).first()
        if api_key is not None:
            cache.set(cache_key, api_key, API_KEY_CACHE_SECONDS)
    return api_key


def api_key_find(*, key_hash: str) -> ApiKey | None:
    """Return the usable API key with this hash (not revoked, not expired), or None.

    The key and its tenant are cached for a minute in the shared cache and two seconds in each
    process; revoking drops both in the revoking process and the shared entry, so other processes
    refuse the key within two seconds.
    """
    cache_key = api_key_cache_key(key_hash)
    api_key = localcache.get_or_load(cache_key, LOCAL_SECONDS, lambda: _api_key_shared(cache_key, key_hash))
    if api_key is None or api_key.revoked_at is not None:
        return None
    now = timezone.now()
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return None
    if api_key.key_hash != key_hash and (api_key.previous_valid_until is None or api_key.previous_valid_until <= now):
        return None  # the secret a rotation replaced, after its overlap
    return api_key


def _secrets_cache_key(tenant_slug: str) -> str:
    return f"signal-secrets:{tenant_slug}"


def signal_secrets_for_slug(*, slug: str) -> list[str]:
    """Return the secrets that verify signals for a tenant slug right now ([] for none/unknown).

    Cached briefly so that forged or unknown-tenant requests are refused without a query.
    """
    key = _secrets_cache_key(slug)
    cached = cache.get(key)
    now = timezone.now()
    if cached is None:
        rows = SignalSecret.objects.filter(tenant__slug=slug).values_list("secret", "valid_until")
        cached = [(secret, valid_until.timestamp() if valid_until else None) for secret, valid_until in rows]
        cache.set(key, cached, _SECRETS_CACHE_SECONDS)
    stamp = now.timestamp()
    return [secret for secret, until in cached if until is None or until > stamp]


def forget_signal_secrets(*, tenant_slug: str) -> None:
    """Drop the cached secrets so a newly issued one works at once."""
    cache.delete(_secrets_cache_key(tenant_slug))


def staff_token_find(*, key_hash: str) -> StaffToken | None:
    """Return the unrevoked staff token with this hash, with its user, if that user is an active staff user."""
    token = StaffToken.objects.select_related("user").filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if token is None or not token.user.is_active or not token.user.is_staff:
        return None
    return token


def audit_event_queryset(
    *,
    tenant: Tenant,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    actor_kind: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Return the tenant's audit events, oldest first, narrowed by whichever filters are given."""
    rows = AuditEvent.objects.filter(tenant=tenant)
    filters: dict[str, Any] = {
        "object_type": object_type,
        "object_id": object_id,
        "actor": actor,
        "actor_kind": actor_kind,
        "action": action,
        "created_at__gte": since,
        "created_at__lt": until,
    }
    rows = rows.filter(**{lookup: value for lookup, value in filters.items() if value not in (None, "")})
    return rows.order_by("id")


def api_key_queryset(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """Return the tenant's API keys (revoked ones too), oldest first."""
    return ApiKey.objects.filter(tenant=tenant).order_by("id")


def api_key_get(*, tenant: Tenant, key_id: Any) -> ApiKey | None:
    """Return the tenant's API key with this id, or None."""
    pk = uuid_or_none(key_id)
    return ApiKey.objects.filter(tenant=tenant, pk=pk).first() if pk else None
