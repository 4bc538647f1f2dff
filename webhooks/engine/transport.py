"""The HTTP transport for deliveries, with the SSRF guard: public https targets only, address pinned.

The target's host is resolved once; every address must be public, and the connection goes to
the address that was checked (Host header, SNI and certificate check still use the host name),
so a DNS answer that changes between the check and the connect cannot reach an internal service.

Why not a hardened client from the package index: the one Python client built for this, `advocate`
(a `requests` wrapper that validates the address it connects to), had its last release in 2020 and
subclasses the same urllib3 internals this module does, so adopting it would trade code we test
(tests/webhooks/test_ssrf_guard.py, test_special_purpose_addresses.py) for code nobody maintains.
No maintained alternative was found; this module stays, pinned to the urllib3 it is tested with.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import re
import ipaddress
import itertools
import socket
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import certifi
from django.conf import settings
from requests.utils import requote_uri
from urllib3 import BaseHTTPResponse, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import connection as urllib3_connection
from urllib3.util import make_headers

import skillhub

USER_AGENT = f"skillhub-webhooks/{skillhub.__version__}"
BODY_EXCERPT_BYTES = 4096
# Compressed bytes read for the excerpt: enough for 4 KiB of any sane compression, and a bound on
# what a receiver's compressed answer can cost, however far it would inflate.
COMPRESSED_READ_BYTES = 64 * 1024
MAX_POOLS = 256

# Every block of the IANA IPv4 and IPv6 Special-Purpose Address Registries, plus multicast,
# the deprecated site-local block and the cloud metadata addresses. All are refused, including
# the blocks IANA marks globally reachable: those are anycast protocol services (PCP, TURN,
# AS112, AMT, 6to4 relays) or translators that embed an IPv4 address, never a webhook receiver.
# The longest matching prefix names the reason.
SPECIAL_PURPOSE: tuple[tuple[str, str], ...] = (
    # IPv4 (RFC 6890 and successors)
    ("0.0.0.0/8", "a 'this network' address"),
    ("0.0.0.0/32", "the unspecified address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("169.254.169.254/32", "the cloud metadata address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol assignment address"),
    ("192.0.0.0/29", "an IPv4 service continuity address"),
    ("192.0.0.8/32", "the IPv4 dummy address"),
    ("192.0.0.9/32", "the PCP anycast address"),
    ("192.0.0.10/32", "the TURN anycast address"),
    ("192.0.0.170/32", "a NAT64/DNS64 discovery address"),
    ("192.0.0.171/32", "a NAT64/DNS64 discovery address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.31.196.0/24", "an AS112 anycast address"),
    ("192.52.193.0/24", "an AMT anycast address"),
    ("192.88.99.0/24", "a 6to4 relay anycast address"),
    ("192.88.99.2/32", "the 6a44 relay anycast address"),
    ("192.168.0.0/16", "a private address"),
    ("192.175.48.0/24", "an AS112 anycast address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("255.255.255.255/32", "the limited broadcast address"),
    # IPv6 (RFC 6890 and successors)
    ("::/8", "a reserved address"),
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
    ("64:ff9b::/96", "an IPv6 address that embeds an IPv4 address (NAT64)"),
    ("64:ff9b:1::/48", "an IPv6 address that embeds an IPv4 address (local NAT64)"),
    ("100::/64", "a discard-only address"),
    ("100:0:0:1::/64", "a dummy IPv6 address"),
    ("2001::/23", "an IETF protocol assignment address"),
    ("2001::/32", "an IPv6 address that embeds an IPv4 address (Teredo)"),
    ("2001:1::1/128", "the PCP anycast address"),
    ("2001:1::2/128", "the TURN anycast address"),
    ("2001:1::3/128", "the DNS-SD service registration anycast address"),
    ("2001:2::/48", "a benchmarking address"),
    ("2001:3::/32", "an AMT address"),
    ("2001:4:112::/48", "an AS112 anycast address"),
    ("2001:10::/28", "a deprecated ORCHID address"),
    ("2001:20::/28", "an ORCHIDv2 address"),
    ("2001:30::/28", "a drone remote ID address"),
    ("2001:db8::/32", "a documentation address"),
    ("2002::/16", "an IPv6 address that embeds an IPv4 address (6to4)"),
    ("2620:4f:8000::/48", "an AS112 anycast address"),
    ("3fff::/20", "a documentation address"),
    ("5f00::/16", "a segment routing address"),
    ("fc00::/7", "a private address"),
    ("fd00:ec2::254/128", "the cloud metadata address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)
_SPECIAL = sorted(
    ((ipaddress.ip_network(block), reason) for block, reason in SPECIAL_PURPOSE),
    key=lambda row: row[0].prefixlen,
    reverse=True,
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


class TargetRefused(Exception):
    """A target URL that the SSRF guard will not send to."""


def address_problem(address: str) -> str | None:
    """Say why an IP address is not a public unicast address, or None when it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    for network, reason in _SPECIAL:
        if ip.version == network.version and ip in network:
            return reason
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return "a reserved address"  # outside the only IPv6 block IANA allocates for global unicast
    if not ip.is_global:  # a block the standard library knows of and the table does not, if any
        return "a reserved address"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Return the addresses `host` resolves to, in the resolver's order (the one seam tests patch)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """A checked target: where to connect, and what to call it."""

    scheme: str
    host: str
    port: int
    address: str


def private_targets_allowed() -> bool:
    return bool(settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS)


def url_problem(url: str) -> str | None:
    """Say what is wrong with the form of a target URL (no DNS), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    allowed = ("https", "http") if private_targets_allowed() else ("https",)
    if parts.scheme not in allowed:
        return "must use https"
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials; use basicAuthUsername and basicAuthPassword"
    if port == 0:
        return "has an invalid port"
    return None


class _CheckedTargets:
    """Targets checked in the last WEBHOOKS_RESOLVE_CACHE_SECONDS, by URL: a POST reuses its host's answer.

    Without it every POST asks the resolver again (a DNS query each, where nothing caches below
    us). The guard holds: a connection still goes only to an address that was checked, and a
    changed answer is checked when the entry runs out. Refusals are never kept.
    """

    def __init__(self, size: int = 1024) -> None:
        self._items: OrderedDict[tuple[str, bool], tuple[float, Target]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, url: str) -> Target:
        seconds = float(settings.WEBHOOKS_RESOLVE_CACHE_SECONDS)
        if seconds <= 0:
            return _check_target(url)
        key = (url, private_targets_allowed())
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] > now:
                return found[1]
        target = _check_target(url)
        with self._lock:
            self._items[key] = (now + seconds, target)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return target

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


checked_targets = _CheckedTargets()


def check_target(url: str, *, fresh: bool = False) -> Target:
    """The address to pin for the URL's host, resolved and checked at most WEBHOOKS_RESOLVE_CACHE_SECONDS ago
    (`fresh`: now); raise TargetRefused."""
    return _check_target(url) if fresh else checked_targets.get(url)


def _check_target(url: str) -> Target:
    """Resolve the URL's host once and return the address to pin; raise TargetRefused."""
    problem = url_problem(url)
    if problem:
        raise TargetRefused(f"URL {problem}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"host {host!r} does not resolve") from exc
    if not addresses:
        raise TargetRefused(f"host {host!r} does not resolve")
    if not private_targets_allowed():
        # Every answer must be public: a mixed answer is how DNS rebinding gets in.
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise TargetRefused(f"host {host!r} resolves to {problem} ({address})")
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0])


class _Deadline:
    """The wall-clock limit of one POST and the socket it is using."""

    __slots__ = ("at", "sock", "done", "fired")

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.sock: socket.socket | None = None
        self.done = False
        self.fired = False


class _Watchdog:
    """Shut the socket of a POST that outlives its total timeout (WEBHOOKS_TOTAL_TIMEOUT).

    Socket timeouts bound each read, not the whole answer: a receiver trickling a byte every
    few seconds would otherwise hold a worker thread indefinitely.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._owner: dict[int, _Deadline] = {}  # id(socket) → the deadline of the POST using it now
        self._thread: threading.Thread | None = None

    def start(self, seconds: float) -> _Deadline:
        deadline = _Deadline(seconds)
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhooks-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._heap[0][2] is deadline:  # earlier than what the watchdog sleeps towards
                self._cond.notify()
        return deadline

    def using(self, deadline: _Deadline, sock: socket.socket | None) -> None:
        """Record that `deadline`'s POST now uses `sock` (a new or a kept-alive connection)."""
        if sock is None:
            return
        with self._cond:
            deadline.sock = sock
            self._owner[id(sock)] = deadline

    def finish(self, deadline: _Deadline) -> None:
        """The POST is over (before its connection goes back to the pool); the deadline is void."""
        with self._cond:
            deadline.done = True
            if deadline.sock is not None and self._owner.get(id(deadline.sock)) is deadline:
                del self._owner[id(deadline.sock)]

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if deadline.done:
                    heapq.heappop(self._heap)
                    continue
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                sock = deadline.sock
                # Only if the socket is still this POST's, never one handed to another request since.
                if sock is not None and self._owner.get(id(sock)) is deadline:
                    deadline.fired = True
                    with contextlib.suppress(OSError):  # already closed by its owner: nothing to cut
                        sock.shutdown(socket.SHUT_RDWR)


_watchdog = _Watchdog()
_current = threading.local()


class _PinnedConnectionMixin:
    """Connect to the checked address instead of resolving the host name again."""

    pinned_address: str

    def _new_conn(self) -> socket.socket:
        try:
            sock = urllib3_connection.create_connection(
                (self.pinned_address, self.port),  # type: ignore[attr-defined]
                self.timeout,  # type: ignore[attr-defined]
                source_address=self.source_address,  # type: ignore[attr-defined]
                socket_options=self.socket_options,  # type: ignore[attr-defined]
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.pinned_address} timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to connect to {self.pinned_address}: {exc}") from exc  # type: ignore[arg-type]
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            _watchdog.using(deadline, sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            _watchdog.using(deadline, getattr(self, "sock", None))
        super().request(*args, **kwargs)  # type: ignore[misc]


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    def __init__(self, *args: Any, pinned_address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    def __init__(self, *args: Any, pinned_address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class PinnedPools:
    """Keep-alive connection pools, one per (scheme, host, port, checked address), the least used dropped.

    A kept-alive connection is only reused for the address that was just checked. Requests go
    to urllib3 directly: a delivery needs none of what a `requests` session adds (cookies,
    environment proxies, redirects), and preparing a request through it was a fifth of a
    delivery's CPU.
    """

    def __init__(self) -> None:
        self._pools: OrderedDict[tuple[str, str, int, str], HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, target: Target) -> HTTPConnectionPool:
        key = (target.scheme, target.host, target.port, target.address)
        # Every send thread and worker thread may POST to one host at once (many endpoints of one
        # receiver, fanned out together); a pool smaller than that closes what it cannot keep.
        size = int(settings.WEBHOOKS_SEND_THREADS) + 16
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            if target.scheme == "https":
                pool = _PinnedHTTPSPool(
                    target.host, target.port, maxsize=size, block=False, pinned_address=target.address,
                    cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
                )  # fmt: skip
            else:
                pool = _PinnedHTTPPool(target.host, target.port, maxsize=size, block=False, pinned_address=target.address)
            self._pools[key] = pool
            while len(self._pools) > MAX_POOLS:
                _, old = self._pools.popitem(last=False)
                old.close()
            return pool

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


_pools = PinnedPools()


@dataclass(frozen=True)
class HttpResult:
    """What came back from one POST: a status, or an error when no answer arrived."""

    status_code: int | None
    headers: dict[str, str]
    body_excerpt: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def timeouts() -> tuple[float, float]:
    """(connect, total) seconds of one POST: docs/contract.md section 3's 5 s and 15 s unless settings shorten them."""
    return float(settings.WEBHOOKS_CONNECT_TIMEOUT), float(settings.WEBHOOKS_TOTAL_TIMEOUT)


def post(url: str, *, body: bytes, headers: dict[str, str], auth: tuple[str, str] | None = None) -> HttpResult:
    """POST `body` to a checked, pinned target; never raises, never follows redirects."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = check_target(url)
    except TargetRefused as exc:
        return HttpResult(None, {}, "", f"refused: {exc}", elapsed())
    try:
        path, headers = _request_line(url, headers, auth)
    except ValueError as exc:  # a header or credential that cannot be sent (UnicodeError is a ValueError)
        return HttpResult(None, {}, "", _short(f"invalid request: {type(exc).__name__}"), elapsed())
    deadline = _watchdog.start(timeouts()[1])
    _current.deadline = deadline
    try:
        return _send(_pools.get(target), path, body, headers, deadline, elapsed)
    finally:
        _watchdog.finish(deadline)
        _current.deadline = None


def _request_line(url: str, headers: dict[str, str], auth: tuple[str, str] | None) -> tuple[str, dict[str, str]]:
    """The request target (path and query, percent-encoded) and the headers to send; ValueError when one cannot be sent."""
    path = _request_target(url)
    headers = dict(headers)
    for name, value in headers.items():
        if _unsendable(str(value)) or _unsendable(name):
            raise ValueError(f"header {name!r} cannot be sent")
    if auth is not None:
        headers.update(make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
    return path, headers


@functools.lru_cache(maxsize=MAX_POOLS)
def _request_target(url: str) -> str:
    # An endpoint's URL is the same for every delivery of it: split and quoted once (an URL that
    # cannot be sent raises each time; exceptions are not cached).
    parts = urlsplit(requote_uri(url))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path.encode("ascii")
    return path


def _unsendable(text: str) -> bool:
    """A header name or value that would break the request: leading whitespace (a folded line) or a line break."""
    return text[:1].isspace() or "\r" in text or "\n" in text


def _send(
    pool: HTTPConnectionPool, path: str, body: bytes, headers: dict[str, str], deadline: _Deadline, elapsed: Any
) -> HttpResult:
    connect, total = timeouts()

    def late(error: str) -> str:
        return f"timeout: no complete answer within {total:g} s" if deadline.fired else _short(error)

    try:
        response = pool.urlopen(
            "POST", path, body=body, headers=headers, retries=False, redirect=False, assert_same_host=False,
            timeout=Timeout(connect=connect, total=total), preload_content=False, decode_content=False, release_conn=False,
        )  # fmt: skip
    except Urllib3Timeout as exc:
        _watchdog.finish(deadline)
        return HttpResult(None, {}, "", _short(f"timeout: {exc}"), elapsed())
    except (HTTPError, OSError, ValueError) as exc:  # UnicodeError is a ValueError
        _watchdog.finish(deadline)
        return HttpResult(None, {}, "", late(f"{type(exc).__name__}: {exc}"), elapsed())
    except Exception as exc:  # whatever else the receiver's bytes provoke is its answer, not our crash
        _watchdog.finish(deadline)
        return HttpResult(None, {}, "", late(f"unreadable answer: {type(exc).__name__}: {exc}"), elapsed())
    error = ""
    try:
        raw, complete = _read_excerpt(response)
    except Exception as exc:  # a broken body still leaves a status to act on
        raw, complete = b"", False
        error = late(f"reading the response failed: {type(exc).__name__}: {exc}")
    _watchdog.finish(deadline)  # before the connection can go back to the pool
    if not complete or deadline.fired:
        response.close()  # do not read an unbounded body just to keep the connection
    response.release_conn()
    if deadline.fired and not error:
        error = late("")
    return HttpResult(
        response.status,
        # A header sent more than once is one value, joined with ", " (RFC 9110 section 5.3).
        {safe_text(name.lower()): safe_text(response.headers[name]) for name in response.headers},
        _decode(raw[:BODY_EXCERPT_BYTES]),
        error,
        elapsed(),
    )


def _read_excerpt(response: BaseHTTPResponse) -> tuple[bytes, bool]:
    """Read the first BODY_EXCERPT_BYTES of the answer's body, decompressed within a bound.

    Return them and whether the whole body was read (the connection may then be kept). A gzip or
    deflate body is inflated here, never by urllib3, so that a small compressed answer cannot
    inflate past the excerpt; a body that does not decompress is described instead.
    """
    encoding = (response.headers.get("content-encoding") or "").strip().lower()
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raw = response.read(BODY_EXCERPT_BYTES + 1, decode_content=False)
        return raw, len(raw) <= BODY_EXCERPT_BYTES
    compressed = response.read(COMPRESSED_READ_BYTES + 1, decode_content=False)
    complete = len(compressed) <= COMPRESSED_READ_BYTES
    if not compressed:
        return b"", complete
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    try:
        try:
            inflated = zlib.decompressobj(wbits).decompress(compressed, BODY_EXCERPT_BYTES + 1)
        except zlib.error:
            if encoding != "deflate":
                raise
            # Some servers send raw deflate without the zlib wrapper.
            inflated = zlib.decompressobj(-zlib.MAX_WBITS).decompress(compressed, BODY_EXCERPT_BYTES + 1)
    except zlib.error as exc:
        return f"[a {encoding} body that does not decompress ({exc}); {len(compressed)} bytes]".encode(), complete
    return inflated, complete


def _short(text: str) -> str:
    text = safe_text(text)
    return text if len(text) <= 500 else text[:497] + "..."


_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def safe_text(text: str) -> str:
    """Return `text` fit for any database text column: NUL and lone surrogates replaced by U+FFFD.

    A receiver's answer is arbitrary bytes; PostgreSQL refuses NUL in text, and a lone surrogate
    cannot be encoded as UTF-8 at all.
    """
    return _UNSAFE.sub("\ufffd", text)


def _decode(raw: bytes) -> str:
    return safe_text(raw.decode("utf-8", errors="replace"))
