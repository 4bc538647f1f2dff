"""Reads for tenants, API keys and signal secrets."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from skillhub import localcache
from skillhub.cache import cache_is_process_local
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
# A hash no key has is remembered too, so a flood of made-up keys is answered without a query each.
# Keys are random: one cannot be presented before it exists, and creating one clears its entry anyway.
API_KEY_MISS_SECONDS = 60
_MISS = "no-such-key"


def api_key_cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


LOCAL_SECONDS = 2


def _api_key_shared(cache_key: str, key_hash: str) -> ApiKey | str:
    api_key = cache.get(cache_key)
    if api_key is None:
        matches = ApiKey.objects.select_related("tenant")
        # A rotated key answers to its previous secret too, during the overlap (_usable checks it).
        api_key = matches.filter(Q(key_hash=key_hash) | Q(previous_key_hash=key_hash)).first()
        if api_key is None:
            cache.set(cache_key, _MISS, API_KEY_MISS_SECONDS)
            return _MISS
        cache.set(cache_key, api_key, API_KEY_CACHE_SECONDS)
    return api_key


def _usable(found: ApiKey | str | None, key_hash: str) -> ApiKey | None:
    if not isinstance(found, ApiKey) or found.revoked_at is not None:
        return None
    now = timezone.now()
    if found.expires_at is not None and found.expires_at <= now:
        return None
    if found.key_hash != key_hash and (found.previous_valid_until is None or found.previous_valid_until <= now):
        return None  # the secret a rotation replaced, after its overlap
    return found


def api_key_find(*, key_hash: str) -> ApiKey | None:
    """Return the usable API key with this hash (not revoked, not expired), or None.

    The key and its tenant (or the fact that no key has this hash) are cached for a minute in the
    shared cache and two seconds in each process; revoking drops both in the revoking process and
    the shared entry, so other processes refuse the key within two seconds.
    """
    cache_key = api_key_cache_key(key_hash)
    return _usable(localcache.get_or_load(cache_key, LOCAL_SECONDS, lambda: _api_key_shared(cache_key, key_hash)), key_hash)


def api_key_known(*, key_hash: str) -> tuple[bool, ApiKey | None]:
    """Look a key up in the caches alone, never the database: (whether the caches know the hash, the usable key or None)."""
    cache_key = api_key_cache_key(key_hash)
    found = localcache.peek(cache_key)
    if found is None:
        found = cache.get(cache_key)
        if found is None:
            return False, None
        localcache.reload(cache_key, LOCAL_SECONDS, lambda: found)
    return True, _usable(found, key_hash)


def _secrets_cache_key(tenant_slug: str) -> str:
    return f"signal-secrets:{tenant_slug}"


def signal_secrets_for_slug(*, slug: str, fresh: bool = False) -> list[str]:
    """Return the secrets that verify signals for a tenant slug right now ([] for none/unknown).

    Cached so that forged or unknown-tenant requests are refused without a query, when the cache is
    shared by every process. A per-process cache (the embedded default's local memory) cannot be
    cleared by `manage.py issue_signal_secret` running in another process, so there the database is
    read instead (callers memoise for a moment); `fresh` reads the database in any case.
    """
    key = _secrets_cache_key(slug)
    shared = not cache_is_process_local()
    cached = cache.get(key) if shared and not fresh else None
    now = timezone.now()
    if cached is None:
        rows = SignalSecret.objects.filter(tenant__slug=slug).values_list("secret", "valid_until")
        cached = [(secret, valid_until.timestamp() if valid_until else None) for secret, valid_until in rows]
        if shared:
            cache.set(key, cached, _SECRETS_CACHE_SECONDS)
    stamp = now.timestamp()
    return [secret for secret, until in cached if until is None or until > stamp]


def signal_secrets_verifying(*, tenant: Tenant) -> list[SignalSecret]:
    """Return the tenant's signal secrets that verify now, newest first (at most two)."""
    return list(SignalSecret.objects.filter(tenant=tenant).exclude(valid_until__lte=timezone.now()).order_by("-created_at", "-pk"))


def forget_signal_secrets(*, tenant_slug: str) -> None:
    """Drop the cached secrets so a newly issued one works at once."""
    cache.delete(_secrets_cache_key(tenant_slug))


def _staff_miss_key(key_hash: str) -> str:
    return f"staff-token-miss:{key_hash}"


def staff_token_find(*, key_hash: str) -> StaffToken | None:
    """Return the unrevoked staff token with this hash, with its user, if that user is an active staff user.

    A hash no token has is remembered for a minute, so made-up tokens cost no query each.
    """
    if cache.get(_staff_miss_key(key_hash)) is not None:
        return None
    token = StaffToken.objects.select_related("user").filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if token is None:
        cache.set(_staff_miss_key(key_hash), 1, API_KEY_MISS_SECONDS)
        return None
    if not token.user.is_active or not token.user.is_staff:
        return None
    return token


def staff_token_known_missing(*, key_hash: str) -> bool:
    """Say whether the cache already knows that no staff token has this hash (no query)."""
    return cache.get(_staff_miss_key(key_hash)) is not None


def forget_staff_token_miss(*, key_hash: str) -> None:
    cache.delete(_staff_miss_key(key_hash))


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
