"""Console sign-in throttling that slows guessing without letting anyone lock another person out.

Per username: the first `CONSOLE_LOGIN_FREE_FAILURES` failures cost nothing; after them each attempt
waits a delay that doubles with every further failure, up to `CONSOLE_LOGIN_MAX_DELAY` seconds, and one
attempt is evaluated per delay however many arrive at once. Once the delay has passed the right
password signs in. A browser that has signed in as that user before carries a signed device cookie
and is not delayed by failures from elsewhere (it has its own free failures, after which it is
treated like any other browser). Failures are forgotten `FORGET_AFTER` after the last one.

Per address: only an address that fails on many different usernames (`CONSOLE_LOGIN_ADDRESS_USERNAMES`,
e.g. 10 within 10 minutes: password spraying) is refused, for the rest of that window; one person
mistyping their own password never blocks their colleagues behind the same address.

Counts live in the shared cache. When the cache does not answer, sign-in is not throttled (and this
is logged) rather than refused to everyone.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from typing import Callable, TypeVar

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from skillhub.console.throttle import _client_address

logger = logging.getLogger("skillhub.console")

T = TypeVar("T")

FORGET_AFTER = 15 * 60
DEVICE_COOKIE = "skillhub_console_device"
DEVICE_MAX_AGE = 90 * 24 * 3600
_DEVICE_SALT = "skillhub.console.login-device"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _username(request: HttpRequest) -> str:
    return (request.POST.get("username") or "").strip().lower()[:150]


def address_rate() -> tuple[int, int]:
    """Return (distinct usernames, window in seconds) of CONSOLE_LOGIN_ADDRESS_USERNAMES, e.g. 10/10m → (10, 600)."""
    match = re.fullmatch(r"([1-9][0-9]*)/([1-9]?[0-9]*)([smhd])", settings.CONSOLE_LOGIN_ADDRESS_USERNAMES)
    if match is None:  # the setting is checked at start-up; this keeps a bad override from disabling the limit
        return 10, 600
    count, number, unit = match.groups()
    return int(count), int(number or 1) * _PERIODS[unit]


def _safe(action: Callable[[], T], fallback: T) -> T:
    try:
        return action()
    except Exception:  # a cache outage must not refuse every sign-in
        logger.warning("console sign-in throttle skipped: the cache did not answer", exc_info=True)
        return fallback


def _incr(key: str, timeout: int, *, refresh: bool = False) -> int:
    """Add one to a counter atomically; it lives `timeout` from its first count (from this one with `refresh`)."""
    cache.add(key, 0, timeout=timeout)
    try:
        value = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        value = 1
    if refresh:
        cache.touch(key, timeout)
    return int(value)


def _keys(username: str) -> dict[str, str]:
    user = _digest(username)
    return {"failures": f"login:failures:{user}", "attempts": f"login:attempts:{user}", "last": f"login:last:{user}", "turn": f"login:turn:{user}"}


def _device_key(request: HttpRequest, username: str) -> str | None:
    """Return the failure key of the request's device cookie when it was earned by signing in as `username`."""
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value or not username:
        return None
    try:
        owner = signing.loads(value, salt=_DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None
    if owner != _digest(username):
        return None
    return f"login:device:{_digest(value)}"


def _delay(failures: int) -> int:
    beyond = failures - settings.CONSOLE_LOGIN_FREE_FAILURES
    return 0 if beyond < 0 else int(min(2**beyond, settings.CONSOLE_LOGIN_MAX_DELAY))


def login_wait(request: HttpRequest) -> int | None:
    """Return the seconds this sign-in attempt must wait (it is refused), or None when it may be checked."""
    return _safe(lambda: _login_wait(request), None)


def _login_wait(request: HttpRequest) -> int | None:
    now = time.time()
    locked_until = cache.get(f"login:address-lock:{_client_address('', request)}")
    if locked_until and locked_until > now:
        return max(1, math.ceil(locked_until - now))
    username = _username(request)
    if not username:
        return None
    free = settings.CONSOLE_LOGIN_FREE_FAILURES
    device = _device_key(request, username)
    if device is not None and (cache.get(device) or 0) < free:
        return None
    keys = _keys(username)
    failures = int(cache.get(keys["failures"]) or 0)
    if failures < free:
        # Free attempts are counted as they arrive, so a burst of parallel guesses gets the free ones only.
        if _incr(keys["attempts"], FORGET_AFTER) <= free:
            return None
        cache.decr(keys["attempts"])
        return 1  # the free attempts are in flight; their outcome decides what comes next
    delay = _delay(failures)
    last = float(cache.get(keys["last"]) or 0)
    if last + delay > now:
        return max(1, math.ceil(last + delay - now))
    # The delay has passed: one attempt is checked for this count of failures, the others wait.
    if not cache.add(f"{keys['turn']}:{failures}", 1, timeout=delay + settings.CONSOLE_LOGIN_MAX_DELAY):
        return max(1, delay)
    return None


def login_failed(request: HttpRequest) -> None:
    """Count a failed sign-in against the username (or the device that earned a cookie) and the address."""
    _safe(lambda: _login_failed(request), None)


def _login_failed(request: HttpRequest) -> None:
    now = time.time()
    username = _username(request)
    limit, window = address_rate()
    address = _client_address("", request)
    marker = f"login:address-user:{address}:{_digest(username)}"
    if cache.add(marker, 1, timeout=window):  # a username not yet counted for this address in the window
        if _incr(f"login:address-users:{address}", window) >= limit:
            cache.set(f"login:address-lock:{address}", now + window, timeout=window)
    if not username:
        return
    device = _device_key(request, username)
    if device is not None and (cache.get(device) or 0) < settings.CONSOLE_LOGIN_FREE_FAILURES:
        _incr(device, DEVICE_MAX_AGE)
        return
    keys = _keys(username)
    _incr(keys["failures"], FORGET_AFTER, refresh=True)
    cache.set(keys["last"], now, timeout=FORGET_AFTER)


def login_succeeded(request: HttpRequest, response: HttpResponse) -> None:
    """Forget the username's failures and give the browser a device cookie for this username."""
    username = _username(request)
    if not username:
        return

    def forget() -> None:
        keys = _keys(username)
        cache.delete_many([keys["failures"], keys["attempts"], keys["last"]])
        device = _device_key(request, username)
        if device is not None:
            cache.delete(device)

    _safe(forget, None)
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(_digest(username), salt=_DEVICE_SALT),
        max_age=DEVICE_MAX_AGE,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
        path=reverse("admin:index"),
    )
