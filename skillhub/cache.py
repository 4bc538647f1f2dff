"""Django's Redis cache, reusing one client per connection pool, and carrying on in process memory while Redis is away.

Django builds a new `redis.Redis` object (and its table of ~170 response callbacks) for every
cache call; on the API's hot path that cost more than the Redis round trips themselves.

Nothing in the cache is the only copy of anything (API keys, secrets and totals are re-read from
the database; counters restart), so a Redis that does not answer must not fail a request: each
call that cannot reach it is served by a local-memory cache of this process instead, and for
`RETRY_SECONDS` after a failure the calls go there directly rather than each waiting for a
connection error. Keys deleted meanwhile are deleted in Redis too once it answers again, so a
key revoked during the outage does not come back from Redis's copy.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

logger = logging.getLogger("skillhub.cache")

# Seconds between tries to reach Redis again once it failed; meanwhile the local fallback answers.
RETRY_SECONDS = 1.0
# Bounded waits: a Redis host that vanished must cost a request a moment, not a TCP timeout.
CONNECT_TIMEOUT = 1.0
SOCKET_TIMEOUT = 2.0

UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


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
    """RedisCache that falls back to process memory while Redis cannot be reached."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
        options.setdefault("socket_timeout", SOCKET_TIMEOUT)
        super().__init__(server, {**params, "OPTIONS": options})
        self.fallback = LocMemCache(f"skillhub-fallback-{id(self)}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._down_until = 0.0
        self._pending_deletes: set[str] = set()
        self._lock = threading.Lock()

    @cached_property
    def _cache(self) -> ReusingRedisCacheClient:
        return ReusingRedisCacheClient(self._servers, **self._options)  # type: ignore[attr-defined]

    # --- the state of the link -----------------------------------------------------------------

    def reachable(self) -> bool:
        """Say whether Redis is worth trying now (it has not failed in the last RETRY_SECONDS)."""
        if self._down_until == 0.0:
            return True
        if time.monotonic() < self._down_until:
            return False
        return self._recover()

    def note_unreachable(self, exc: BaseException) -> None:
        """Record that Redis did not answer: use the fallback for a while."""
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + RETRY_SECONDS
        if first:
            logger.warning("cache: Redis unreachable (%s); serving from process memory until it answers", type(exc).__name__)

    def _recover(self) -> bool:
        with self._lock:
            pending, self._pending_deletes = self._pending_deletes, set()
        try:
            if pending:
                self._cache.delete_many(list(pending))
            self._cache.get_client().ping()
        except UNREACHABLE as exc:
            with self._lock:
                self._pending_deletes |= pending
            self.note_unreachable(exc)
            return False
        with self._lock:
            self._down_until = 0.0
        self.fallback.clear()
        logger.warning("cache: Redis answers again")
        return True

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.reachable():
            try:
                return getattr(super(), name)(*args, **kwargs)
            except UNREACHABLE as exc:
                self.note_unreachable(exc)
        return getattr(self.fallback, name)(*args, **kwargs)

    def _forget_later(self, keys: list[str]) -> None:
        """Delete these (already versioned) keys from Redis once it answers again."""
        with self._lock:
            self._pending_deletes.update(keys)

    # --- the cache API -------------------------------------------------------------------------

    def add(self, key: Any, value: Any, timeout: Any = ..., version: int | None = None) -> bool:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return bool(self._call("add", key, value, version=version, **kwargs))

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call("get", key, default, version=version)

    def set(self, key: Any, value: Any, timeout: Any = ..., version: int | None = None) -> None:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        self._call("set", key, value, version=version, **kwargs)

    def touch(self, key: Any, timeout: Any = ..., version: int | None = None) -> bool:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return bool(self._call("touch", key, version=version, **kwargs))

    def delete(self, key: Any, version: int | None = None) -> bool:
        self.fallback.delete(key, version=version)
        if self.reachable():
            try:
                return bool(super().delete(key, version=version))
            except UNREACHABLE as exc:
                self.note_unreachable(exc)
        self._forget_later([self.make_key(key, version=version)])
        return True

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return dict(self._call("get_many", keys, version=version))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._call("has_key", key, version=version))

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return int(self._call("incr", key, delta, version=version))

    def set_many(self, data: dict[Any, Any], timeout: Any = ..., version: int | None = None) -> list[Any]:
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return list(self._call("set_many", data, version=version, **kwargs) or [])

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        keys = list(keys)
        self.fallback.delete_many(keys, version=version)
        if self.reachable():
            try:
                super().delete_many(keys, version=version)
                return
            except UNREACHABLE as exc:
                self.note_unreachable(exc)
        self._forget_later([self.make_key(key, version=version) for key in keys])

    def clear(self) -> None:
        self.fallback.clear()
        self._call("clear")


def cache_is_process_local() -> bool:
    """Say whether the default cache lives in each process's own memory (no REDIS_URL): not shared, not clearable from outside."""
    return isinstance(caches["default"], LocMemCache)
