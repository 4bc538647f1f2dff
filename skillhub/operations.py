"""The operators' routes: /healthz (liveness), /readyz (readiness) and /metrics (Prometheus).

They are answered by a middleware right after the request's observation, before host checks,
sessions or the API: a load balancer or an orchestrator probes by address (whatever
ALLOWED_HOSTS says), and none of them is part of the public API (so not in openapi.json).
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from concurrent.futures import Future
from functools import lru_cache
from typing import Any, Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from skillhub import metrics
from skillhub.requestlog import name_route

logger = logging.getLogger("skillhub.operations")


# --- liveness --------------------------------------------------------------------------------


def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the process serves requests; no dependency is asked (that is /readyz)."""
    return JsonResponse({"ok": True})


# --- readiness -------------------------------------------------------------------------------


def _check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # this thread's own connection: never left open


@lru_cache(maxsize=8)
def _redis(url: str, timeout: float) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry_on_timeout=False)


def _check_redis(url: str) -> None:
    if not _redis(url, readiness_timeout()).ping():
        raise RuntimeError("no PONG")


def _check_cache() -> None:
    # Without REDIS_URL the cache is this process's memory: there is nothing to fail.
    if settings.REDIS_URL:
        _check_redis(settings.REDIS_URL)


def _check_broker() -> None:
    kind = settings.DRAMATIQ_BROKER
    if kind == "redis":
        _check_redis(settings.DRAMATIQ_BROKER_URL)
    elif kind == "amqp":
        import pika  # type: ignore[import-untyped]

        parameters = pika.URLParameters(settings.DRAMATIQ_BROKER_URL)
        parameters.socket_timeout = parameters.blocked_connection_timeout = readiness_timeout()
        parameters.connection_attempts, parameters.retry_delay = 1, 0
        pika.BlockingConnection(parameters).close()
    # embedded / stub: the broker lives in this process.


CHECKS: dict[str, Callable[[], None]] = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}
# One check of each dependency at a time per process: probes that come while a check still hangs
# get "failed" at once instead of piling up threads behind an unreachable server.
_running: dict[str, Future[None]] = {}
_running_lock = threading.Lock()


def readiness_timeout() -> float:
    return float(settings.SKILLHUB_READINESS_TIMEOUT)


def _start(name: str, check: Callable[[], None]) -> Future[None]:
    with _running_lock:
        running = _running.get(name)
        if running is not None and not running.done():
            return running
        future: Future[None] = Future()
        _running[name] = future

    def run() -> None:
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            future.set_exception(exc)
        else:
            future.set_result(None)

    threading.Thread(target=run, name=f"readyz-{name}", daemon=True).start()
    return future


def failed_dependencies() -> list[str]:
    """Ask the database, the cache and the broker at once; return those that did not answer in time."""
    deadline = time.monotonic() + readiness_timeout()
    futures = {name: _start(name, check) for name, check in CHECKS.items()}
    failed = []
    for name, future in futures.items():
        try:
            future.result(timeout=max(deadline - time.monotonic(), 0.0))
        except Exception as exc:
            failed.append(name)
            logger.warning("readiness: %s failed: %s", name, type(exc).__name__ if not str(exc) else exc)
    return failed


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database, the cache and the broker answer; 503 naming those that did not."""
    failed = failed_dependencies()
    if failed:
        return JsonResponse({"ready": False, "failed": failed}, status=503)
    return JsonResponse({"ready": True})


# --- metrics ---------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _networks(allow: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in allow)


def _address_allowed(request: HttpRequest) -> bool:
    allow = tuple(settings.SKILLHUB_METRICS_ALLOW)
    if not allow:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks(allow))


def _token_valid(request: HttpRequest) -> bool:
    token = settings.SKILLHUB_METRICS_TOKEN
    scheme, _, offered = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(offered.strip().encode(), token.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition, for a bearer of SKILLHUB_METRICS_TOKEN or an address in SKILLHUB_METRICS_ALLOW."""
    if not settings.SKILLHUB_METRICS_TOKEN and not settings.SKILLHUB_METRICS_ALLOW:
        return JsonResponse(
            {"error": "forbidden", "detail": "metrics are closed: set SKILLHUB_METRICS_TOKEN or SKILLHUB_METRICS_ALLOW"},
            status=403,
        )
    if not (_token_valid(request) or _address_allowed(request)):
        response = JsonResponse({"error": "unauthorized"}, status=401)
        if settings.SKILLHUB_METRICS_TOKEN:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = metrics.exposition(multiprocess_dir=settings.PROMETHEUS_MULTIPROC_DIR)
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


ROUTES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics_view}


class OperationsMiddleware:
    """Answer /healthz, /readyz and /metrics before anything else applies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = ROUTES.get(request.path_info)
        if view is None:
            return self.get_response(request)
        name_route(request, request.path_info)
        if request.method not in ("GET", "HEAD"):
            refused = JsonResponse({"error": "method_not_allowed"}, status=405)
            refused["Allow"] = "GET, HEAD"
            refused["Content-Length"] = str(len(refused.content))
            return refused
        response = view(request)
        response["Cache-Control"] = "no-store"
        # Answered ahead of CommonMiddleware, which would add it: probes and kept-alive clients rely on it.
        response["Content-Length"] = str(len(response.content))
        return response
