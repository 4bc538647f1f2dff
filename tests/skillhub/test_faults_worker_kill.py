"""One Dramatiq worker process SIGKILLed under a scaled-out `manage.py serve`: the web keeps serving, the worker comes back, nothing lost.

A real process tree on a PostgreSQL cluster and a Redis of the test's own; an integrator creates
learners through the API while one worker process is killed with `kill -9` mid-delivery.
`serve` logs the death and starts the workers again; the web answers throughout; every
`learner.created` reaches the receiver, only those in flight (a worker thread's set) at the kill possibly twice.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.skillhub.faults import ApiClient, Probe, scaled_out_env, until
from tests.skillhub.serving import serve
from tests.webhooks.processes import CountingReceiver

# Scaled-out faults: they run in the PostgreSQL pass (on a cluster of their own), once per CI run.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.pg_ctl, pytest.mark.redis_server]

WORKER_THREADS = 8  # rundramatiq's default threads per process: the most deliveries one process has in flight


def _dramatiq_worker_processes(env_marker: str) -> list[int]:
    """Worker processes (children of a dramatiq master) of the tree whose environment carries `env_marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parent_cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if b"dramatiq" in cmdline and b"dramatiq" in parent_cmdline and env_marker.encode() in environ:
            found.append(int(entry.name))
    return found


def test_a_killed_worker_is_restarted_and_no_delivery_is_lost(tmp_path, own_postgres, own_redis, static_root):
    receiver = CountingReceiver(delay=0.05)
    env = scaled_out_env(tmp_path, own_postgres, own_redis.port, static_root)
    marker = f"SKILLHUB_DATA_DIR={tmp_path}"
    try:
        with serve(tmp_path, env, "--web-processes", "1", unthrottled=True) as served:
            api = ApiClient(served.base, served.credentials["apiKey"])
            assert api.subscribe(receiver.url), served.output()[-3000:]
            workers = until(lambda: _dramatiq_worker_processes(marker), 60)
            assert workers, served.output()[-3000:]
            probe = Probe(api.read_and_write, every=0.05)
            assert until(lambda: receiver.total() >= 20, 30)
            os.kill(workers[0], signal.SIGKILL)
            killed_at = time.monotonic()
            restarted = until(lambda: "supervisor: worker" in served.output() and _dramatiq_worker_processes(marker), 60)
            time.sleep(5)
            probe.finish()
            created = len(api.created)
            arrived = until(lambda: receiver.unique() >= created, 60)
            output = served.output()
        after_kill = probe.between(killed_at, float("inf"))
        ok = [s for s in after_kill if isinstance(s, int) and 200 <= s < 300]
        print(
            f"\nworker kill -9: {len(ok)}/{len(after_kill)} API calls 2xx after it; {created} learners created, "
            f"{receiver.unique()} learner.created received, {len(receiver.duplicates())} twice (in flight at the kill)"
        )
        assert restarted, output[-3000:]
        assert after_kill and ok == after_kill, sorted({str(s) for s in after_kill})
        assert arrived, f"{receiver.unique()} of {created} events arrived\n{output[-3000:]}"
        assert receiver.unique() == created and not receiver.mismatched
        # Each killed thread may have sent a set (WEBHOOKS_TURN_SET, 16) it had not recorded yet.
        assert len(receiver.duplicates()) <= 2 * WORKER_THREADS * 16
    finally:
        receiver.close()
