"""`manage.py serve` stays responsive while 64 slow clients hold connections, and closes them in bounded time."""
from __future__ import annotations

import hashlib
import hmac
from http.client import HTTPConnection
import json
import socket
import threading
import time

import pytest
import requests

from tests.skillhub.serving import demo_env, serve

SLOW_CLIENTS = 64
CLIENT_TIMEOUT = 3


def _trickle_headers(port: int, stop: threading.Event, closed: dict, key: int) -> None:
    """Send a request line and then one header byte every 0.3 s, never finishing the headers."""
    sock = socket.create_connection(("127.0.0.1", port))
    opened = time.monotonic()
    try:
        sock.sendall(b"POST /api/v1/integration/demo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(0.3)
        while not stop.is_set():
            try:
                sock.sendall(b"X")
                sock.recv(1024)  # returns once the server answers (408) or closes; else times out
                break
            except socket.timeout:
                continue
            except OSError:
                break
    finally:
        closed[key] = time.monotonic() - opened
        sock.close()


def _half_a_body(port: int, stop: threading.Event, closed: dict, key: int) -> None:
    """Send whole headers and half the body they announce, then wait."""
    sock = socket.create_connection(("127.0.0.1", port))
    opened = time.monotonic()
    try:
        sock.sendall(
            b"POST /api/v1/integration/demo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nX-Skillhub-Signature: 00\r\nContent-Length: 2000\r\n\r\n" + b"{" * 1000
        )
        sock.settimeout(0.3)
        while not stop.is_set():
            try:
                sock.recv(1024)
                break  # an answer or a close
            except socket.timeout:
                continue
            except OSError:
                break
    finally:
        closed[key] = time.monotonic() - opened
        sock.close()


def _signed(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


FRONTS = {
    "granian": "granian reads each request whole",
    "nginx": "nginx before gunicorn",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "front", [pytest.param("granian", id="default"), pytest.param("nginx", marks=pytest.mark.nginx, id="nginx")]
)
def test_sixty_four_slow_clients_neither_delay_others_nor_stay_forever(tmp_path, front):
    env = demo_env(tmp_path, SKILLHUB_CLIENT_TIMEOUT=str(CLIENT_TIMEOUT))
    front_args = () if front == "granian" else ("--front", front)
    with serve(tmp_path, env, "--threads", "4", *front_args) as served:
        assert FRONTS[front] in served.output()
        stop = threading.Event()
        closed: dict[int, float] = {}
        holders = [
            threading.Thread(target=_trickle_headers if n % 2 else _half_a_body, args=(served.port, stop, closed, n), daemon=True)
            for n in range(SLOW_CLIENTS)
        ]
        for holder in holders:
            holder.start()
        time.sleep(0.5)  # every slow client is connected and holding

        auth = {"Authorization": f"Bearer {served.credentials['apiKey']}"}
        secret = served.credentials["signalSecret"]
        latencies: list[float] = []
        with requests.Session() as http:
            for i in range(15):
                body = json.dumps({"event": "signal.incident", "data": {"site": "Site A", "topic": f"T{i}", "severity": 2}}).encode()
                calls = [
                    lambda: http.get(f"{served.base}/healthz", timeout=10),
                    lambda: http.get(f"{served.base}/api/v1/tenants/demo/learners", headers=auth, timeout=10),
                    lambda body=body: http.post(
                        f"{served.base}/api/v1/integration/demo/webhook",
                        data=body,
                        headers={"Content-Type": "application/json", "X-Skillhub-Signature": _signed(secret, body)},
                        timeout=10,
                    ),
                ]
                for call in calls:
                    started = time.monotonic()
                    response = call()
                    latencies.append(time.monotonic() - started)
                    assert response.status_code == 200, response.text
        still_open = SLOW_CLIENTS - len(closed)

        # A chunked, signed signal passes the front whole.
        body = json.dumps({"event": "signal.incident", "data": {"site": "Site B", "topic": "Chunked", "severity": 2}}).encode()
        connection = HTTPConnection("127.0.0.1", served.port, timeout=10)
        connection.request(
            "POST",
            "/api/v1/integration/demo/webhook",
            body=iter([body[:10], body[10:]]),
            headers={"Content-Type": "application/json", "X-Skillhub-Signature": _signed(secret, body)},
            encode_chunked=True,
        )
        chunked = connection.getresponse()
        assert chunked.status == 200, chunked.read()

        deadline = time.monotonic() + CLIENT_TIMEOUT + 10
        while len(closed) < SLOW_CLIENTS and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()

    print(
        f"{front}: normal requests max {max(latencies) * 1000:.0f} ms "
        f"(healthz {max(latencies[0::3]) * 1000:.0f}, API {max(latencies[1::3]) * 1000:.0f}, signal {max(latencies[2::3]) * 1000:.0f}); "
        f"slow connections closed after {min(closed.values()):.1f}-{max(closed.values()):.1f} s"
    )
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
    assert still_open > SLOW_CLIENTS / 2  # they were still holding while the normal requests ran
    assert len(closed) == SLOW_CLIENTS
    assert max(closed.values()) < CLIENT_TIMEOUT + 5
