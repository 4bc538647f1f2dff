"""The shared cache on Redis: one redis-py client per process, and carrying on in process memory while Redis is away.

A cache backend built on Django's public `BaseCache` and redis-py's public `Redis` client (one per
process: it is thread-safe and takes a connection from its pool per command). Django's own Redis
backend builds a new `redis.Redis` (and its table of ~170 response callbacks) for every cache call;
on the API's hot path that cost more than the Redis round trips themselves. Values are stored as
Django's backend stores them (`RedisSerializer`: integers as they are, the rest pickled).

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
from typing import Any, cast

import redis
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisSerializer

logger = logging.getLogger("skillhub.cache")

# Seconds between tries to reach Redis again once it failed; meanwhile the local fallback answers.
RETRY_SECONDS = 1.0
# Bounded waits: a Redis host that vanished must cost a request a moment, not a TCP timeout.
CONNECT_TIMEOUT = 1.0
SOCKET_TIMEOUT = 2.0

UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisStore:
    """The cache operations on one redis-py client, on keys the cache has already made (Django's semantics)."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        options = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT, **options}
        self.client = redis.Redis.from_url(url, **options)
        self.serializer = RedisSerializer()

    def add(self, key: str, value: Any, timeout: int | None) -> bool:
        data = self.serializer.dumps(value)
        if timeout == 0:  # added and gone at once: say whether it would have been added
            added = bool(self.client.set(key, data, nx=True))
            if added:
                self.client.delete(key)
            return added
        return bool(self.client.set(key, data, ex=timeout, nx=True))

    def get(self, key: str, default: Any) -> Any:
        value = self.client.get(key)
        return default if value is None else self.serializer.loads(cast(bytes, value))

    def set(self, key: str, value: Any, timeout: int | None) -> None:
        if timeout == 0:
            self.client.delete(key)
        else:
            self.client.set(key, self.serializer.dumps(value), ex=timeout)

    def touch(self, key: str, timeout: int | None) -> bool:
        return bool(self.client.persist(key) if timeout is None else self.client.expire(key, timeout))

    def delete(self, key: str) -> bool:
        return bool(self.client.delete(key))

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return {key: self.serializer.loads(cast(bytes, value)) for key, value in zip(keys, self.client.mget(keys)) if value is not None}

    def has_key(self, key: str) -> bool:
        return bool(self.client.exists(key))

    def incr(self, key: str, delta: int) -> int:
        if not self.client.exists(key):
            raise ValueError(f"Key {key!r} not found.")
        return int(self.client.incr(key, delta))

    def set_many(self, data: dict[str, Any], timeout: int | None) -> list[Any]:
        pipeline = self.client.pipeline()
        pipeline.mset({key: self.serializer.dumps(value) for key, value in data.items()})
        if timeout is not None:  # MSET takes no expiry: one EXPIRE per key, in the same round trip
            for key in data:
                pipeline.expire(key, timeout)
        pipeline.execute()
        return []

    def delete_many(self, keys: list[str]) -> None:
        if keys:
            self.client.delete(*keys)

    def clear(self) -> bool:
        return bool(self.client.flushdb())


class SkillhubRedisCache(BaseCache):
    """The Redis cache (`RedisStore`), falling back to process memory while Redis cannot be reached."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.store = RedisStore(server, dict(params.get("OPTIONS") or {}))
        self.fallback = LocMemCache(f"skillhub-fallback-{id(self)}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._down_until = 0.0
        self._pending_deletes: set[str] = set()
        self._lock = threading.Lock()

    @property
    def client(self) -> redis.Redis:
        """The redis-py client, for what the cache API cannot say in one round trip (pipelines)."""
        return self.store.client

    def get_backend_timeout(self, timeout: Any = DEFAULT_TIMEOUT) -> int | None:
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        # None keeps the key for good; zero or less deletes it (Django's Redis semantics).
        return None if timeout is None else max(0, int(timeout))

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
                self.store.delete_many(list(pending))
            self.store.client.ping()
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

    def _call(self, name: str, *args: Any, fallback_args: tuple[Any, ...] | None = None, **kwargs: Any) -> Any:
        """Run store.<name>(*args) on Redis, or fallback.<name>(*fallback_args, **kwargs) while it is away."""
        if self.reachable():
            try:
                return getattr(self.store, name)(*args)
            except UNREACHABLE as exc:
                self.note_unreachable(exc)
        return getattr(self.fallback, name)(*(args if fallback_args is None else fallback_args), **kwargs)

    def _forget_later(self, keys: list[str]) -> None:
        """Delete these (already versioned) keys from Redis once it answers again."""
        with self._lock:
            self._pending_deletes.update(keys)

    # --- the cache API (Django's BaseCache) ----------------------------------------------------

    def _key(self, key: Any, version: int | None) -> str:
        return self.make_and_validate_key(key, version=version)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        made = self._key(key, version)
        return bool(self._call("add", made, value, self.get_backend_timeout(timeout), fallback_args=(key, value, timeout), version=version))

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call("get", self._key(key, version), default, fallback_args=(key, default), version=version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._call("set", self._key(key, version), value, self.get_backend_timeout(timeout), fallback_args=(key, value, timeout), version=version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._call("touch", self._key(key, version), self.get_backend_timeout(timeout), fallback_args=(key, timeout), version=version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        self.fallback.delete(key, version=version)
        made = self._key(key, version)
        if self.reachable():
            try:
                return self.store.delete(made)
            except UNREACHABLE as exc:
                self.note_unreachable(exc)
        self._forget_later([made])
        return True

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        keys = list(keys)
        made = {self._key(key, version): key for key in keys}
        if self.reachable():
            try:
                return {made[k]: value for k, value in self.store.get_many(list(made)).items()}
            except UNREACHABLE as exc:
                self.note_unreachable(exc)
        return dict(self.fallback.get_many(keys, version=version))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._call("has_key", self._key(key, version), fallback_args=(key,), version=version))

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return int(self._call("incr", self._key(key, version), delta, fallback_args=(key, delta), version=version))

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        if not data:
            return []
        made = {self._key(key, version): value for key, value in data.items()}
        return list(self._call("set_many", made, self.get_backend_timeout(timeout), fallback_args=(data, timeout), version=version) or [])

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        keys = list(keys)
        self.fallback.delete_many(keys, version=version)
        made = [self._key(key, version) for key in keys]
        if self.reachable():
            try:
                self.store.delete_many(made)
                return
            except UNREACHABLE as exc:
                self.note_unreachable(exc)
        self._forget_later(made)

    def clear(self) -> None:
        self.fallback.clear()
        self._call("clear", fallback_args=())


def cache_is_process_local() -> bool:
    """Say whether the default cache lives in each process's own memory (no REDIS_URL): not shared, not clearable from outside."""
    return isinstance(caches["default"], LocMemCache)
