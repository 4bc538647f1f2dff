"""`serve`'s supervisor: a child that dies is restarted with a log line, within a limit; stop ends them all."""
from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time

from skillhub.supervisor import Supervisor
from tests.skillhub.serving import wait_for

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
FAILING = [sys.executable, "-c", "import sys; sys.exit(3)"]


def _spawn(argv: list[str]) -> functools.partial[subprocess.Popen]:
    return functools.partial(subprocess.Popen, argv)


def _supervisor(lines: list[str], **kwargs) -> Supervisor:  # noqa: ANN003
    return Supervisor(log=lines.append, first_pause=0.05, max_pause=0.2, **kwargs)


def _run_in_thread(supervisor: Supervisor) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(supervisor.run(tick=0.02)), daemon=True)
    thread.start()
    return thread, result


def test_a_killed_child_is_restarted_and_the_others_keep_running():
    lines: list[str] = []
    supervisor = _supervisor(lines)
    web = supervisor.start("web", _spawn(SLEEPER))
    worker = supervisor.start("worker", _spawn(SLEEPER))
    web_pid, worker_pid = web.process.pid, worker.process.pid
    thread, result = _run_in_thread(supervisor)
    try:
        os.kill(worker_pid, signal.SIGKILL)

        assert wait_for(lambda: worker.process.pid != worker_pid and worker.process.poll() is None, 10, 0.02)
        assert web.process.pid == web_pid and web.process.poll() is None
        assert any("worker killed by SIGKILL; restarting" in line for line in lines), lines
    finally:
        supervisor.stop()
        thread.join(30)
    assert result == [0]
    assert web.process.poll() is not None and worker.process.poll() is not None


def test_a_child_that_keeps_dying_stops_the_tree_after_the_limit():
    lines: list[str] = []
    supervisor = _supervisor(lines, max_restarts=3)
    web = supervisor.start("web", _spawn(SLEEPER))
    supervisor.start("scheduler", _spawn(FAILING))
    started = time.monotonic()

    code = supervisor.run(tick=0.02)

    assert code == 1 and time.monotonic() - started < 10
    assert sum("scheduler exited with code 3; restarting" in line for line in lines) == 3
    assert "giving up and stopping everything" in lines[-1]
    assert web.process.poll() is not None  # stopped with the rest


def test_restarts_older_than_the_window_do_not_count():
    lines: list[str] = []
    supervisor = _supervisor(lines, max_restarts=2, window_seconds=0.3)
    # It lives longer than the window each time: at most one restart is ever in the window.
    child = supervisor.start("worker", _spawn([sys.executable, "-c", "import sys, time; time.sleep(0.4); sys.exit(3)"]))
    thread, result = _run_in_thread(supervisor)
    try:
        assert wait_for(lambda: sum("restarting" in line for line in lines) >= 4, 20, 0.05), lines
        assert not result and child.process is not None
    finally:
        supervisor.stop()
        thread.join(30)
    assert result == [0]
