"""Fixtures of the outbound-webhook tests: a real local HTTP receiver and endpoint helpers."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Iterator

import pytest

from tests.webhooks.receivers import QuietHandler
from webhooks.engine import transport


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every POST and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                    reply = receiver.replies.popleft() if receiver.replies else receiver.default
                    receiver.arrived.notify_all()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def reply(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, then with the default."""
        self.replies.extend(replies)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` requests have arrived and return them all."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
            return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def allow_private(settings):
    """Let endpoints target the local receiver (http on 127.0.0.1), as the embedded demo does."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    return settings


@pytest.fixture
def fake_dns(monkeypatch, settings):
    """Answer name lookups from a table (IP literals resolve to themselves): the transport's one seam.

    Every POST asks it (no reuse of a checked answer), so a test may change the table between two.
    """
    settings.WEBHOOKS_RESOLVE_CACHE_SECONDS = 0
    table: dict[str, list[str]] = {}
    real = transport.resolve

    def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return list(table[host])
        return real(host, port)

    monkeypatch.setattr(transport, "resolve", resolve)
    return table
