"""The retry policies: one table says when each attempt happens and what gives up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Longest wait a receiver's Retry-After may impose; beyond it the policy's own schedule applies.
MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class RetryPolicy:
    """A schedule of delays before each attempt, and how 4xx answers are treated."""

    name: str
    # delays[n] is the wait before attempt n+1 after attempt n failed; delays[0] is the first attempt.
    delays: tuple[timedelta, ...]
    disable_on_4xx: bool

    @property
    def max_attempts(self) -> int:
        return len(self.delays)

    def delay_after(self, attempt_number: int) -> timedelta | None:
        """Return the wait after failed attempt `attempt_number` (1-based), or None when it was the last."""
        if attempt_number >= self.max_attempts:
            return None
        return self.delays[attempt_number]


def _exponential_delays(first: int, cap: int, attempts: int) -> tuple[timedelta, ...]:
    delays = [timedelta(0)]
    for n in range(1, attempts):
        delays.append(timedelta(seconds=min(first * 2 ** (n - 1), cap)))
    return tuple(delays)


# The table of docs/contract.md, section 3.
POLICIES: dict[str, RetryPolicy] = {
    # Document 000: immediately, +5 min, +30 min, +2 h, +24 h, then the endpoint is disabled.
    "standard": RetryPolicy(
        name="standard",
        delays=(timedelta(0), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=24)),
        disable_on_4xx=False,
    ),
    # Document 001: 2 s doubling, at most 1 h apart, 60 attempts (about two days); any 4xx disables.
    "exponential": RetryPolicy(
        name="exponential",
        delays=_exponential_delays(first=2, cap=3600, attempts=60),
        disable_on_4xx=True,
    ),
}

# Answers that say "come back later" rather than "no": never disable, honour Retry-After.
SLOW_DOWN_STATUSES = {429, 503}
GONE = 410


@dataclass(frozen=True)
class Outcome:
    """What to do after a failed attempt: retry at `next_attempt_at`, or disable with `reason`."""

    next_attempt_at: datetime | None
    disable_reason: str


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """Return the wait a `Retry-After` header asks for (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


def after_failure(
    *,
    policy: RetryPolicy,
    attempt_number: int,
    status_code: int | None,
    retry_after: str | None,
    now: datetime,
) -> Outcome:
    """Decide the next step after attempt `attempt_number` failed with `status_code` (None: no answer)."""
    what = f"HTTP {status_code}" if status_code else "no response"
    if status_code == GONE:
        return Outcome(None, "The receiver answered 410 Gone")
    if policy.disable_on_4xx and status_code is not None and 400 <= status_code < 500 and status_code not in SLOW_DOWN_STATUSES:
        return Outcome(None, f"The receiver answered {what}; the {policy.name} policy disables on any 4xx")
    delay = policy.delay_after(attempt_number)
    if delay is None:
        return Outcome(None, f"{attempt_number} attempts failed (last: {what})")
    if status_code in SLOW_DOWN_STATUSES:
        asked = parse_retry_after(retry_after, now=now)
        if asked is not None and asked > delay:
            delay = min(asked, MAX_RETRY_AFTER)
    return Outcome(now + delay, "")
