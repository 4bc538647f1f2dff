"""gunicorn settings for `manage.py serve`; the embedded mode runs workers in the web process."""
from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("SKILLHUB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SKILLHUB_WEB_PROCESSES", "1"))
threads = int(os.environ.get("SKILLHUB_WEB_THREADS", "8"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("SKILLHUB_ACCESS_LOG") or None
wsgi_app = "skillhub.wsgi:application"

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
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
    if os.environ.get("SKILLHUB_EMBEDDED_WORKER") == "1":
        from skillhub import embedded

        embedded.start()


def child_exit(server: Any, worker: Any) -> None:
    # A web process that died leaves its counters (they still count); only its live gauges go.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    if os.environ.get("SKILLHUB_EMBEDDED_WORKER") == "1":
        from skillhub import embedded

        embedded.stop()
