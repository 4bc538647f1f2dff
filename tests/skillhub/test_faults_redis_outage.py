"""Redis (cache and broker) stopped for 30 s under a scaled-out `manage.py serve`: the API keeps answering, nothing lost.

A real process tree (web, `rundramatiq`, `run_scheduler`) on a PostgreSQL cluster and a Redis of
the test's own. An integrator reads and creates learners through the API the whole time; Redis
is killed outright (every queued message is lost) and started again empty 30 s later. Every call
during the outage must answer 2xx (keys verified from the database, limits counted per process),
nothing may stop for good, and every learner's `learner.created` must reach the receiver once.
"""
from __future__ import annotations

import time

import pytest

from tests.skillhub.faults import ApiClient, Probe, scaled_out_env, until
from tests.skillhub.serving import serve
from tests.webhooks.processes import CountingReceiver

# Scaled-out faults: they run in the PostgreSQL pass (on a cluster of their own), once per CI run.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.pg_ctl, pytest.mark.redis_server]

OUTAGE_SECONDS = 30


def test_the_api_answers_and_no_delivery_is_lost_while_redis_is_down(tmp_path, own_postgres, own_redis, static_root):
    receiver = CountingReceiver(delay=0)
    env = scaled_out_env(tmp_path, own_postgres, own_redis.port, static_root)
    try:
        with serve(tmp_path, env, "--web-processes", "1", unthrottled=True) as served:
            api = ApiClient(served.base, served.credentials["apiKey"])
            assert api.subscribe(receiver.url), served.output()[-3000:]
            probe = Probe(api.read_and_write, every=0.1)
            time.sleep(3)
            own_redis.kill()
            down_at = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            up_at = time.monotonic()
            own_redis.start()
            time.sleep(3)
            probe.finish()
            created = len(api.created)
            arrived = until(lambda: receiver.unique() >= created, 60)
            output = served.output()
        during = probe.between(down_at, up_at)
        ok = [s for s in during if isinstance(s, int) and 200 <= s < 300]
        print(
            f"\nredis outage {OUTAGE_SECONDS} s: {len(ok)}/{len(during)} API calls 2xx during it; {created} learners created, "
            f"{receiver.unique()} learner.created received, {len(receiver.duplicates())} duplicated; "
            f"children restarted by serve: {[line for line in output.splitlines() if 'supervisor:' in line]}"
        )
        assert during and ok == during, sorted({str(s) for s in during})
        assert arrived, f"{receiver.unique()} of {created} events arrived\n{output[-3000:]}"
        assert receiver.unique() == created and receiver.duplicates() == {} and not receiver.mismatched
        assert "supervisor: scheduler" not in output  # it rode the outage out instead of dying
    finally:
        receiver.close()
