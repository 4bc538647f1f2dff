"""The webhook transport against drawbridge, a maintained hardened client: the SSRF cases, then the delivery cost.

What it measures:
  ssrf cases  the cases tests/webhooks/test_ssrf_guard.py, test_special_purpose_addresses.py,
              test_transport.py and test_receiver_bytes.py (and test_retry_policy.py's redirect) check
              against the transport, and the same requirements on more inputs, run through
              `webhooks.engine.transport.post` and through drawbridge's SyncClient side by side: every
              special-purpose address block (its first and last address and the tests' samples, each as
              a literal IP and as a name resolving to it), mixed answers, DNS rebinding, other spellings
              of an IP, credentials in the URL, plain http, redirects, a receiver that trickles bytes, an
              oversized body, a gzip bomb, hostile answer bytes, keep-alive reuse. Name lookups answer
              from a table (socket.getaddrinfo patched in-process, for both clients alike) and a fence
              refuses every connect outside 127.0.0.0/8, noting where the client tried to go: nothing
              leaves the machine. Receivers run on 127.0.0.1 in threads; a case about behaviour rather
              than addresses reaches them with each client's allow-private switch
              (WEBHOOKS_ALLOW_PRIVATE_TARGETS; drawbridge's allow_private and allow_ports).
  cost        N signed learner.updated-sized bodies (signed before the clock starts) POSTed one at a
              time to one local keep-alive receiver that answers 200 at once (its own process), through
              transport.post and through one drawbridge SyncClient, in alternating rounds: POSTs/s and
              process CPU µs per POST (time.process_time), per round and the medians.

drawbridge runs as its README advises for webhook delivery (max_redirects=0) and otherwise with its
defaults (1 MiB response limit, its Policy.timeout set to the case's total timeout).

Run: .venv/bin/pip install drawbridge==0.1.2 && .venv/bin/python bench/transport_compare.py [--posts N] [--rounds R]
Needs no database server and no network (DJANGO_SETTINGS_MODULE=skillhub.settings, the embedded
SQLite, untouched).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import ipaddress
import os
import re
import socket
import statistics
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillhub.settings")

from bench import common  # noqa: E402
from bench.webhook_delivery import CEILING_BODY, Receiver as DeliveryReceiver  # noqa: E402

PUBLIC_V4 = "93.184.215.14"  # the tests' public addresses
PUBLIC_V6 = "2606:4700:4700::1111"
PUBLIC_NEIGHBOURS = ["8.8.8.8", "192.0.1.1", "192.88.98.255", "192.88.100.1", "198.20.0.1", "2001:4860:4860::8888",
                     "3fff:1000::1", "2606:4700::1"]  # fmt: skip
BODY = b'{"id":"evt_x","type":"learner.updated"}'
HEADERS = {"Content-Type": "application/json"}
HANG_LIMIT = 3.0  # how long the bench lets a client read a trickling answer before cutting it off
SHORT_TIMEOUT = 0.5  # the total timeout of the trickle case (test_transport.py's)


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def setup_django() -> None:
    import logging

    import django

    django.setup()
    # httpx logs every request and urllib3 every malformed header at INFO/WARNING: noise on the progress lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)


# --- the network both clients see: a resolver table and a fence ------------------------------


class Network:
    """Name lookups answered from a table, and a fence that refuses every connect outside 127.0.0.0/8.

    A name's answers are used in turn, the last one repeated (None: the name does not exist); any
    other name or IP spelling goes to the real resolver, which answers those without DNS.
    """

    LOOPBACK = ipaddress.ip_network("127.0.0.0/8")

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str] | None]] = {}
        self.lookups: dict[str, int] = {}
        self.fenced: list[str] = []
        self._names = 0
        self._real_getaddrinfo = socket.getaddrinfo
        self._real_connect = socket.socket.connect

    def name_for(self, *answers: list[str] | None) -> str:
        """A fresh host name whose lookups give these answers in turn."""
        self._names += 1
        name = f"n{self._names}.ssrf.test"
        self.answers[name] = list(answers)
        return name

    def take_fenced(self) -> list[str]:
        """The addresses outside 127.0.0.0/8 a client tried to connect to since the last call."""
        fenced, self.fenced = self.fenced, []
        return fenced

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.answers:
            return self._real_getaddrinfo(host, port, *args, **kwargs)
        self.lookups[name] = self.lookups.get(name, 0) + 1
        turns = self.answers[name]
        answer = turns.pop(0) if len(turns) > 1 else turns[0]
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [_addrinfo(address, int(port or 0)) for address in answer]

    def connect(self, sock: socket.socket, address: Any) -> None:
        host = address[0]
        if ipaddress.ip_address(host.split("%", 1)[0]) not in self.LOOPBACK:
            self.fenced.append(host)
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"fenced by the bench: {host}")
        self._real_connect(sock, address)

    @contextlib.contextmanager
    def installed(self) -> Iterator[Network]:
        network = self
        socket.getaddrinfo = self.getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = lambda sock, address: network.connect(sock, address)  # type: ignore[method-assign]
        try:
            yield self
        finally:
            socket.getaddrinfo = self._real_getaddrinfo  # type: ignore[assignment]
            socket.socket.connect = self._real_connect  # type: ignore[method-assign]


def _addrinfo(address: str, port: int) -> tuple:
    if ":" in address:
        return socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0)
    return socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)


NETWORK = Network()
# The tests' names: one that does not exist, and one only a guard that skips the scheme check would look up.
NETWORK.answers.update({"nonexistent.invalid": [None], "example.com": [[PUBLIC_V4]]})


# --- local receivers ---------------------------------------------------------------------------

OK_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class LocalReceiver:
    """A receiver in a thread that answers every request with exactly `answer`, valid HTTP or not.

    Like the tests' RawReceiver it closes after answering, unless `keep_alive` (then it waits for
    the next request when the answer has a Content-Length). `trickle` sends the answer a byte every
    50 ms instead (only a wall-clock limit stops a client reading it). `connections` counts accepted
    connections, `heads` keeps the head of every request.
    """

    def __init__(self, answer: bytes = OK_ANSWER, *, host: str = "127.0.0.1", trickle: bool = False, keep_alive: bool = False) -> None:
        self.answer = answer
        self.trickle = trickle
        self.keep_alive = keep_alive
        self.heads: list[bytes] = []
        self.connections = 0
        self.stopped = threading.Event()
        self._open: list[socket.socket] = []
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}/hooks"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def __enter__(self) -> LocalReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def header(self, name: bytes) -> str | None:
        """The value of a header of the first request, or None."""
        for line in (self.heads[0].split(b"\r\n")[1:] if self.heads else []):
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower():
                return value.strip().decode("latin-1")
        return None

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(2)
        self._listener.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._answer_all, args=(conn,), daemon=True).start()

    def _answer_all(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # the client hanging up is its business
            conn.settimeout(5)
            pending = b""
            while not self.stopped.is_set():
                head, pending = _read_request(conn, pending)
                if head is None:
                    return
                self.heads.append(head)
                if self.trickle:
                    return self._trickle(conn)
                conn.sendall(self.answer)
                if not (self.keep_alive and _keeps_alive(self.answer)):
                    conn.shutdown(socket.SHUT_WR)
                    return

    def _trickle(self, conn: socket.socket) -> None:
        for byte in self.answer:
            if self.stopped.is_set():
                return
            conn.sendall(bytes([byte]))
            time.sleep(0.05)


def _read_request(conn: socket.socket, pending: bytes) -> tuple[bytes | None, bytes]:
    """One request's head (its body read and dropped) and what followed it; (None, b"") at the end."""
    while b"\r\n\r\n" not in pending:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return head, rest[length:]


def _keeps_alive(answer: bytes) -> bool:
    head = answer.partition(b"\r\n\r\n")[0].lower()
    return b"content-length:" in head and b"connection: close" not in head


def raw_answer(status: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    return status + b"\r\n" + b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body


def gzip_bomb(mebibytes: int = 200) -> bytes:
    """test_receiver_bytes.py's bomb: 200 MiB of zeros, gzip level 9 (about 200 KiB), built a MiB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join([compressor.compress(zeros) for _ in range(mebibytes)] + [compressor.flush()])


# --- the two clients, behind one call ------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """What a case lets a client do: reach private addresses (on these ports), within this total timeout."""

    private: bool = False
    ports: tuple[int, ...] = ()  # drawbridge's allow_ports beyond its defaults; the transport has no port rule
    timeout: float = 15.0
    redirects: int = 0  # drawbridge's max_redirects; the transport never follows a redirect
    allowlist: tuple[str, ...] = ()  # drawbridge's ip_allowlist; the transport has no such switch


@dataclass
class Result:
    """What one client made of one case."""

    status: int | None = None
    body: str = ""
    error: str = ""
    refused: bool = False  # turned down before any connection
    seconds: float = 0.0
    fenced: list[str] = field(default_factory=list)  # addresses outside 127/8 it tried to connect to
    hung: bool = False  # still reading when the bench cut it off
    note: str = ""
    summary: str = ""  # set by a case that sums up several POSTs
    facts: dict[str, Any] = field(default_factory=dict)


class Skillhub:
    """`webhooks.engine.transport.post` with the case's settings (a fresh resolution on every POST, as fake_dns sets)."""

    name = "skillhub"

    def post(self, url: str, config: Config = Config(), *, body: bytes = BODY, headers: dict[str, str] | None = None) -> Result:
        from django.test import override_settings

        from webhooks.engine import transport

        values = {
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": config.private,
            "WEBHOOKS_TOTAL_TIMEOUT": config.timeout,
            "WEBHOOKS_CONNECT_TIMEOUT": min(5.0, config.timeout),
            "WEBHOOKS_RESOLVE_CACHE_SECONDS": 0,
        }
        started = time.monotonic()
        with override_settings(**values):
            answer = transport.post(url, body=body, headers=headers or HEADERS)
        return Result(
            status=answer.status_code, body=answer.body_excerpt, error=answer.error,
            refused=answer.error.startswith(("refused:", "invalid request")),
            seconds=time.monotonic() - started, fenced=NETWORK.take_fenced(),
        )  # fmt: skip


class Drawbridge:
    """drawbridge's SyncClient.post with a Policy made from the case's Config (one client per Policy)."""

    name = "drawbridge"

    def __init__(self) -> None:
        import drawbridge
        import httpx

        self.module = drawbridge
        self.refusals = (
            drawbridge.BlockedAddressError, drawbridge.BlockedDomainError, drawbridge.UnsafePortError,
            drawbridge.UnsafeSchemeError, drawbridge.DrawbridgeDNSError, httpx.InvalidURL, httpx.UnsupportedProtocol,
        )  # fmt: skip
        self.default_ports = drawbridge.Policy().allow_ports
        self._clients: dict[Any, Any] = {}

    def client(self, config: Config) -> Any:
        policy = self.module.Policy(
            allow_private=config.private,
            allow_ports=self.default_ports | set(config.ports),
            ip_allowlist=[ipaddress.ip_network(block) for block in config.allowlist],
            max_redirects=config.redirects,
            timeout=config.timeout,  # documented as "Total timeout in seconds"
        )
        if policy not in self._clients:
            self._clients[policy] = self.module.SyncClient(policy)
        return self._clients[policy]

    def post(self, url: str, config: Config = Config(), *, body: bytes = BODY, headers: dict[str, str] | None = None) -> Result:
        client = self.client(config)
        started = time.monotonic()
        try:
            response = client.post(url, content=body, headers=headers or HEADERS)
        except self.refusals as exc:
            return self._failed(exc, started, refused=True)
        except Exception as exc:  # it raises where the transport returns an error: an adapter catches it
            return self._failed(exc, started, refused=False)
        return Result(
            status=response.status_code, body=response.content.decode("utf-8", errors="replace"),
            seconds=time.monotonic() - started, fenced=NETWORK.take_fenced(),
        )  # fmt: skip

    def _failed(self, exc: Exception, started: float, *, refused: bool) -> Result:
        fenced = NETWORK.take_fenced()
        return Result(
            error=f"{type(exc).__name__}: {exc}", refused=refused and not fenced,
            seconds=time.monotonic() - started, fenced=fenced,
        )  # fmt: skip

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


Client = Any  # Skillhub or Drawbridge


def within(limit: float, post: Callable[[], Result], cut_off: Callable[[], None]) -> Result:
    """Run `post`; when it is still running after `limit` seconds, `cut_off` its receiver and say so."""
    box: list[Result] = []
    thread = threading.Thread(target=lambda: box.append(post()), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(limit)
    if not thread.is_alive():
        return box[0]
    cut_off()
    thread.join(10)
    result = box[0] if box else Result(error="no answer")
    result.hung, result.seconds = True, time.monotonic() - started
    result.note = f"still reading at {limit:g} s (the bench cut it off)"
    return result


# --- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    requirement: str  # what skillhub's tests require of the outcome
    run: Callable[[Client], Result]
    meets: Callable[[Result], bool]
    counted: bool = True  # False: shown for information, left out of the verdict
    short: str = ""  # its name in the verdict
    source: str = "extra"  # the test module it comes from (SOURCES), or "extra": this bench's own
    block: bool = False  # one of the special-purpose address blocks


SOURCES = {
    "guard": "tests/webhooks/test_ssrf_guard.py",
    "special": "tests/webhooks/test_special_purpose_addresses.py (and test_ssrf_guard.py's REFUSED)",
    "transport": "tests/webhooks/test_transport.py",
    "bytes": "tests/webhooks/test_receiver_bytes.py",
    "retry": "tests/webhooks/test_retry_policy.py",
    "extra": "not a test: the same requirement on another input (other IP spellings, bigger bodies, ...)",
}


CASES: list[Case] = []


def case(
    name: str, requirement: str, meets: Callable[[Result], bool], *, short: str, source: str, counted: bool = True
) -> Callable:
    def register(run: Callable[[Client], Result]) -> Callable[[Client], Result]:
        CASES.append(Case(name, requirement, run, meets, counted, short, source))
        return run

    return register


def refused_unsent(result: Result) -> bool:
    return result.refused and not result.fenced


def status_is(code: int, *, within_seconds: float = 5.0) -> Callable[[Result], bool]:
    return lambda result: result.status == code and result.seconds < within_seconds


def nothing_reached(result: Result) -> bool:
    return result.facts.get("receiver connections", 0) == 0


def post_with_receiver(client: Client, url: str, receiver: LocalReceiver, config: Config) -> Result:
    """POST and note what the case's receiver saw."""
    result = client.post(url, config)
    result.facts["receiver connections"] = receiver.connections
    if receiver.connections:
        result.note = f"a receiver on 127.0.0.1 got {receiver.connections} connection(s)"
    return result


# Answers, DNS rebinding and pinning (test_ssrf_guard.py).


@case("name -> public and 127.0.0.1 (mixed answer)", "refused, nothing sent", refused_unsent, short="mixed answer", source="guard")
def mixed_answer(client: Client) -> Result:
    return client.post(f"https://{NETWORK.name_for([PUBLIC_V4, '127.0.0.1'])}/hook")


@case("name -> 127.0.0.1 and public (mixed answer)", "refused, nothing sent", refused_unsent, short="mixed answer, private first", source="extra")
def mixed_answer_private_first(client: Client) -> Result:
    return client.post(f"https://{NETWORK.name_for(['127.0.0.1', PUBLIC_V4])}/hook")


@case(
    "DNS rebinding: 1st answer public, later ones 127.0.0.1",
    "connects only to the checked public address",
    lambda r: r.fenced == [PUBLIC_V4] and nothing_reached(r),
    short="DNS rebinding", source="extra",
)
def rebinding_in_one_post(client: Client) -> Result:
    with LocalReceiver() as receiver:
        name = NETWORK.name_for([PUBLIC_V4], ["127.0.0.1"])
        result = post_with_receiver(client, f"https://{name}:{receiver.port}/hooks", receiver, Config(ports=(receiver.port,)))
    lookups = NETWORK.lookups.get(name, 0)
    result.summary = f"connects to {', '.join(result.fenced) or 'nothing'}; {lookups} lookup(s)" + (f"; {result.note}" if result.note else "")
    return result


@case(
    "name re-resolved at the next POST: was public, now 127.0.0.1",
    "the next POST is refused, nothing sent",
    lambda r: refused_unsent(r) and nothing_reached(r),
    short="rebinding between POSTs", source="guard",
)
def rebinding_between_posts(client: Client) -> Result:
    with LocalReceiver() as receiver:
        name = NETWORK.name_for([PUBLIC_V4], ["127.0.0.1"])
        url = f"https://{name}:{receiver.port}/hooks"
        client.post(url, Config(ports=(receiver.port,)))  # the first: checked public, fenced here
        return post_with_receiver(client, url, receiver, Config(ports=(receiver.port,)))


@case(
    "allow-private: name only in the checked answer, Host kept",
    "arrives at the checked address, Host is the name",
    lambda r: r.status == 200 and r.facts.get("host") == r.facts.get("expected host"),
    short="pinning with the Host kept", source="guard",
)
def pinned_with_host_kept(client: Client) -> Result:
    with LocalReceiver() as receiver:
        name = NETWORK.name_for(["127.0.0.1"])
        result = client.post(f"http://{name}:{receiver.port}/hooks", Config(private=True, ports=(receiver.port,)))
        result.facts.update(host=receiver.header(b"host"), **{"expected host": f"{name}:{receiver.port}"})
    result.note = f"Host: {result.facts['host']}"
    return result


@case(
    "public name on port 9443 (info: no test asks)",
    "connects (the transport has no port rule)",
    lambda r: r.fenced == [PUBLIC_V4],
    short="a port outside 80/443/8080/8443", source="extra",
    counted=False,
)
def unusual_port(client: Client) -> Result:
    return client.post(f"https://{NETWORK.name_for([PUBLIC_V4])}:9443/hook")


# Other spellings of an IP (the resolver reads them; the guard must check what they mean).

SPELLINGS = [
    ("2130706433", "127.0.0.1 as a decimal"),
    ("0177.0.0.1", "127.0.0.1 in octal"),
    ("0x7f000001", "127.0.0.1 in hex"),
    ("0x7f.1", "127.0.0.1 in hex, short"),
    ("127.1", "127.0.0.1, short"),
    ("2852039166", "169.254.169.254 as a decimal"),
    ("0251.0376.0251.0376", "169.254.169.254 in octal"),
    ("[::ffff:7f00:1]", "IPv4-mapped 127.0.0.1 in hex"),
    ("[::127.0.0.1]", "IPv4-compatible, in ::/8"),
]


def spelling_case(spelling: str, meaning: str) -> None:
    @case(f"https://{spelling}/ ({meaning})", "refused, nothing sent", refused_unsent, short=f"https://{spelling}/", source="extra")
    def run(client: Client) -> Result:
        return client.post(f"https://{spelling}/hook")


for _spelling, _meaning in SPELLINGS:
    spelling_case(_spelling, _meaning)


# The URL's form (test_ssrf_guard.py's malformed and plain-http targets).

MALFORMED = [
    (f"http://{PUBLIC_V4}/hook", "plain http to a public address", "plain http"),
    ("ftp://example.com/x", "ftp", "ftp"),
    ("https:///nohost", "no host", "no host"),
    (f"https://user:pw@{PUBLIC_V4}/x", "credentials in the URL", "credentials in the URL"),
    ("not a url", "not a URL", "not a URL"),
    ("https://nonexistent.invalid/x", "a name that does not resolve", "a name that does not resolve"),
]


def malformed_case(url: str, label: str, short: str) -> None:
    @case(f"{url} ({label})", "refused, nothing sent", refused_unsent, short=short, source="guard")
    def run(client: Client) -> Result:
        return client.post(url)


for _url, _label, _short in MALFORMED:
    malformed_case(_url, _label, _short)


@case(
    "allow-private: credentials in the URL to a receiver",
    "refused, nothing sent",
    lambda r: refused_unsent(r) and nothing_reached(r),
    short="credentials in the URL (allow-private)", source="extra",
)
def credentials_to_receiver(client: Client) -> Result:
    with LocalReceiver() as receiver:
        url = f"http://user:pw@127.0.0.1:{receiver.port}/hooks"
        result = post_with_receiver(client, url, receiver, Config(private=True, ports=(receiver.port,)))
        authorization = receiver.header(b"authorization")
    if authorization:
        result.note = f"receiver got Authorization: {authorization}"
    return result


# Redirects: never followed (docs/contract.md); the 3xx is the answer.


def redirect_answer(status: bytes, internal: LocalReceiver) -> bytes:
    return raw_answer(status, [(b"Location", internal.url.encode()), (b"Content-Length", b"0")], b"")


def redirect_to_internal(client: Client, status: bytes, config_for: Callable[[Client, int, int], Config]) -> Result:
    with LocalReceiver(host="127.0.0.2") as internal, LocalReceiver() as receiver:
        receiver.answer = redirect_answer(status, internal)
        result = client.post(receiver.url, config_for(client, receiver.port, internal.port))
        result.facts["internal connections"] = internal.connections
        if receiver.connections and result.status is None:
            result.refused = False  # the first hop was sent: what was refused is the redirect
            result.note = "the 3xx followed, the hop refused; the 3xx is lost"
    if internal.connections:
        result.note = f"followed: the internal receiver got {internal.connections} connection(s)"
    return result


def allow_private_both(client: Client, port: int, internal_port: int) -> Config:
    return Config(private=True, ports=(port, internal_port))


def drawbridge_defaults_with_allowlist(client: Client, port: int, internal_port: int) -> Config:
    """drawbridge with its default max_redirects=5, the receiver let in by ip_allowlist, 127.0.0.2 not."""
    if client.name == "skillhub":
        return Config(private=True)
    return Config(ports=(port, internal_port), redirects=5, allowlist=("127.0.0.1/32",))


def status_and_not_followed(code: int) -> Callable[[Result], bool]:
    return lambda r: r.status == code and r.facts.get("internal connections") == 0


@case(
    "allow-private: 302 to the receiver's /elsewhere",
    "the 302 is the answer; one request arrives",
    lambda r: r.status == 302 and r.facts.get("requests") == 1,
    short="302 not followed",
    source="retry",
)
def redirect_302_same_receiver(client: Client) -> Result:
    with LocalReceiver(keep_alive=True) as receiver:
        receiver.answer = raw_answer(
            b"HTTP/1.1 302 Found", [(b"Location", f"{receiver.url}/elsewhere".encode()), (b"Content-Length", b"0")], b""
        )
        result = client.post(receiver.url, Config(private=True, ports=(receiver.port,)))
        time.sleep(0.05)  # a followed redirect would have arrived by now
        result.facts["requests"] = len(receiver.heads)
    result.note = f"the receiver got {result.facts['requests']} request(s)"
    return result


@case(
    "allow-private: 301 to http://127.0.0.2/internal",
    "the 301 is the answer; not followed",
    status_and_not_followed(301),
    short="301 to an internal address", source="extra",
)
def redirect_301(client: Client) -> Result:
    return redirect_to_internal(client, b"HTTP/1.1 301 Moved Permanently", allow_private_both)


@case(
    "allow-private: 307 to http://127.0.0.2/internal",
    "the 307 is the answer; not followed",
    status_and_not_followed(307),
    short="307 to an internal address", source="extra",
)
def redirect_307(client: Client) -> Result:
    return redirect_to_internal(client, b"HTTP/1.1 307 Temporary Redirect", allow_private_both)


@case(
    "307 to 127.0.0.2, drawbridge's default max_redirects=5 (info)",
    "the 307 is the answer; not followed",
    status_and_not_followed(307),
    short="307 with drawbridge's default redirects", source="extra",
    counted=False,
)
def redirect_307_drawbridge_defaults(client: Client) -> Result:
    return redirect_to_internal(client, b"HTTP/1.1 307 Temporary Redirect", drawbridge_defaults_with_allowlist)


# Time and size (test_transport.py, test_receiver_bytes.py).


@case(
    f"receiver trickles a byte every 50 ms, total timeout {SHORT_TIMEOUT:g} s",
    "cut off at the total timeout (< 2 s), no status",
    lambda r: r.status is None and not r.hung and r.seconds < 2.0 and "timeout" in r.error.lower(),
    short="the total timeout against a trickling receiver", source="transport",
)
def trickling_receiver(client: Client) -> Result:
    with LocalReceiver(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000, trickle=True) as receiver:
        config = Config(private=True, ports=(receiver.port,), timeout=SHORT_TIMEOUT)
        return within(HANG_LIMIT, lambda: client.post(receiver.url, config), receiver.stop)


def answer_case(client: Client, answer: bytes) -> Result:
    with LocalReceiver(answer) as receiver:
        return client.post(receiver.url, Config(private=True, ports=(receiver.port,)))


FIVE_MIB = b"x" * (5 << 20)


@case("200 with a 5 MiB body (Content-Length)", "200 kept, read bounded (< 5 s)", status_is(200), short="5 MiB body", source="extra")
def oversized_body(client: Client) -> Result:
    return answer_case(client, raw_answer(b"HTTP/1.1 200 OK", [(b"Content-Length", str(len(FIVE_MIB)).encode())], FIVE_MIB))


@case(
    "200 with a 5 MiB body to the close (no length)",
    "200 kept, read bounded (< 5 s)",
    status_is(200),
    short="5 MiB body to the close", source="extra",
)
def oversized_body_to_close(client: Client) -> Result:
    return answer_case(client, raw_answer(b"HTTP/1.1 200 OK", [(b"Connection", b"close")], FIVE_MIB))


BOMB: list[bytes] = []  # built once, when the cases run


def gzip_answer(body: bytes) -> bytes:
    return raw_answer(b"HTTP/1.1 200 OK", [(b"Content-Encoding", b"gzip"), (b"Content-Length", str(len(body)).encode())], body)


@case(
    "200 with a gzip bomb (200 MiB of zeros in ~200 KiB)",
    "200 kept, inflated only to the excerpt (< 5 s)",
    status_is(200),
    short="gzip bomb", source="bytes",
)
def gzip_bomb_body(client: Client) -> Result:
    before = peak_rss_mib()
    result = answer_case(client, gzip_answer(BOMB[0]))
    grown = peak_rss_mib() - before  # the process's high-water mark: what this POST added to it, at least
    kept = f"{len(result.body):,} chars kept; " if result.status is not None else ""
    result.note = f"{kept}peak RSS +{grown:.0f} MiB"
    return result


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@case(
    "200, gzip body 'thanks, received ✓'",
    "200 kept, the text decompressed",
    lambda r: r.status == 200 and r.body == "thanks, received ✓",
    short="gzip body", source="bytes",
)
def gzip_text(client: Client) -> Result:
    return answer_case(client, gzip_answer(zlib.compress("thanks, received ✓".encode(), wbits=16 + zlib.MAX_WBITS)))


def broken_gzip_case(body: bytes, label: str) -> None:
    @case(f"200, Content-Encoding gzip, body {label}", "200 kept (the delivery succeeded)", status_is(200), short=f"gzip body {label}", source="bytes")
    def run(client: Client) -> Result:
        return answer_case(client, gzip_answer(body))


for _body, _label in [
    (b"", "empty"),
    (b"not gzip at all", "not gzip"),
    (zlib.compress(b"truncated " * 50, wbits=16 + zlib.MAX_WBITS)[:20], "truncated"),
]:
    broken_gzip_case(_body, _label)


@case("200 with a NUL in the body", "200 kept", status_is(200), short="NUL in the body", source="bytes")
def nul_in_body(client: Client) -> Result:
    result = answer_case(client, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\x00")
    result.note = f"body {result.body!r}"
    return result


@case(
    "503 with NUL and invalid UTF-8 in status line and headers",
    "503 kept",
    status_is(503),
    short="503 with invalid header bytes", source="bytes",
)
def hostile_headers(client: Client) -> Result:
    return answer_case(
        client,
        raw_answer(
            b"HTTP/1.1 503 Sl\x00w d\xffwn",
            [(b"Retry-After", b"\x00\xfe"), (b"X-J\x00nk", b"a\x00b\xc3\x28"), (b"Content-Length", b"6")],
            b"\xff\xfe\x00\xc3\x28!",
        ),
    )


@case(
    "500 with a NUL reason, Connection: close",
    "a failure (non-2xx or error)",
    lambda r: r.status is None or not 200 <= r.status < 300,
    short="500 with a NUL reason", source="bytes",
)
def nul_reason(client: Client) -> Result:
    return answer_case(client, b"HTTP/1.1 500 \x00\r\nConnection: close\r\nContent-Length: 4\r\n\r\nno\x00\xff")


@case(
    "allow-private: nothing listens (port 9)",
    "an error, no status",
    lambda r: r.status is None and bool(r.error) and not r.refused,
    short="connection refused", source="transport",
)
def connection_refused(client: Client) -> Result:
    return client.post("http://127.0.0.1:9/hooks", Config(private=True, ports=(9,)))


@case(
    "allow-private: 3 POSTs to one receiver",
    "3 x 200 over 1 kept-alive connection",
    lambda r: r.facts.get("ok") == 3 and r.facts.get("connections") == 1,
    short="keep-alive", source="transport",
)
def keep_alive(client: Client) -> Result:
    with LocalReceiver(keep_alive=True) as receiver:
        config = Config(private=True, ports=(receiver.port,))
        results = [client.post(receiver.url, config) for _ in range(3)]
        time.sleep(0.05)  # the receiver counts the last accept
        connections = receiver.connections
    ok = sum(r.status == 200 for r in results)
    return Result(status=results[-1].status, summary=f"{ok} x 200 over {connections} connection(s)", facts={"ok": ok, "connections": connections})


# Every special-purpose block, literal and as a name (test_ssrf_guard.py, test_special_purpose_addresses.py).


def address_cases() -> list[Case]:
    """One case per block of the transport's table: its first and last address and the tests' samples in it."""
    from tests.webhooks.test_special_purpose_addresses import IANA_BLOCKS
    from tests.webhooks.test_ssrf_guard import REFUSED
    from webhooks.engine import transport

    blocks = [(ipaddress.ip_network(block), reason) for block, reason in transport.SPECIAL_PURPOSE]
    samples = {network: [str(network[0]), str(network[-1])] for network, _ in blocks}
    for address in [a for a, _ in REFUSED] + [a for _, a, _ in IANA_BLOCKS]:
        samples[_narrowest(address, blocks)].append(address)
    cases = []
    for network, reason in blocks:
        addresses = list(dict.fromkeys(samples[network]))
        cases.append(
            Case(f"{network} {reason}", "all refused, nothing sent", _refuse_all(addresses),
                 lambda r: r.facts["refused"] == r.facts["total"], short=str(network), source="special", block=True)
        )  # fmt: skip
    public = [PUBLIC_V4, PUBLIC_V6] + PUBLIC_NEIGHBOURS
    cases.append(
        Case(f"the tests' {len(public)} public addresses", "none refused: each connects",
             _connect_all(public), lambda r: r.facts["connects"] == r.facts["total"], short="public addresses", source="special")
    )  # fmt: skip
    return cases


def _narrowest(address: str, blocks: list) -> Any:
    ip = ipaddress.ip_address(address)
    return max((network for network, _ in blocks if ip.version == network.version and ip in network), key=lambda n: n.prefixlen)


def _literal_and_name(address: str) -> list[str]:
    literal = f"[{address}]" if ":" in address else address
    return [f"https://{literal}/hook", f"https://{NETWORK.name_for([address])}/hook"]


def _refuse_all(addresses: list[str]) -> Callable[[Client], Result]:
    def run(client: Client) -> Result:
        urls = [url for address in addresses for url in _literal_and_name(address)]
        results = [client.post(url) for url in urls]
        refused = [r for r in results if refused_unsent(r)]
        let_through = sorted({address for r in results if not refused_unsent(r) for address in (r.fenced or ["?"])})
        summary = f"refused {len(refused)}/{len(results)}"
        if let_through:
            summary += "; connects to " + ", ".join(let_through)
        elif refused:
            summary += f" ({short_reason(refused[0].error)})"
        return Result(refused=not let_through, summary=summary, facts={"refused": len(refused), "total": len(results)})

    return run


def _connect_all(addresses: list[str]) -> Callable[[Client], Result]:
    def run(client: Client) -> Result:
        pairs = [(address, client.post(url)) for address in addresses for url in _literal_and_name(address)]
        connects = sum(r.fenced == [address] for address, r in pairs)
        refused = [address for address, r in pairs if r.refused]
        summary = f"connects {connects}/{len(pairs)} (fenced here)" + (f"; refused {', '.join(refused)}" if refused else "")
        return Result(summary=summary, facts={"connects": connects, "total": len(pairs)})

    return run


# --- outcomes, side by side ----------------------------------------------------------------------


def short_reason(error: str) -> str:
    """The reason of a refusal: "a loopback address" (the transport), "private IP (127.0.0.0/8)" (drawbridge)."""
    found = re.search(r"resolves to (.+?) \(", error) or re.search(r" is (.+)$", error)
    if found:
        return found.group(1)
    return error.removeprefix("refused: ")


def short_error(error: str) -> str:
    """An error's kind and its errno text when it has one: "timeout: [Errno 111] Connection refused"."""
    errno_text = re.search(r"\[Errno \d+\] [^'\")]+", error)
    if errno_text:
        return f"{error.split(':', 1)[0]}: {errno_text.group(0)}"
    error = re.sub(r"^(\w+): \S+ blocked: ", r"\1: ", error)  # drawbridge names the host twice
    return error.replace("Response body exceeds", "body exceeds")


def describe(result: Result) -> str:
    if result.summary:
        return result.summary
    if result.refused:
        text = "refused: " + short_reason(result.error)
    elif result.fenced:
        text = "connects to " + ", ".join(result.fenced) + " (fenced here)"
    elif result.hung:
        text = "no answer"
    elif result.status is not None:
        text = f"{result.status} in {result.seconds:.2f} s" + (f" ({short_error(result.error)})" if result.error else "")
    else:
        text = f"{short_error(result.error)} ({result.seconds:.2f} s)"
    return f"{text}; {result.note}" if result.note else text


def kind(result: Result) -> str:
    if result.summary:
        return result.summary.split(";")[0].split(" (")[0]
    if result.refused:
        return "refused"
    if result.fenced:
        return "connects"
    if result.hung:
        return "hung"
    return f"status {result.status}" if result.status is not None else "error"


@dataclass
class Row:
    case: Case
    skillhub: Result
    drawbridge: Result

    @property
    def skillhub_meets(self) -> bool:
        return self.case.meets(self.skillhub)

    @property
    def drawbridge_meets(self) -> bool:
        return self.case.meets(self.drawbridge)

    def verdict(self) -> str:
        if self.skillhub_meets and not self.drawbridge_meets:
            judged = "DIFFERENT: drawbridge fails"
        elif self.drawbridge_meets and not self.skillhub_meets:
            judged = "DIFFERENT: skillhub fails"
        elif not self.skillhub_meets:
            judged = "both fail"
        elif kind(self.skillhub) != kind(self.drawbridge):
            judged = "different, both meet it"
        else:
            judged = "same"
        return judged if self.case.counted else f"{judged} (info)"


def run_cases(cases: list[Case], clients: list[Client]) -> list[Row]:
    rows = []
    started = time.time()
    for done, item in enumerate(cases, 1):
        results = [item.run(client) for client in clients]
        rows.append(Row(item, *results))
        common.progress("ssrf cases", done, len(cases), started)
    return rows


def clip(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def print_failures(rows: list[Row]) -> None:
    """Each case drawbridge fails, in full: what is required, what each client did."""
    print()
    print("where drawbridge does not meet the requirement (required | skillhub transport | drawbridge):")
    for row in rows:
        if row.skillhub_meets and not row.drawbridge_meets:
            print(f"- {row.case.name} [{row.case.source}{', info' if not row.case.counted else ''}]: {row.case.requirement}"
                  f" | {describe(row.skillhub)} | {describe(row.drawbridge)}")  # fmt: skip


def print_cases(rows: list[Row]) -> None:
    widths = (54, 48, 62, 9)
    print("SSRF cases. An address block's row: its first and last address and the tests' samples in it, each as a")
    print("literal IP and as a name resolving to it. 'connects to': it tried to connect there (the bench's fence stopped it).")
    print("from: " + "; ".join(f"{tag} = {path}" for tag, path in SOURCES.items()))
    header = ("case", "skillhub transport", "drawbridge 0.1.2", "from")
    print(" ".join(f"{title:<{width}}" for title, width in zip(header, widths)), "same/different")
    for row in rows:
        cells = (row.case.name, describe(row.skillhub), describe(row.drawbridge), row.case.source)
        print(" ".join(f"{clip(cell, width):<{width}}" for cell, width in zip(cells, widths)), row.verdict())


# --- the delivery cost ----------------------------------------------------------------------------


def signed_posts(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """`count` learner.updated-sized bodies with the headers a delivery sends, signed as deliveries are."""
    from webhooks import signing
    from webhooks.engine import transport

    secret = signing.generate_secret()
    posts = []
    for n in range(count):
        body = CEILING_BODY.replace(b"evt_x", b"evt_%d" % n)
        headers = {"Content-Type": "application/json", "User-Agent": transport.USER_AGENT}
        headers.update(signing.signature_headers(secrets_=[secret], msg_id=f"evt_{n}", timestamp=int(time.time()), body=body))
        posts.append((body, headers))
    return posts


def skillhub_sender(url: str) -> Callable[[bytes, dict[str, str]], int | None]:
    from webhooks.engine import transport

    return lambda body, headers: transport.post(url, body=body, headers=headers).status_code


def drawbridge_sender(url: str, port: int) -> tuple[Callable[[bytes, dict[str, str]], int | None], Any]:
    import drawbridge

    client = drawbridge.SyncClient(drawbridge.Policy(allow_private=True, allow_ports=[port], max_redirects=0, timeout=15.0))
    return (lambda body, headers: client.post(url, content=body, headers=headers).status_code), client


def timed_round(send: Callable[[bytes, dict[str, str]], int | None], posts: list, receiver: DeliveryReceiver) -> tuple[float, float]:
    """POST every body once, one at a time; return (POSTs/s, process CPU µs per POST)."""
    receiver.reset()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    ok = sum(200 <= (send(body, headers) or 0) < 300 for body, headers in posts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    arrived = receiver.count()
    if ok != len(posts) or arrived != len(posts):
        raise RuntimeError(f"only {ok} of {len(posts)} POSTs answered 2xx, {arrived} arrived")
    return len(posts) / wall, cpu / len(posts) * 1e6


def cost_rounds(count: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """Alternating rounds, the first sender swapped every round so neither always goes first."""
    from django.test import override_settings

    receiver = DeliveryReceiver()
    url = f"{receiver.base}/hook"
    send_drawbridge, client = drawbridge_sender(url, receiver.port)
    senders = {"skillhub": skillhub_sender(url), "drawbridge": send_drawbridge}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in senders}
    posts = signed_posts(count)
    LOAD.append(os.getloadavg()[0])
    try:
        with override_settings(WEBHOOKS_ALLOW_PRIVATE_TARGETS=True):
            for send in senders.values():
                timed_round(send, posts[:200], receiver)  # warm up: imports, pools, first connections
            for r in range(rounds):
                order = list(senders) if r % 2 == 0 else list(senders)[::-1]
                for name in order:
                    results[name].append(timed_round(senders[name], posts, receiver))
                    rate, cpu = results[name][-1]
                    log(f"  cost round {r + 1}/{rounds} {name:>10}: {rate:,.0f} POSTs/s, {cpu:,.0f} µs CPU per POST")
    finally:
        LOAD.append(os.getloadavg()[0])
        client.close()
        receiver.stop()
    return results


LOAD: list[float] = []  # the 1-minute load average when the cost rounds began and ended


def print_cost(results: dict[str, list[tuple[float, float]]], count: int) -> None:
    print()
    print(f"delivery cost: {count:,} signed ~{len(CEILING_BODY)}-byte bodies per round, one at a time, to one local keep-alive receiver")
    print(f"({os.cpu_count()} cores; load average {' -> '.join(f'{x:.1f}' for x in LOAD)} from the first round to the last)")
    print("(bodies signed before the clock starts; drawbridge's SyncClient keeps no connection alive: max_keepalive_connections=0)")
    print(f"{'client':<22} {'POSTs/s per round':<28} {'median':>9}   {'CPU µs/POST per round':<24} {'median':>7}")
    for name, label in (("skillhub", "skillhub transport"), ("drawbridge", "drawbridge SyncClient")):
        rates = [rate for rate, _ in results[name]]
        cpus = [cpu for _, cpu in results[name]]
        print(
            f"{label:<22} {' / '.join(f'{x:,.0f}' for x in rates):<28} {statistics.median(rates):>9,.0f}   "
            f"{' / '.join(f'{x:,.0f}' for x in cpus):<24} {statistics.median(cpus):>7,.0f}"
        )


# --- the verdict ------------------------------------------------------------------------------------


def failed_names(cases: list[Case]) -> str:
    blocks = [c.short for c in cases if c.block]
    named = [c.short for c in cases if not c.block]
    if blocks:
        named.append(f"{len(blocks)} address blocks not refused ({', '.join(blocks)})")
    return "; ".join(named)


def tally(rows: list[Row], label: str) -> str:
    """"meets 40 of the 60 <label> (fails 20: ...)", drawbridge over these rows."""
    fails = [row.case for row in rows if not row.drawbridge_meets]
    text = f"meets {len(rows) - len(fails)} of the {len(rows)} {label}"
    return text + (f" (fails {len(fails)}: {failed_names(fails)})" if fails else "")


def cost_sentence(cost: dict[str, list[tuple[float, float]]]) -> tuple[str, bool]:
    """The cost of a drawbridge POST against the transport's (medians), and whether drawbridge is slower."""
    rate = [statistics.median(r for r, _ in cost[name]) for name in ("skillhub", "drawbridge")]
    cpu = [statistics.median(c for _, c in cost[name]) for name in ("skillhub", "drawbridge")]
    text = (
        f"a POST through it costs {cpu[1] / cpu[0]:.2f}x the transport's CPU ({cpu[1]:,.0f} vs {cpu[0]:,.0f} µs, medians) "
        f"at {rate[1] / rate[0]:.2f}x its rate ({rate[1]:,.0f} vs {rate[0]:,.0f} POSTs/s)"
    )
    return text, cpu[1] > cpu[0] or rate[1] < rate[0]


def print_verdict(rows: list[Row], cost: dict[str, list[tuple[float, float]]] | None) -> None:
    counted = [row for row in rows if row.case.counted]
    tested = [row for row in counted if row.case.source != "extra"]
    extra = [row for row in counted if row.case.source == "extra"]
    own = [row.case.short for row in counted if not row.skillhub_meets]
    print()
    if own:
        print(f"the transport itself fails {len(own)} case(s): {'; '.join(own)}")
    pinned, added = tally(tested, "cases skillhub's tests pin"), tally(extra, "further cases this bench adds")
    text = f"verdict: drawbridge 0.1.2 {pinned}; it {added}"
    passes = all(row.drawbridge_meets for row in counted)
    slower = True
    if cost:
        sentence, slower = cost_sentence(cost)
        text += f"; {sentence}"
    else:
        text += " (cost not measured: no adoption without it)"
    decision = "adopt it" if passes and not slower else "keep the transport"
    print(f"{text}. Decision: {decision}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=3000, help="POSTs per cost round")
    parser.add_argument("--rounds", type=int, default=3, help="cost rounds per client")
    parser.add_argument("--skip-cost", action="store_true", help="run the SSRF cases only")
    args = parser.parse_args()
    try:
        import drawbridge
    except ImportError:
        sys.exit("drawbridge is not installed: .venv/bin/pip install drawbridge==0.1.2")
    setup_django()
    log(f"== the transport against drawbridge {version('drawbridge')} ({drawbridge.__file__})")
    BOMB.append(gzip_bomb())
    clients = [Skillhub(), Drawbridge()]
    try:
        with NETWORK.installed():
            rows = run_cases(address_cases() + CASES, clients)
    finally:
        clients[1].close()
    cost = None if args.skip_cost else cost_rounds(args.posts, args.rounds)
    print_cases(rows)
    print_failures(rows)
    if cost:
        print_cost(cost, args.posts)
    print_verdict(rows, cost)


if __name__ == "__main__":
    main()
