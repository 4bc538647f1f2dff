"""Keep `manage.py serve`'s children running: a child that dies is started again, within a limit.

A child is any command (the web front, the web server, `rundramatiq`, `run_scheduler`): the
supervisor knows only its name and how to start it. When one exits unasked it is logged and
started again after a pause that doubles with each recent restart (1 s up to 30 s), so a child
that fails at start while a dependency is down keeps trying without spinning. More than
`max_restarts` restarts of one child within `window_seconds` means something is wrong that
restarting will not fix: the supervisor then stops every child and exits non-zero, for the
machine's own supervisor (systemd, Kubernetes) to act on.
"""
from __future__ import annotations

import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

MAX_RESTARTS = 10
WINDOW_SECONDS = 300.0
FIRST_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 30.0
STOP_GRACE_SECONDS = 20.0


@dataclass
class Child:
    """One supervised child: its name, how to start it, and its recent restarts."""

    name: str
    spawn: Callable[[], subprocess.Popen]
    process: subprocess.Popen | None = None
    restarts: deque[float] = field(default_factory=deque)
    restart_at: float | None = None  # when a dead child is due to start again

    def start(self) -> None:
        self.process = self.spawn()
        self.restart_at = None

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """Start children, restart the ones that die, stop them all on request."""

    def __init__(
        self,
        *,
        log: Callable[[str], object],
        max_restarts: int = MAX_RESTARTS,
        window_seconds: float = WINDOW_SECONDS,
        first_pause: float = FIRST_PAUSE_SECONDS,
        max_pause: float = MAX_PAUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.max_restarts = max_restarts
        self.window_seconds = window_seconds
        self.first_pause = first_pause
        self.max_pause = max_pause
        self.clock = clock
        self.children: list[Child] = []
        self.stopping = False
        self.exit_code = 0

    def start(self, name: str, spawn: Callable[[], subprocess.Popen]) -> Child:
        """Start a child now and keep it running."""
        child = Child(name=name, spawn=spawn)
        child.start()
        self.children.append(child)
        return child

    def stop(self, *_: object) -> None:
        """Ask every child to stop (SIGTERM); `run` returns once they have. Usable as a signal handler."""
        self.stopping = True
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)

    def check(self) -> None:
        """Notice children that died and restart those whose pause is over (one pass of `run`)."""
        now = self.clock()
        for child in self.children:
            code = child.exit_code()
            if code is None or self.stopping:
                continue
            if child.restart_at is None:
                self._schedule_restart(child, code, now)
            if not self.stopping and child.restart_at is not None and now >= child.restart_at:
                child.start()

    def _schedule_restart(self, child: Child, code: int, now: float) -> None:
        while child.restarts and child.restarts[0] < now - self.window_seconds:
            child.restarts.popleft()
        if len(child.restarts) >= self.max_restarts:
            self.log(
                f"supervisor: {child.name} {describe_exit(code)}; it was restarted {len(child.restarts)} times "
                f"in {self.window_seconds:g} s, giving up and stopping everything"
            )
            self.exit_code = 1
            self.stop()
            return
        pause = min(self.first_pause * 2 ** len(child.restarts), self.max_pause)
        child.restarts.append(now)
        child.restart_at = now + pause
        self.log(
            f"supervisor: {child.name} {describe_exit(code)}; restarting in {pause:g} s "
            f"(restart {len(child.restarts)} of at most {self.max_restarts} in {self.window_seconds:g} s)"
        )

    def run(self, tick: float = 0.2) -> int:
        """Supervise until stopped and every child has exited; return the exit code for the tree."""
        stop_deadline: float | None = None
        while True:
            self.check()
            if self.stopping:
                alive = [c for c in self.children if c.process is not None and c.process.poll() is None]
                if not alive:
                    return self.exit_code
                now = self.clock()
                if stop_deadline is None:
                    stop_deadline = now + STOP_GRACE_SECONDS
                elif now >= stop_deadline:
                    for child in alive:
                        self.log(f"supervisor: {child.name} did not stop in {STOP_GRACE_SECONDS:g} s; killing it")
                        child.process.kill()  # type: ignore[union-attr]
                    stop_deadline = now + STOP_GRACE_SECONDS
            time.sleep(tick)
