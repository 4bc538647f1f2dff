"""Benchmark settings: the project's settings plus the bare answers the benchmarks are ratios to.

`/bench/bare` (bench/urls_bench.py) passes the whole middleware stack, as every API request does.
`/bench/signal-bare` is the signal ceiling: the same read and answer, with no work, answered right after
CommonMiddleware (where the signal webhook was answered when a middleware served it). The webhook is now
an ordinary view behind the whole stack, so ratios to this ceiling include what the rest of the stack costs.
"""
from skillhub.settings import *  # noqa: F403
from skillhub.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls_bench"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

_at = MIDDLEWARE.index("django.middleware.common.CommonMiddleware") + 1
MIDDLEWARE = [*MIDDLEWARE[:_at], "bench.ceiling.BareSignalMiddleware", *MIDDLEWARE[_at:]]
