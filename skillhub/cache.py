"""Django's Redis cache, reusing one client per connection pool.

Django builds a new `redis.Redis` object (and its table of ~170 response callbacks) for every
cache call; on the API's hot path that cost more than the Redis round trips themselves.
"""
from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # Django internals, unstubbed
        client = self._clients.get(id(pool))
        if client is None:
            # redis.Redis is thread-safe: it takes a connection from the pool per command.
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class SkillhubRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> ReusingRedisCacheClient:
        return ReusingRedisCacheClient(self._servers, **self._options)  # type: ignore[attr-defined]


def cache_is_process_local() -> bool:
    """Say whether the default cache lives in each process's own memory (no REDIS_URL): not shared, not clearable from outside."""
    return isinstance(caches["default"], LocMemCache)
