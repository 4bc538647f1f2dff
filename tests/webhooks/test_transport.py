"""The delivery transport: bounded in time and size, kept-alive connections, never raising."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from webhooks.engine import transport


@pytest.fixture
def trickler():
    """A receiver that answers one byte at a time, forever: only a wall-clock limit stops it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(65536)
            with conn, contextlib.suppress(OSError):  # the client hanging up is the point
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                    if stop.is_set():
                        break
                    conn.sendall(bytes([byte]))
                    time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hooks"
    stop.set()
    thread.join(2)
    server.close()


def test_a_trickling_receiver_is_cut_off_at_the_total_timeout(trickler, allow_private):
    allow_private.WEBHOOKS_TOTAL_TIMEOUT = 0.5
    started = time.monotonic()

    result = transport.post(trickler, body=b"{}", headers={"Content-Type": "application/json"})

    assert time.monotonic() - started < 2.0
    assert result.status_code is None and result.error.startswith("timeout")


def test_connection_refused_is_an_error_not_an_exception(allow_private):
    result = transport.post("http://127.0.0.1:9/hooks", body=b"{}", headers={})
    assert result.status_code is None and result.error and not result.ok


def test_kept_alive_connections_are_reused_for_the_same_checked_address(receiver, allow_private):
    for _ in range(3):
        assert transport.post(receiver.url, body=b"{}", headers={}).ok
    assert len(receiver.requests) == 3
    pool = next(p for key, p in transport._pools._pools.items() if key[2] == receiver.port)
    assert pool.num_connections == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Team": "ops\r\nX-Injected: 1"},
        {"X-Team": "ops\nmore"},
        {"X-Team": " folded"},
        {"X-Team\r\nX-Injected": "1"},
    ],
)
def test_a_header_that_would_break_the_request_is_refused_before_anything_is_sent(receiver, allow_private, headers):
    result = transport.post(receiver.url, body=b"{}", headers=headers)
    assert result.status_code is None and result.error == "invalid request: ValueError"
    assert transport.post(receiver.url, body=b"{}", headers={"X-Team": "ops, on call"}).ok
    assert [request.header("X-Team") for request in receiver.requests] == ["ops, on call"]


def test_the_request_target_is_sent_percent_encoded_every_time(receiver, allow_private):
    url = f"http://127.0.0.1:{receiver.port}/hooks/équipe one?team=a b&x=1"
    for _ in range(2):
        assert transport.post(url, body=b"{}", headers={}).ok
    assert [request.path for request in receiver.requests] == ["/hooks/%C3%A9quipe%20one?team=a%20b&x=1"] * 2
