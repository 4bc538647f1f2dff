"""Fixtures of the fault tests: a PostgreSQL cluster and a Redis of the test's own, one static tree."""
from __future__ import annotations

from tests.skillhub.faults import own_postgres, own_redis, static_root  # noqa: F401
