"""Settings for the signal-ingest benchmark: the project's, plus a bare JSON view as the ceiling."""
from skillhub.settings import *  # noqa: F403

ROOT_URLCONF = "bench.signal_bench_urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
