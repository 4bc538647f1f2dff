"""Shared benchmark plumbing: a PostgreSQL database, a gunicorn server, a keep-alive load generator."""
from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


def progress(label: str, done: int, total: int, started: float) -> None:
    """Draw a one-line progress bar on stderr."""
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.time() - started, 1e-9)
    sys.stderr.write(f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} ({rate:,.0f}/s)")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def bench_env(database: str, **extra: str) -> dict[str, str]:
    """Environment for the app under benchmark: PostgreSQL + Redis, bench URLs."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG_URL}/{database}",
        REDIS_URL=REDIS_URL,
        SECRET_KEY="bench-secret-key",
        DJANGO_SETTINGS_MODULE="bench.settings_bench",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def recreate_database(database: str) -> None:
    """Drop and create the benchmark database."""
    drop_database(database)
    ensure_database(database)


def drop_database(database: str) -> None:
    """Drop the benchmark database, ending any session still on it."""
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def ensure_database(database: str) -> None:
    """Create the benchmark database if it does not exist."""
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


# BENCH_PORTS=8700-8799 keeps every server a bench starts inside that range (shared machines).
PORTS = os.environ.get("BENCH_PORTS", "")


def stop_producers(jobs: list, processes: list) -> None:
    """Tell each producer process to finish (a None job), then wait a moment, then terminate stragglers."""
    for queue in jobs:
        queue.put(None)
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.terminate()


def free_port() -> int:
    """A free local port: any, or the first free one in BENCH_PORTS."""
    candidates = range(int(PORTS.split("-")[0]), int(PORTS.split("-")[1]) + 1) if PORTS else [0]
    for candidate in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in {PORTS}")


class Server:
    """gunicorn serving the project (plus the bare ceiling view) on a free local port."""

    def __init__(self, env: dict[str, str], workers: int = 2, threads: int = 1, front: str | None = None) -> None:
        self.port = free_port()
        self.env = dict(env)
        # BENCH_FRONT: gunicorn alone (the default), or a buffering front `manage.py serve` can start:
        # granian (its default) or nginx before gunicorn, with the same processes and threads.
        self.front = front or os.environ.get("BENCH_FRONT", "gunicorn")
        bind = f"127.0.0.1:{self.port}"
        self.front_dir: str | None = None
        self.front_cmd: list[str] | None = None
        if self.front == "nginx":
            self.front_dir, bind, self.front_cmd = _nginx_front(self.env, self.port)
        self.cmd = [
            sys.executable, "-m", "gunicorn", "skillhub.wsgi:application",
            "--bind", bind, "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread" if threads > 1 else "sync", "--log-level", "warning",
            "--keep-alive", "30",
        ]
        if self.front == "granian":
            from skillhub.front import granian_command

            self.env["SKILLHUB_WEB_THREADS"] = str(threads)
            self.cmd = granian_command(host="127.0.0.1", port=self.port, workers=workers, client_timeout=10)
        self.process: subprocess.Popen | None = None
        self.front_process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env)
        if self.front_cmd is not None and self.front_dir is not None:
            socket_path = Path(self.front_dir) / "gunicorn.sock"
            deadline = time.time() + 30
            while not socket_path.exists() and time.time() < deadline:
                time.sleep(0.1)
            self.front_process = subprocess.Popen(self.front_cmd, cwd=self.front_dir, env=self.env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()  # nothing it started outlives it
        raise RuntimeError(f"the server ({self.front}) did not start")

    def __exit__(self, *exc: object) -> None:
        for process in (self.front_process, self.process):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        if self.front_dir:
            shutil.rmtree(self.front_dir, ignore_errors=True)


def _nginx_front(env: dict[str, str], port: int) -> tuple[str, str, list[str]]:
    """Render serve's nginx configuration for the port (in a process with the app's settings)."""
    code = (
        "import django, json; django.setup(); from skillhub import front; "
        f"f = front.prepare(host='127.0.0.1', port={port}, client_timeout=10); "
        "print(json.dumps([str(f.directory), f.gunicorn_bind, f.command(front.find_nginx() or 'nginx')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    directory, bind, command = json.loads(out.stdout.strip().splitlines()[-1])
    return directory, bind, command


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def _client(args: tuple) -> tuple[int, int, list[float]]:
    port, method, paths, headers, bodies, seconds, start_at = args
    while time.time() < start_at:
        time.sleep(0.001)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = errors = 0
    latencies: list[float] = []
    end = start_at + seconds
    index = 0
    while time.time() < end:
        path = paths[index % len(paths)]
        body = bodies[index % len(bodies)] if bodies else None
        item_headers = headers[index % len(headers)] if isinstance(headers, list) else headers
        index += 1
        began = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=item_headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 500:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - began) * 1000)
        done += 1
    conn.close()
    return done, errors, latencies


def load(
    port: int,
    paths: list[str],
    *,
    seconds: float = 5.0,
    clients: int = 8,
    method: str = "GET",
    headers: dict[str, str] | list[dict[str, str]] | None = None,
    bodies: list[bytes] | None = None,
) -> LoadResult:
    """Run `clients` keep-alive client processes against the server for `seconds`; count answers."""
    start_at = time.time() + 0.5
    # Each client gets its own slice of the inputs so that "all-new" inputs stay unique.
    jobs = []
    for n in range(clients):
        my_paths = paths[n::clients] or paths
        my_bodies = bodies[n::clients] if bodies else None
        my_headers = headers[n::clients] if isinstance(headers, list) else (headers or {})
        jobs.append((port, method, my_paths, my_headers, my_bodies, seconds, start_at))
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    return LoadResult(
        requests=sum(r[0] for r in results),
        seconds=seconds,
        errors=sum(r[1] for r in results),
        latencies_ms=[lat for r in results for lat in r[2]],
    )


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)
