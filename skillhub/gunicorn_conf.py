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
