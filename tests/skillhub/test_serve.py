"""`manage.py serve` on the embedded default: web, workers and sweeps in one process tree, end to end."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.skillhub.serving import ROOT, free_port, wait_for


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return



@pytest.mark.slow
def test_serve_delivers_webhooks_and_resolves_signals_in_one_process_tree(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL"}}
    env.update(SKILLHUB_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="skillhub.settings", WEBHOOKS_ALLOW_PRIVATE_TARGETS="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    subprocess.run([sys.executable, "manage.py", "seed_demo", "--learners", "3"], cwd=ROOT, env=env, check=True, timeout=120, capture_output=True)
    credentials = json.loads((tmp_path / "demo-credentials.json").read_text())
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    _Receiver.received = []
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {credentials['apiKey']}"}
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a failed test can stop everything it started
    )
    try:
        def healthy():
            try:
                return requests.get(f"{base}/healthz", timeout=5).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        assert wait_for(healthy), (tmp_path / "serve.log").read_text()[-3000:]

        # An integrator registers a webhook and a learner is created: the embedded worker delivers it.
        endpoint = requests.post(
            f"{base}/api/v1/tenants/demo/webhooks",
            json={"url": f"http://127.0.0.1:{receiver.server_port}/hook", "events": ["learner.created", "need.created"]},
            headers=auth,
            timeout=10,
        )
        assert endpoint.status_code == 201, endpoint.text
        learner = requests.post(
            f"{base}/api/v1/tenants/demo/learners",
            json={"firstName": "Zola", "lastName": "Budd", "email": "zola@demo.example"},
            headers=auth,
            timeout=10,
        ).json()
        assert wait_for(lambda: [e for e in _Receiver.received if e["type"] == "learner.created" and e["data"]["id"] == learner["id"]])

        # An HR system posts a signed signal: the worker resolves it into a need, announced by webhook.
        body = json.dumps({"event": "signal.incident", "data": {"site": "Site A", "topic": "Confined Spaces", "severity": 4}}).encode()
        signature = hmac.new(credentials["signalSecret"].encode(), body, hashlib.sha256).hexdigest()
        answer = requests.post(
            f"{base}/api/v1/integration/demo/webhook",
            data=body,
            headers={"Content-Type": "application/json", "X-Skillhub-Signature": signature},
            timeout=10,
        )
        assert answer.status_code == 200 and answer.json()["deduped"] is False, answer.text

        def resolved_need():
            needs = requests.get(f"{base}/api/v1/tenants/demo/needs?topic=Confined%20Spaces", headers=auth, timeout=10).json()
            return [n for n in needs["data"] if n["action"] == "author"]

        assert wait_for(resolved_need)
        assert wait_for(lambda: [e for e in _Receiver.received if e["type"] == "need.created" and e["data"].get("topic") == "Confined Spaces"])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        finally:
            # Whatever serve left behind goes too, even when it did not stop in time.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            receiver.shutdown()
            log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "embedded worker" in output and "scheduler running" in output
    assert server.returncode == 0


def test_serve_refuses_a_port_another_server_holds(tmp_path):
    import socket

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL"}}
    env.update(SKILLHUB_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="skillhub.settings")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        # granian itself would share the port (SO_REUSEPORT) and split the connections between two servers.
        started = subprocess.run(
            [sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    assert started.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in started.stderr
