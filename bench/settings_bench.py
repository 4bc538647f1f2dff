"""Benchmark settings: the project's settings plus a bare JSON view as the throughput ceiling."""
from skillhub.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_bench"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
