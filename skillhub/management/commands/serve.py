"""Run web + Dramatiq workers + periodic sweeps as one process tree."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the web app under gunicorn with Dramatiq workers and the scheduler (the embedded default when no broker is set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-processes", type=int, default=None, help="gunicorn workers (scaled-out mode)")
        parser.add_argument("--threads", type=int, default=8, help="threads per web process")

    def handle(self, *args: Any, **options: Any) -> None:
        embedded = settings.DRAMATIQ_BROKER == "embedded"
        env = dict(os.environ)
        env["SKILLHUB_BIND"] = f"{options['host']}:{options['port']}"
        env["SKILLHUB_WEB_THREADS"] = str(options["threads"])
        # In the embedded mode the in-process broker is shared by one web process and its workers.
        web_processes = 1 if embedded else (options["web_processes"] or (os.cpu_count() or 1) * 2)
        env["SKILLHUB_WEB_PROCESSES"] = str(web_processes)
        env["SKILLHUB_EMBEDDED_WORKER"] = "1" if embedded else "0"
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = [[sys.executable, "-m", "gunicorn", "-c", "python:skillhub.gunicorn_conf"]]
        if not embedded:
            commands.append([*manage, "rundramatiq"])
            commands.append([*manage, "run_scheduler"])
        mode = "embedded (SQLite/in-process workers)" if embedded else f"scaled-out ({settings.DRAMATIQ_BROKER})"
        self.stdout.write(f"skillhub serving on http://{options['host']}:{options['port']}/ — {mode}", ending="\n")
        self.stdout.flush()
        children = [subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR) for cmd in commands]
        stopping = False

        def stop_children(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop_children)
        signal.signal(signal.SIGINT, stop_children)
        exit_code = 0
        while True:
            codes = [child.poll() for child in children]
            if all(code is not None for code in codes):
                break
            if not stopping and any(code is not None for code in codes):
                # One part died: stop the rest, so a supervisor restarts the whole tree.
                exit_code = 1
                stop_children(signal.SIGTERM, None)
            time.sleep(0.5)
        sys.exit(exit_code)
