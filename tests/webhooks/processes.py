"""Real processes for the fault tests: a counting receiver, workers, a scheduler, a broker of the test's own."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.db import connection

from tests.skillhub.serving import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


class CountingReceiver:
    """A slow local receiver: each POST takes `delay` seconds; it counts every webhook-id it gets."""

    def __init__(self, delay: float) -> None:
        self.ids: Counter[str] = Counter()
        self.mismatched: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request: nothing arrived
                webhook_id = self.headers.get("webhook-id", "")
                time.sleep(delay)
                with receiver.lock:
                    receiver.ids[webhook_id] += 1
                    if f'"id":"{webhook_id}"' not in body.decode().replace(" ", ""):
                        receiver.mismatched.append(webhook_id)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a sender killed mid-answer is the point
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def unique(self) -> int:
        with self.lock:
            return len(self.ids)

    def total(self) -> int:
        with self.lock:
            return sum(self.ids.values())

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {key: n for key, n in self.ids.items() if n > 1}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def database_url_of_tests() -> str:
    """The URL of the database the test runs on (the test database), for child processes."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def child_env(tmp_path: Path, broker_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DRAMATIQ_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="skillhub.settings",
        DATABASE_URL=database_url_of_tests(),
        DRAMATIQ_BROKER_URL=broker_url,
        SECRET_KEY=env.get("SECRET_KEY") or "fault-tests",
        SKILLHUB_DATA_DIR=str(tmp_path),
        WEBHOOKS_ALLOW_PRIVATE_TARGETS="1",
        # A delivery in flight in a killed worker is sent again once its claim runs out.
        WEBHOOKS_CLAIM_LEASE_SECONDS="20",
    )
    return env


class Group:
    """A child process in a process group of its own, so it can be killed with all its children."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = open(log, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean-up, no acknowledgements, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def worker(env: dict[str, str], log: Path) -> Group:
    return Group(manage("rundramatiq", "--processes", "1", "--threads", "8"), env, log)


def scheduler(env: dict[str, str], log: Path) -> Group:
    return Group(manage("run_scheduler"), env, log)


CREATE_LEARNERS = """
from learning.services import learner_create
from tenants.models import Tenant
tenant = Tenant.objects.get(slug={slug!r})
for n in range({first}, {first} + {count}):
    learner_create(tenant=tenant, values={{"first_name": f"F{{n}}", "last_name": "Fault", "email": f"f{{n}}@fault.example"}})
"""


def create_learners(env: dict[str, str], *, slug: str, first: int, count: int) -> None:
    """Create learners in a process of its own, whose broker is the real one: each records an event."""
    code = CREATE_LEARNERS.format(slug=slug, first=first, count=count)
    result = subprocess.run(manage("shell", "-c", code), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


class OwnRedis:
    """A redis-server of the test's own, without persistence: killing it loses every queued message."""

    def __init__(self, directory: Path) -> None:
        # From the top of the range: its port is free while it is down, and the other test
        # servers take theirs from the bottom.
        self.port = free_port(8470, 8499)
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server") or "redis-server"
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False

        assert wait_for(up, 10), "redis-server did not start"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class CuttableProxy:
    """A TCP forwarder to a broker; `cut()` drops every connection and refuses new ones, as a dead broker would.

    The listening port stays bound while cut (each new connection is closed at once), so nothing
    else can take it in the meantime.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.down = threading.Event()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.down.set()
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.sockets = []

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.cut()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()


@contextmanager
def running(*groups: Group) -> Iterator[None]:
    try:
        yield
    finally:
        for group in groups:
            group.stop()
