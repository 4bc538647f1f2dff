"""After-commit work, done one way: Django signals, sent once the transaction commits.

A lower layer declares a `django.dispatch.Signal` and sends it where the change happens, with
`send_on_commit` (after commit) or the signal's own `send` (inside the transaction, when what the
receivers change must commit or roll back with it); whoever must react connects a receiver with
`@receiver(signal)`: the same app's actors module (to send broker messages) or a higher app (the
signal inbox reacting to learning). Neither side imports the other's internals, so data flows one
way. A plain callable that must wait for the commit goes through `after_commit`.

Both ride on `transaction.on_commit(..., robust=True)`: they run after commit, never inside the
caller's transaction (at once outside one), and a failure is logged by Django, not raised: the
change is already committed, and the sweeps retry from the database. `send_on_commit` sends with
`send_robust`, so one failing receiver does not keep the others from running.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("skillhub.hooks")

Receiver = Callable[..., Any]


def after_commit(func: Receiver, /, *args: Any, **kwargs: Any) -> None:
    """Run `func(*args, **kwargs)` once the current transaction commits (at once outside one); errors are logged."""
    transaction.on_commit(_bound(func, args, kwargs), robust=True)


def send_on_commit(signal: Signal, /, sender: Any, **named: Any) -> None:
    """Send `signal` to every receiver once the current transaction commits; each receiver's error is logged alone."""
    transaction.on_commit(_bound(signal.send_robust, (sender,), named), robust=True)


def _bound(func: Receiver, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[], Any]:
    """`func` with its arguments, under `func`'s name (Django names the callable when it logs a failure)."""

    @functools.wraps(func)
    def call() -> Any:
        return func(*args, **kwargs)

    return call


class Hook:
    """The delivery engine's `deliveries_due` calling style (positional receivers, `fire_on_commit`, `fire`).

    Kept only for `webhooks.outbox.deliveries_due` while the engine is rewritten (issue 20); once the
    engine sends a `Signal` with `send_on_commit`, this class goes. Every other hook is a Django signal.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Receiver] = []

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"

    def connect(self, receiver: Receiver) -> Receiver:
        """Add `receiver` once (usable as a decorator); it is called with the arguments of each fire."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    @property
    def receivers(self) -> tuple[Receiver, ...]:
        return tuple(self._receivers)

    def fire_on_commit(self, *args: Any, **kwargs: Any) -> None:
        """Call every receiver once the current transaction commits."""
        for receiver in self._receivers:
            after_commit(receiver, *args, **kwargs)

    def fire(self, *args: Any, **kwargs: Any) -> list[Any]:
        """Call every receiver now (a sweep, outside any transaction); return what each returned (None if it failed)."""
        results = []
        for receiver in self._receivers:
            try:
                results.append(receiver(*args, **kwargs))
            except Exception:  # the change is committed; a sweep retries whatever this left undone
                logger.exception("%s: receiver %s failed", self.name, getattr(receiver, "__qualname__", receiver))
                results.append(None)
        return results
