"""Start-up checks of the environment-driven configuration."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connection

from skillhub.cache import cache_is_process_local
from skillhub.db import is_postgres
from skillhub.env import env_int


@register()
def check_deployment(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Warn about embedded-only settings used against a scaled-out deployment."""
    problems: list[CheckMessage] = []
    if is_postgres() and settings.DRAMATIQ_BROKER == "embedded":
        problems.append(
            Warning(
                "DATABASE_URL is set but DRAMATIQ_BROKER_URL is not: background work runs only "
                "inside `manage.py serve`.",
                id="skillhub.W001",
            )
        )
    if settings.DRAMATIQ_BROKER not in ("embedded", "stub", "redis", "amqp"):
        problems.append(Error(f"Unsupported broker {settings.DRAMATIQ_BROKER!r}", id="skillhub.E001"))
    return problems


def per_process_cache_warning(*, web_processes: int, scaled_out: bool) -> str | None:
    """Say what goes wrong when the cache lives in each process's memory but several processes serve, or None.

    `manage.py serve` knows its number of web processes only once it has parsed its options: it
    calls this with them; the system check below covers what the environment says.
    """
    if not cache_is_process_local() or (web_processes <= 1 and not scaled_out):
        return None
    return (
        f"REDIS_URL is not set, so the cache is each process's own memory: with {web_processes} web process(es)"
        f"{' and separate workers' if scaled_out else ''}, plan rate limits and the anonymous /api/ limit are counted "
        f"per process (up to {max(web_processes, 1)}x what the plan allows), and a change made in one process "
        "(a revoked API key, a signal map) reaches the others only when their cached copy expires. Set REDIS_URL."
    )


@register()
def check_shared_cache(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Warn when rate-limit counters would be multiplied by the number of processes."""
    web_processes = env_int("SKILLHUB_WEB_PROCESSES", 1, minimum=1)
    problem = per_process_cache_warning(web_processes=web_processes, scaled_out=settings.DRAMATIQ_BROKER in ("redis", "amqp"))
    return [Warning(problem, id="skillhub.W002")] if problem else []


@register(Tags.database)
def check_postgres_statistics(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when PostgreSQL never analyzes the tables on its own (`migrate` and `check --database` run this).

    Every worker keeps its prepared statements' plans for as long as its connection lives; PostgreSQL
    plans them again when a table is analyzed. Without autovacuum that never happens, and the plans
    chosen while the delivery tables were nearly empty (a scan of the whole table) stay, so each
    delivery costs more as the history grows.
    """
    if not databases or not is_postgres():
        return []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            autovacuum = cursor.fetchone()[0]
    except DatabaseError:
        return []
    if autovacuum == "on":
        return []
    return [
        Warning(
            "PostgreSQL's autovacuum is off: tables are never analyzed, so the plans workers cache for the "
            "delivery statements keep the choices made when the tables were small, and deliveries slow down "
            "as history grows. Turn autovacuum on (PostgreSQL's default), or run ANALYZE every few minutes.",
            id="skillhub.W003",
        )
    ]
