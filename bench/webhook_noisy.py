"""The noisy-neighbour round of `bench/webhook_delivery.py`: 1,000 endpoints, 10 of which hang.

Each of 1,000 tenants has one endpoint on the shared receiver; 10 of them (one tenant in a
hundred) point at `/hang/…`, where the receiver holds every request for 15 s (the whole timeout)
while hanging is on. Rounds alternate: all healthy (hanging off), then noisy (hanging on), and each
round has two phases:

  throughput  events recorded by 4 producer processes, one per tenant in turn, while no worker runs;
              then the workers start: rate = deliveries to healthy endpoints / (last healthy arrival -
              first arrival), i.e. delivery capacity with the hanging endpoints in the way
  latency     events recorded at a steady rate (well under capacity), one per tenant in turn;
              latency = commit -> the healthy endpoint got it (median and p99)

The noisy round's throughput is compared with the all-healthy round's: the target is >= 80%, and
the p99 latency of healthy deliveries < 2 s.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench import common

TENANTS = 1000
HANGING_EVERY = 100  # tenants 0, 100, 200 … hang: 10 of 1,000
PRODUCERS = 4


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def create_tenants(receiver_base: str) -> list[tuple[str, bool]]:
    """1,000 tenants with one endpoint each; return (tenant id, hangs) in order."""
    from tenants.models import Tenant
    from webhooks.services import endpoint_create

    tenants = Tenant.objects.bulk_create(
        [Tenant(slug=f"noisy-{n:04d}", name=f"Noisy {n}", plan="enterprise") for n in range(TENANTS)]
    )
    layout = []
    for n, tenant in enumerate(tenants):
        hangs = n % HANGING_EVERY == 0
        path = f"/hang/{n}" if hangs else f"/ok/{n}"
        endpoint_create(tenant=tenant, values={"url": f"{receiver_base}{path}", "events": ["learner.updated"]})
        layout.append((str(tenant.pk), hangs))
        if (n + 1) % 250 == 0:
            log(f"  noisy-neighbour set-up: {n + 1:,}/{TENANTS:,} tenants with an endpoint")
    return layout


def _producer_main(jobs: Any, done: Any, tenant_ids: list[str], hanging: set[str], env: dict[str, str]) -> None:
    """Record events one per tenant in turn; a job is (count, per-second rate or 0, first tenant index)."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    os.environ.update(env)
    import django

    django.setup()
    from django.db import transaction

    from tenants.models import Tenant
    from webhooks.outbox import record_event

    tenants = {str(t.pk): t for t in Tenant.objects.filter(pk__in=tenant_ids)}
    ordered = [tenants[pk] for pk in tenant_ids]
    done.put("ready")
    while True:
        job = jobs.get()
        if job is None:
            return
        count, rate, first = job
        started = time.time()
        recorded = []
        for i in range(count):
            if rate:
                wait = started + i / rate - time.time()
                if wait > 0:
                    time.sleep(wait)
            tenant = ordered[(first + i) % len(ordered)]
            with transaction.atomic():
                event = record_event(
                    tenant=tenant,
                    event_type="learner.updated",
                    data={"id": f"noisy-{i}", "firstName": "Thabo", "lastName": "Mokoena", "status": "active",
                          "changedFields": ["lastName"], "previous": {"lastName": "Dlamini"}},  # fmt: skip
                    subject_type="learner",
                    subject_id=f"noisy-{i}",
                )
            recorded.append((event.id, time.time(), str(tenant.pk) in hanging))
        done.put(recorded)


class Producers:
    def __init__(self, layout: list[tuple[str, bool]], env: dict[str, str]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.done = ctx.Queue()
        self.jobs = [ctx.Queue() for _ in range(PRODUCERS)]
        ids = [pk for pk, _ in layout]
        self.hanging = {pk for pk, hangs in layout if hangs}
        # Each process takes every 4th tenant, so together they go round all 1,000 in turn.
        self.processes = [
            ctx.Process(
                target=_producer_main,
                args=(self.jobs[p], self.done, ids[p::PRODUCERS], self.hanging, env),
                daemon=True,
            )
            for p in range(PRODUCERS)
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            assert self.done.get(timeout=120) == "ready"
        self.offset = 0

    def produce(self, total: int, rate: float = 0.0) -> tuple[float, list[tuple[str, float, bool]]]:
        """Record `total` events (at `rate` per second overall, or flat out); return start and (id, commit time, hangs)."""
        share = total // PRODUCERS
        started = time.time()
        for jobs in self.jobs:
            jobs.put((share, rate / PRODUCERS, self.offset))
        self.offset += share
        recorded = []
        for _ in self.jobs:
            recorded += self.done.get(timeout=600)
        return started, recorded

    def stop(self) -> None:
        common.stop_producers(self.jobs, self.processes)


@dataclass
class RoundResult:
    throughput: float
    latency_median_ms: float
    latency_p99_ms: float


def _healthy(recorded: list[tuple[str, float, bool]]) -> dict[str, float]:
    return {event_id: at for event_id, at, hangs in recorded if not hangs}


def run_round(
    receiver: Any,
    producers: Producers,
    workers: Any,
    *,
    hang: bool,
    events: int,
    paced_rate: float,
    paced_seconds: float,
) -> RoundResult:
    receiver.set_hang(hang)
    # Latency first, on workers that have been running: a steady rate, one event per tenant in turn.
    receiver.reset()
    _, recorded = producers.produce(int(paced_rate * paced_seconds), rate=paced_rate)
    healthy = _healthy(recorded)
    arrivals = _wait_for(receiver, healthy, timeout=120)
    latencies = sorted((arrivals[e] - at) * 1000 for e, at in healthy.items())
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]

    # Then capacity: recorded while no worker runs, delivered once they start.
    workers.stop()
    receiver.reset()
    _, recorded = producers.produce(events)
    workers.start()
    healthy = _healthy(recorded)
    arrivals = _wait_for(receiver, healthy, timeout=180)
    times = sorted(arrivals.values())
    throughput = (len(times) - 1) / (times[-1] - times[0])
    return RoundResult(throughput, statistics.median(latencies), p99)


def _wait_for(receiver: Any, wanted: dict[str, float], timeout: float) -> dict[str, float]:
    deadline = time.time() + timeout
    while True:
        got = {eid: t for eid, t in receiver.arrivals() if eid in wanted}
        if len(got) >= len(wanted):
            return got
        if time.time() > deadline:
            raise RuntimeError(f"only {len(got)} of {len(wanted)} healthy deliveries arrived")
        time.sleep(0.25)
