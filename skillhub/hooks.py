"""After-commit work, done one way: a hook fired inside a transaction runs its receivers once it commits.

A lower layer declares a `Hook` and fires it where the change happens; whoever must react connects
a receiver: the same app's actors module (to send broker messages) or a higher app (the signal
inbox reacting to learning). Neither side imports the other's internals, so data flows one way.
Receivers run after commit, never inside the caller's transaction, and a failing receiver is
logged, not raised: the change is already committed, and the sweeps retry from the database.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from django.db import transaction

logger = logging.getLogger("skillhub.hooks")

Receiver = Callable[..., Any]


def after_commit(func: Receiver, /, *args: Any, **kwargs: Any) -> None:
    """Run `func(*args, **kwargs)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _run(func, args, kwargs))


def _run(func: Receiver, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return func(*args, **kwargs)
    except Exception:  # the change is committed; a sweep retries whatever this left undone
        logger.exception("after-commit %s failed", getattr(func, "__qualname__", func))
        return None


class Hook:
    """A named point of a domain change; receivers connected to it run after the change commits."""

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
        """Call every receiver now (a sweep, outside any transaction); return what each returned."""
        return [_run(receiver, args, kwargs) for receiver in self._receivers]
