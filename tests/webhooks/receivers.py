"""A real local receiver that can hang past the timeout, answer slowly, and count what is in flight."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Arrival:
    """One request as it arrived: which event, its sequence, when, and whether it was answered at once."""

    webhook_id: str
    sequence: int
    at: float
    hung: bool


class QuietHandler(BaseHTTPRequestHandler):
    """A keep-alive request handler that answers without Nagle's delay and logs nothing."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes; without this, Nagle waits for a delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def _bind(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A server on the first free port of TEST_RECEIVER_PORTS (e.g. 8900-8999), or any free port."""
    low, _, high = os.environ.get("TEST_RECEIVER_PORTS", "").partition("-")
    for port in range(int(low), int(high) + 1) if low and high else ():
        try:
            return ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
    return ThreadingHTTPServer(("127.0.0.1", 0), handler)


class SlowReceiver:
    """An HTTP server on 127.0.0.1 whose answers can be delayed (`delay`) or withheld (`hang`).

    `max_concurrent` is the most requests it held at once, measured here, at the receiver.
    """

    def __init__(self) -> None:
        self.delay = 0.0
        self.hang = 0.0  # while > 0, every request sleeps this long before answering (past the timeout)
        self.arrivals: list[Arrival] = []
        self.concurrent = 0
        self.max_concurrent = 0
        self.lock = threading.Condition()
        self.sockets: list[socket.socket] = []
        receiver = self

        class Handler(QuietHandler):
            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver.sockets.append(self.connection)

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hang, delay = receiver.hang, receiver.delay
                with receiver.lock:
                    receiver.arrivals.append(
                        Arrival(
                            webhook_id=self.headers.get("webhook-id", ""),
                            sequence=int(self.headers.get("webhook-sequence") or 0),
                            at=time.time(),
                            hung=hang > 0,
                        )
                    )
                    receiver.concurrent += 1
                    receiver.max_concurrent = max(receiver.max_concurrent, receiver.concurrent)
                    receiver.lock.notify_all()
                try:
                    time.sleep(hang or delay)
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    self.close_connection = True  # the sender gave up (timeout) or died
                finally:
                    with receiver.lock:
                        receiver.concurrent -= 1
                        receiver.lock.notify_all()


        self.server = _bind(Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def answered(self) -> list[Arrival]:
        """The requests that were answered at once (not hung), in arrival order."""
        with self.lock:
            return [a for a in self.arrivals if not a.hung]

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        deadline = time.time() + timeout
        with self.lock:
            while not predicate(self):
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.1))
            return True

    def close(self) -> None:
        """Stop serving and cut kept-alive connections, so a later receiver on the same port gets them."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class RawReceiver:
    """A receiver that answers every request with exactly the bytes it is given, then closes.

    Status line, headers and body are whatever the test says, valid HTTP or not: what a broken or
    hostile receiver would send.
    """

    def __init__(self) -> None:
        self.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        self.requests = 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    body += chunk
                with self.lock:
                    self.requests += 1
                    answer = self.answer
                conn.sendall(answer)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.listener.close()
