"""Run web (granian, or nginx before gunicorn) + Dramatiq workers + periodic sweeps as one process tree."""
from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from skillhub import front as fronts
from skillhub.checks import per_process_cache_warning
from skillhub.env import env_int, env_str
from skillhub.console.staticfiles import collect_if_needed
from skillhub.supervisor import Supervisor


def prepare_metrics_dir(directory: str | Path) -> Path:
    """Create the directory every process of the tree counts its metrics in, emptied of a previous run's files.

    Counters start again from zero with the tree (Prometheus's rate() expects that of a restart);
    files left by processes of a previous run would otherwise be added to this one's forever.
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    return path


class Command(BaseCommand):
    help = "Serve the web app under gunicorn with Dramatiq workers and the scheduler (the embedded default when no broker is set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT, help="default: $PORT, else 8000")
        parser.add_argument("--web-processes", type=int, default=None, help="gunicorn workers (scaled-out mode)")
        parser.add_argument("--threads", type=int, default=8, help="threads per web process")
        parser.add_argument(
            "--front",
            choices=("granian", "nginx", "none"),
            default=env_str("SKILLHUB_FRONT", "granian") or "granian",
            help="granian (the default: reads each request whole, then runs Django on a thread), "
            "nginx (nginx before gunicorn on a unix socket; needs nginx installed), "
            "or none (gunicorn alone: slow clients can hold its threads)",
        )
        parser.add_argument(
            "--client-timeout",
            type=int,
            default=env_int("SKILLHUB_CLIENT_TIMEOUT", fronts.DEFAULT_CLIENT_TIMEOUT, minimum=1),
            help="seconds a client may take over its request headers, and between reads of its body",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # WhiteNoise serves what collectstatic put in STATIC_ROOT (hashed, compressed): refresh it if the sources moved on.
        collect_if_needed(lambda line: self.stdout.write(line))
        embedded = settings.DRAMATIQ_BROKER == "embedded"
        env = dict(os.environ)
        env["SKILLHUB_BIND"] = f"{options['host']}:{options['port']}"
        env["SKILLHUB_WEB_THREADS"] = str(options["threads"])
        # In the embedded mode the in-process broker is shared by one web process and its workers.
        web_processes = 1 if embedded else (options["web_processes"] or (os.cpu_count() or 1) * 2)
        env["SKILLHUB_WEB_PROCESSES"] = str(web_processes)
        warning = per_process_cache_warning(web_processes=web_processes, scaled_out=not embedded)
        if warning:
            self.stderr.write(f"warning: {warning}")
        env["SKILLHUB_EMBEDDED_WORKER"] = "1" if embedded else "0"
        env["SKILLHUB_CLIENT_TIMEOUT"] = str(options["client_timeout"])
        env["PROMETHEUS_MULTIPROC_DIR"] = str(prepare_metrics_dir(settings.PROMETHEUS_MULTIPROC_DIR or settings.DATA_DIR / "metrics"))
        nginx = fronts.find_nginx() if options["front"] == "nginx" else None
        if options["front"] == "nginx" and nginx is None:
            raise CommandError("--front nginx: nginx is not installed (apt-get install nginx-light), or set SKILLHUB_NGINX")
        front = None
        if nginx is not None:
            front = fronts.prepare(host=options["host"], port=options["port"], client_timeout=options["client_timeout"])
            env["SKILLHUB_BIND"] = front.gunicorn_bind
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        if options["front"] == "granian":
            try:
                fronts.refuse_taken_port(options["host"], options["port"])
            except OSError as exc:
                raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc.strerror}") from exc
            web = fronts.granian_command(
                host=options["host"], port=options["port"], workers=web_processes, client_timeout=options["client_timeout"]
            )
        else:
            web = [sys.executable, "-m", "gunicorn", "-c", "python:skillhub.gunicorn_conf"]
        commands = {"web": web}
        if not embedded:
            commands["worker"] = [*manage, "rundramatiq"]
            commands["scheduler"] = [*manage, "run_scheduler"]
        mode = "embedded (SQLite/in-process workers)" if embedded else f"scaled-out ({settings.DRAMATIQ_BROKER})"
        front_text = {
            "granian": f"granian reads each request whole, client timeout {options['client_timeout']} s",
            "nginx": f"nginx before gunicorn, client timeout {options['client_timeout']} s",
            "none": "gunicorn alone: no buffering front, slow clients can hold its threads",
        }[options["front"]]
        self.stdout.write(f"skillhub serving on http://{options['host']}:{options['port']}/ — {mode}; {front_text}", ending="\n")
        self.stdout.write(f"  console        {settings.SKILLHUB_PUBLIC_URL}/admin/", ending="\n")
        self.stdout.write(f"  API docs       {settings.SKILLHUB_PUBLIC_URL}/api/v1/docs", ending="\n")
        self.stdout.flush()
        supervisor = Supervisor(log=lambda line: (self.stderr.write(line), self.stderr.flush()))
        for name, command in commands.items():
            supervisor.start(name, functools.partial(subprocess.Popen, command, env=env, cwd=settings.BASE_DIR))
        if front is not None and nginx is not None:
            # nginx comes up once gunicorn listens, so the first requests find it.
            web_child = supervisor.children[0]
            deadline = time.monotonic() + 60
            while not front.upstream_socket.exists() and time.monotonic() < deadline and web_child.exit_code() is None:
                time.sleep(0.1)
            supervisor.start("front", functools.partial(subprocess.Popen, front.command(nginx), env=env, cwd=front.directory))
        # A child that dies is started again (within a limit); SIGTERM/SIGINT stop them all.
        signal.signal(signal.SIGTERM, supervisor.stop)
        signal.signal(signal.SIGINT, supervisor.stop)
        exit_code = supervisor.run()
        if front is not None:
            front.remove()
        sys.exit(exit_code)
