"""Shared benchmark plumbing: a PostgreSQL database, a gunicorn server, the one keep-alive load generator."""
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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


_autovacuum_said = False


def analyze_where_autovacuum_is_off(database: str) -> None:
    """Analyze the benchmark database when the server's autovacuum is off (said once), as autovacuum would.

    PostgreSQL plans a prepared statement again when its tables are analyzed; a server without
    autovacuum never does, so the plans workers made on the first, nearly empty round would stay
    (`manage.py check --database default` warns of it: skillhub.W003). Called between rounds.
    """
    global _autovacuum_said
    import psycopg

    with psycopg.connect(f"{PG_URL}/{database}", autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone()[0] == "on":
            return
        if not _autovacuum_said:
            _autovacuum_said = True
            sys.stderr.write("  (this PostgreSQL has autovacuum off: the bench runs ANALYZE between rounds, as autovacuum would)\n")
        conn.execute("ANALYZE")


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


OK_STATUSES = frozenset(range(200, 300))


@dataclass
class LoadResult:
    """What a load phase got back: only answers with an expected status count as done."""

    requests: int  # answers with an expected status
    seconds: float
    errors: int  # connection failures and answers with any other status
    latencies_ms: list[float]  # of the expected answers
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


Request = tuple[str, str, "bytes | None", dict[str, str]]  # method, path, body, headers


@dataclass(frozen=True)
class FixedRequests:
    """The same method and headers over a list of paths (and bodies), each client taking its own slice."""

    method: str
    paths: tuple[str, ...]
    headers: tuple[dict[str, str], ...] = ({},)
    bodies: tuple[bytes, ...] = ()

    def __call__(self, client: int, clients: int, n: int) -> Request:
        # Client c takes items c, c + clients, c + 2·clients …, so inputs meant to be unique stay unique.
        index = client + n * clients
        body = self.bodies[index % len(self.bodies)] if self.bodies else None
        return self.method, self.paths[index % len(self.paths)], body, self.headers[index % len(self.headers)]


def _client(args: tuple) -> tuple[int, int, list[float], dict[int, int]]:
    port, make_request, client, clients, expect, seconds, start_at = args
    while time.time() < start_at:
        time.sleep(0.001)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = errors = 0
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    end = start_at + seconds
    n = 0
    while time.time() < end:
        method, path, body, headers = make_request(client, clients, n)
        n += 1
        began = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.status not in expect:
            errors += 1
            continue
        latencies.append((time.perf_counter() - began) * 1000)
        done += 1
    conn.close()
    return done, errors, latencies, statuses


def load(
    port: int,
    make_request: Callable[[int, int, int], Request],
    *,
    seconds: float = 5.0,
    clients: int = 8,
    expect: frozenset[int] = OK_STATUSES,
) -> LoadResult:
    """Run `clients` keep-alive client processes for `seconds`; only answers in `expect` count as done.

    `make_request(client, clients, n)` returns the n-th request of a client; it must be picklable
    (a module-level function or a FixedRequests).
    """
    start_at = time.time() + 0.5
    jobs = [(port, make_request, client, clients, expect, seconds, start_at) for client in range(clients)]
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    statuses: dict[int, int] = {}
    for result in results:
        for status, count in result[3].items():
            statuses[status] = statuses.get(status, 0) + count
    return LoadResult(
        requests=sum(r[0] for r in results),
        seconds=seconds,
        errors=sum(r[1] for r in results),
        latencies_ms=[lat for r in results for lat in r[2]],
        statuses=statuses,
    )


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


def median_ratio(measured: list[float], ceilings: list[float]) -> float:
    """The ratio of each round to that round's own ceiling, then the median of those ratios."""
    if len(measured) != len(ceilings) or not measured:
        raise ValueError("one ceiling per measured round")
    return statistics.median(m / c for m, c in zip(measured, ceilings))
