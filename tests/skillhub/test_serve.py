"""`manage.py serve` runs gunicorn with the embedded worker and scheduler in one process tree."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_answers_and_starts_the_embedded_worker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL"}}
    env.update(SKILLHUB_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="skillhub.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    port = _free_port()
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.time() + 30
        response = None
        while time.time() < deadline:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)
        assert response is not None and response.status_code == 200
        assert response.json() == {"ok": True}
        deadline = time.time() + 10
        while time.time() < deadline and "embedded worker" not in (tmp_path / "serve.log").read_text():
            time.sleep(0.2)
        output = (tmp_path / "serve.log").read_text()
        assert "embedded worker" in output and "scheduler running" in output
        assert "gunicorn" in output.lower()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
    assert server.returncode == 0
