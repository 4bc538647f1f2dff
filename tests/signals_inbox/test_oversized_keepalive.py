"""A 413 for an oversized signal leaves the kept-alive connection usable for the client's next request.

Against the real server `manage.py serve` runs, over a raw socket: the refused body is read and
dropped, so the next request on the same connection is answered (not a reset, not a 400).
"""
from __future__ import annotations

import json
import socket

import pytest

from tests.skillhub.serving import demo_env, serve

pytestmark = pytest.mark.slow

BODY = b"x" * (300 * 1024)  # over the 256 KiB limit


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-answer"
        rest += chunk
    return head, rest[:length]


def _chunked(body: bytes) -> bytes:
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # noqa: ANN001, ANN201
    tmp_path = tmp_path_factory.mktemp("keepalive")
    # The web server alone, without a front that would absorb the body for it.
    with serve(tmp_path, demo_env(tmp_path, SKILLHUB_FRONT="none")) as served:
        yield served


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_the_connection_answers_a_second_request_after_a_413(server, framing):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        framing_header = b"Content-Length: %d" % len(BODY) if framing == "content-length" else b"Transfer-Encoding: chunked"
        sock.sendall(
            b"POST /api/v1/integration/demo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"X-Skillhub-Signature: " + b"0" * 64 + b"\r\n" + framing_header + b"\r\n\r\n"
            + (BODY if framing == "content-length" else _chunked(BODY))
        )
        head, body = _read_response(sock)
        assert head.startswith(b"HTTP/1.1 413") and json.loads(body) == {"error": "payload_too_large"}
        keeps_alive = b"connection: close" not in head.lower()

        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        if keeps_alive:
            second, _ = _read_response(sock)
            assert second.startswith(b"HTTP/1.1 200"), second
