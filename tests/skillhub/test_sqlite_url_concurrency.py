"""A SQLite DATABASE_URL gets WAL, IMMEDIATE transactions and a busy timeout, like the embedded default."""
from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.skillhub.serving import ROOT, demo_env, serve, wait_for


ROUNDS = 12


class _Receiver(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.count += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.mark.slow
def test_eight_api_writers_and_the_embedded_worker_share_a_sqlite_url_without_a_5xx(tmp_path):
    env = demo_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/url.sqlite3", SECRET_KEY="sqlite-url-test")
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        with serve(tmp_path, env, "--threads", "8", unthrottled=True) as served:
            auth = {"Authorization": f"Bearer {served.credentials['apiKey']}"}
            tenants = f"{served.base}/api/v1/tenants/demo"
            created = requests.post(
                f"{tenants}/webhooks", json={"url": f"http://127.0.0.1:{receiver.server_port}/hook"}, headers=auth, timeout=30
            )
            assert created.status_code == 201, created.text
            secret = served.credentials["signalSecret"].encode()
            statuses: list[int] = []
            lock = threading.Lock()

            def writer(n: int) -> None:
                # Each write records an event the embedded worker fans out and delivers, and each
                # signal is resolved by it: the worker writes all along.
                with requests.Session() as http:
                    for i in range(ROUNDS):
                        answers = [
                            http.post(
                                f"{tenants}/learners",
                                json={"firstName": f"W{n}", "lastName": f"L{i}", "email": f"w{n}-{i}@demo.example"},
                                headers=auth,
                                timeout=60,
                            )
                        ]
                        body = json.dumps(
                            {"event": "signal.incident", "data": {"site": f"Site {n}", "topic": f"Topic {n}-{i}", "severity": 2}}
                        ).encode()
                        signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
                        answers.append(
                            http.post(
                                f"{served.base}/api/v1/integration/demo/webhook",
                                data=body,
                                headers={"Content-Type": "application/json", "X-Skillhub-Signature": signature},
                                timeout=60,
                            )
                        )
                        answers.append(http.get(f"{tenants}/learners?limit=200", headers=auth, timeout=60))
                        if answers[0].status_code == 201:
                            learner = answers[0].json()["id"]
                            answers.append(http.patch(f"{tenants}/learners/{learner}", json={"lastName": f"M{i}"}, headers=auth, timeout=60))
                        with lock:
                            statuses.extend(a.status_code for a in answers)

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(180)

            assert [s for s in statuses if s >= 500] == [], served.output()[-4000:]
            assert len(statuses) == 8 * ROUNDS * 4 and set(statuses) <= {200, 201}, sorted(set(statuses))
            assert wait_for(lambda: _Receiver.count >= 8 * ROUNDS * 2, 60)  # learner.created and .updated delivered
            assert "database is locked" not in served.output()
    finally:
        receiver.shutdown()


# Two transactions on a SQLite URL, as a request and the worker run them: A reads, then writes
# while B holds the write lock. Deferred, A would fail at once with "database is locked"
# (it holds a read lock B's commit waits for); IMMEDIATE, A waits for B and goes on.
_READ_THEN_WRITE = """
import threading, time, django
django.setup()
from django.core.management import call_command
from django.db import connection, transaction
from tenants.models import Tenant
call_command("migrate", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    print("journal", cursor.fetchone()[0])
b_writing, a_read = threading.Event(), threading.Event()
errors = []

def a():
    try:
        with transaction.atomic():
            Tenant.objects.count()
            a_read.set()
            b_writing.wait(5)
            Tenant.objects.create(slug="from-a", name="A")
    except Exception as exc:
        errors.append(repr(exc))

def b():
    a_read.wait(5)
    try:
        with transaction.atomic():
            Tenant.objects.create(slug="from-b", name="B")
            b_writing.set()
            time.sleep(0.5)
    except Exception as exc:
        errors.append(repr(exc))
    b_writing.set()

threads = [threading.Thread(target=a), threading.Thread(target=b)]
[t.start() for t in threads]
[t.join(30) for t in threads]
print("errors", errors)
print("rows", sorted(Tenant.objects.values_list("slug", flat=True)))
"""


def test_a_read_then_write_transaction_waits_for_another_writer_on_a_sqlite_url(tmp_path):
    env = demo_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/rw.sqlite3", SECRET_KEY="sqlite-url-test")

    result = subprocess.run([sys.executable, "-c", _READ_THEN_WRITE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "journal wal" in lines
    assert "errors []" in lines, result.stdout
    assert "rows ['from-a', 'from-b']" in lines
