"""Benchmark settings: the project's settings plus the bare answers the benchmarks are ratios to.

`/bench/bare` (bench/urls_bench.py) passes the whole middleware stack, as every API request does.
`/bench/signal-bare` is answered where the signal webhook is answered: if a middleware serves the
webhook, the bare answer sits just before it, so both pass exactly the same middleware.
"""
from skillhub.settings import *  # noqa: F403
from skillhub.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls_bench"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

_SIGNAL_MIDDLEWARE = "signals_inbox.middleware.SignalWebhookMiddleware"
_at = MIDDLEWARE.index(_SIGNAL_MIDDLEWARE) if _SIGNAL_MIDDLEWARE in MIDDLEWARE else len(MIDDLEWARE)
MIDDLEWARE = [*MIDDLEWARE[:_at], "bench.ceiling.BareSignalMiddleware", *MIDDLEWARE[_at:]]
