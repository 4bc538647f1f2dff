"""Claiming work under a lease: the rules every claimer follows, written once.

Pending work is a row; a worker claims it for a while, and the rules are the same everywhere:

- **Owner.** A claim writes a fresh token (`new_token`); every later write of the claimer names it,
  so a worker whose lease was taken over changes nothing (its writes match no row).
- **Length.** A lease lasts `seconds`, longer than the work it covers takes; a claimer that works
  longer renews it (`until(now)` again) once half has run (`renew_before`).
- **Expiry and reclaim.** A lease whose end is before now has lapsed (`lapsed`, `lapsed_q`): the
  worker was killed or lost its connection, and anyone may claim the row again with a new token.
- **Transaction-held claims** (rows locked `FOR UPDATE SKIP LOCKED` and worked inside the same
  transaction: the sweeps, signal resolution) hold their lock under the same length: the session
  gives up a transaction idle or stuck for longer (`hold_transaction`), which releases the locks
  of a killed worker as a lapsed lease would.

Each claimer keeps its own statement (the engine's one-statement claims, exports' ORM update, the
sweeps' locking reads); the rules they apply are these.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q

from skillhub.db import uses_postgres_statements


def new_token() -> str:
    """A claim's owner token."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Lease:
    """A lease length: fixed (`fixed_seconds`) or read from a setting each time (tests change settings)."""

    fixed_seconds: float | None = None
    setting: str = ""

    @property
    def seconds(self) -> float:
        if self.setting:
            return float(getattr(settings, self.setting))
        if self.fixed_seconds is None:
            raise ValueError("a lease needs a length: fixed_seconds or a setting")
        return float(self.fixed_seconds)

    @property
    def length(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def until(self, now: datetime) -> datetime:
        """When a lease taken (or renewed) at `now` ends."""
        return now + self.length

    def renew_before(self, now: datetime) -> datetime:
        """A lease ending before this has run half its length at `now`: time to renew it."""
        return now + self.length / 2

    @staticmethod
    def lapsed(until: datetime | None, now: datetime) -> bool:
        """Whether a lease ending at `until` has lapsed at `now` (its row may be claimed again)."""
        return until is not None and until < now

    @staticmethod
    def lapsed_q(field: str, now: datetime) -> Q:
        """The ORM filter for rows whose lease (ending in `field`) has lapsed at `now`."""
        return Q(**{f"{field}__lt": now})

    def hold_transaction(self, cursor: Any) -> None:
        """Bound this transaction's locks by the lease: PostgreSQL ends it when idle or stuck longer.

        Only where the PostgreSQL statements run (elsewhere one writer at a time holds no lock to release).
        """
        if not uses_postgres_statements():
            return
        length = f"{max(int(self.seconds), 1)}s"
        cursor.execute(
            "SELECT set_config('idle_in_transaction_session_timeout', %s, true), set_config('statement_timeout', %s, true)",
            [length, length],
        )
