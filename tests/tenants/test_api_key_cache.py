"""API keys are cached per process for two seconds; a revocation elsewhere is seen after that."""
from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from skillhub import localcache
from tenants.models import ApiKey
from tenants.selectors import api_key_cache_key, api_key_find
from skillhub.crypto import token_hash
from tests.factories import make_api_key

pytestmark = pytest.mark.django_db


def test_revocation_in_another_process_is_seen_within_two_seconds(tenant, monkeypatch):
    raw = make_api_key(tenant)
    key_hash = token_hash(raw)
    assert api_key_find(key_hash=key_hash) is not None
    # Another process revokes: the database row and the shared cache entry change, not our memory.
    ApiKey.objects.filter(key_hash=key_hash).update(revoked_at=timezone.now())
    cache.delete(api_key_cache_key(key_hash))
    assert api_key_find(key_hash=key_hash) is not None
    later = time.monotonic() + 2.5
    monkeypatch.setattr(localcache.time, "monotonic", lambda: later)
    assert api_key_find(key_hash=key_hash) is None
