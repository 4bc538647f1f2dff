"""gunicorn settings for `manage.py serve`; the embedded mode runs workers in the web process."""
from __future__ import annotations

from typing import Any

from skillhub.env import env_bool, env_int, env_str

bind = env_str("SKILLHUB_BIND", "127.0.0.1:8000")
workers = env_int("SKILLHUB_WEB_PROCESSES", 1, minimum=1)
threads = env_int("SKILLHUB_WEB_THREADS", 8, minimum=1)
worker_class = "gthread"
timeout = 60
graceful_timeout = 10
accesslog = env_str("SKILLHUB_ACCESS_LOG") or None
wsgi_app = "skillhub.wsgi:application"

if env_str("LOG_FORMAT").lower() == "json":
    # gunicorn's own lines (start, worker boots and exits) in the same JSON as the application's.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "skillhub.logcontext.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False, "qualname": "gunicorn.error"},
            # The application logs each request itself (skillhub.requestlog, without the query string);
            # gunicorn's access line only when SKILLHUB_ACCESS_LOG asks for it.
            "gunicorn.access": {
                "level": "INFO" if accesslog else "WARNING",
                "handlers": ["stderr"],
                "propagate": False,
                "qualname": "gunicorn.access",
            },
        },
    }


def post_worker_init(worker: Any) -> None:
    if env_bool("SKILLHUB_EMBEDDED_WORKER"):
        from skillhub import embedded

        embedded.start()


def child_exit(server: Any, worker: Any) -> None:
    # A web process that died leaves its counters (they still count); only its live gauges go.
    if env_str("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    if env_bool("SKILLHUB_EMBEDDED_WORKER"):
        from skillhub import embedded

        embedded.stop()
