"""Run `manage.py serve` as a real process tree on a data directory of the test's own."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARIABLES = {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL"}


def free_port(first: int = 8400, last: int = 8499) -> int:
    """Return a free local port in the range the test servers may use."""
    for port in range(first, last + 1):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


def wait_for(check, seconds: float = 30.0, every: float = 0.3):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    return None


@dataclass
class Served:
    base: str
    port: int
    env: dict[str, str]
    credentials: dict
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(SKILLHUB_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="skillhub.settings", WEBHOOKS_ALLOW_PRIVATE_TARGETS="1")
    env.update(extra)
    return env


@contextmanager
def serve(tmp_path: Path, env: dict[str, str], *args: str, unthrottled: bool = False) -> Iterator[Served]:
    """Migrate, seed the demo tenant, start `manage.py serve`, wait for /readyz; stop it after.

    `unthrottled` lifts the demo tenant's API rate limit, for tests that load the server.
    """
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--learners", "3"], cwd=ROOT, env=env, check=True, timeout=180, capture_output=True
    )
    if unthrottled:
        lift = "from tenants.models import Tenant; Tenant.objects.filter(slug='demo').update(plan='enterprise', rate_limit_per_minute=1000000)"
        subprocess.run([sys.executable, "manage.py", "shell", "-c", lift], cwd=ROOT, env=env, check=True, timeout=120)
    credentials = json.loads((tmp_path / "demo-credentials.json").read_text())
    port = free_port()
    log_path = tmp_path / "serve.log"
    log = open(log_path, "w+")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    served = Served(f"http://127.0.0.1:{port}", port, env, credentials, log_path)

    def healthy() -> bool:
        # Ready, not only alive: every web process answering and the database, cache and broker reachable.
        try:
            return requests.get(f"{served.base}/readyz", timeout=5).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    try:
        assert wait_for(healthy, 60), served.output()[-3000:]
        yield served
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        # Whatever serve left behind (a front, its workers) goes too: the next test may take this port.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        log.close()
