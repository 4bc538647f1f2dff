"""Dependencies of the fault tests' own, to stop and start at will: a PostgreSQL cluster, a Redis.

Never the machine's shared servers: a throwaway cluster (initdb + pg_ctl in a temporary directory,
on a free port) and a redis-server of the test's own. Tests that use them carry the `pg_ctl` and
`redis_server` markers (skipped where the program is missing, unless SKILLHUB_REQUIRE_… says otherwise).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from tests.skillhub.serving import free_port, wait_for

def _pg_bin() -> Path:
    from tests.conftest import _postgres_bin

    found = _postgres_bin()
    return Path(found).parent if found else Path("/usr/lib/postgresql/15/bin")


class OwnPostgres:
    """A PostgreSQL cluster in a temporary directory on a free port, trust authentication, fsync off."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="skillhub-pg-"))
        self.data = self.directory / "data"
        self.port = free_port(8440, 8449)
        self._as_owner: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(self.directory, "postgres", "postgres")
            runuser = shutil.which("runuser") or next(
                (path for path in ("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser") if os.path.exists(path)), "runuser"
            )
            self._as_owner = [runuser, "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        argv = [*self._as_owner, str(_pg_bin() / program), *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{program}: {result.stdout[-2000:]}{result.stderr[-2000:]}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except AssertionError:
            pass  # not running
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:  # noqa: ANN001
    """One collected static tree for every served fault test (`serve` collects only when the sources changed)."""
    return tmp_path_factory.mktemp("fault-static")


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    cluster = OwnPostgres()
    cluster.start()
    yield cluster
    cluster.remove()


def signed_signal(secret: str, n: int) -> tuple[bytes, dict[str, str]]:
    """A distinct data point (its own dedupe key) and the headers that sign it."""
    body = json.dumps(
        {"event": "signal.incident", "data": {"site": "Site A", "topic": f"Fault drill {n}", "dedupe_key": f"fault-{n}"}}
    ).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Skillhub-Signature": signature}


@dataclass
class Probe:
    """Requests made one after another in a thread while a fault runs; what each answered."""

    call: object
    every: float = 0.1
    answers: list[tuple[float, int | str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            at = time.monotonic()
            try:
                status: int | str = self.call()  # type: ignore[operator]
            except requests.RequestException as exc:
                status = type(exc).__name__
            self.answers.append((at, status))
            self.stop.wait(self.every)

    def finish(self) -> list[tuple[float, int | str]]:
        self.stop.set()
        self.thread.join(30)
        return self.answers

    def between(self, start: float, end: float) -> list[int | str]:
        return [status for at, status in self.answers if start <= at < end]


def until(check, seconds: float) -> object:  # noqa: ANN001
    return wait_for(check, seconds, 0.2)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[object]:  # noqa: ANN001
    from tests.webhooks.processes import OwnRedis

    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def scaled_out_env(tmp_path: Path, cluster: OwnPostgres, redis_port: int, static: Path) -> dict[str, str]:
    """`serve` scaled out on the test's own PostgreSQL and Redis (cache in db 0, broker in db 1)."""
    from tests.skillhub.serving import demo_env

    cluster.execute("CREATE DATABASE skillhub")
    return demo_env(
        tmp_path,
        DATABASE_URL=cluster.url("skillhub"),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        DRAMATIQ_BROKER_URL=f"redis://127.0.0.1:{redis_port}/1",
        SECRET_KEY="fault-tests",
        SKILLHUB_STATIC_ROOT=str(static),
        # A delivery in flight in a killed worker is sent again once its claim runs out.
        WEBHOOKS_CLAIM_LEASE_SECONDS="20",
    )


class ApiClient:
    """The demo tenant's API, as an integrator calls it: reads and learner creations, each answer kept."""

    def __init__(self, base: str, key: str) -> None:
        self.base = f"{base}/api/v1/tenants/demo"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.created: list[str] = []
        self.n = 0

    def subscribe(self, url: str) -> bool:
        response = self.session.post(f"{self.base}/webhooks", json={"url": url, "events": ["learner.created"]}, timeout=15)
        return response.status_code == 201

    def read_and_write(self) -> int:
        """One page read and one learner created; the worse of the two statuses."""
        read = self.session.get(f"{self.base}/learners?limit=1", timeout=15).status_code
        self.n += 1
        created = self.session.post(
            f"{self.base}/learners",
            json={"firstName": "Fault", "lastName": f"Drill{self.n}", "email": f"drill{self.n}@fault.example"},
            timeout=15,
        )
        if created.status_code == 201:
            self.created.append(created.json()["id"])
        return max(read, created.status_code)
