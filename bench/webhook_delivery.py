"""Webhook delivery on PostgreSQL + Redis: the outbox pipeline against a plain sign-and-POST loop.

What it measures, against one local receiver that answers 200 at once (a separate process):
  ceiling     what this machine sends without skillhub: as many processes and threads as the
              workers (`rundramatiq` defaults: one process per core, 8 threads), each thread with
              its own keep-alive urllib3 connection (the library the workers send with), signing
              (standardwebhooks) and POSTing; only 2xx counts. The same with a `requests` session
              per thread is measured in the same rounds and printed for reference.
  pipeline    events recorded by 4 producer processes (one event per transaction, like the 4 web
              processes `serve` starts on 2 cores), delivered by the worker processes
              `manage.py rundramatiq` starts; rate from the first record to the last arrival
  drain       the same events recorded while the endpoint is held back (its circuit open), then
              delivered by the running, warm workers once it is woken; rate from the first to the
              last arrival (delivery capacity alone). One more round, for comparison with earlier
              runs, records while no worker runs and then starts rundramatiq (start-up included)
  latency     one event at a time on idle workers: recorded → receiver got it
  fan-out     one event to 1,000 endpoints: recorded → the 1,000th endpoint got it

Run: make bench-webhooks   (or .venv/bin/python bench/webhook_delivery.py [--events N] [--rounds R])
Needs PostgreSQL (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432) and Redis
(BENCH_REDIS_URL / BENCH_BROKER_URL, default redis://127.0.0.1:6379/3 and /4). It creates and
drops its own database, and stops every process it starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

DATABASE = os.environ.get("BENCH_WH_DATABASE", "skillhub_bench_wh")
PG_URL = common.PG_URL
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/4")
PRODUCER_PROCESSES = 4
FAN_OUT_ENDPOINTS = 1000


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# --- the receiver (its own process, so it does not share a GIL with either side) ---------


HANG_SECONDS = 15.0


def _receiver_main(port_queue: multiprocessing.Queue) -> None:
    """Answer every POST with 200 at once; record (webhook-id, arrival time); GET /stats, /reset.

    While hanging is on (GET /hang-on, /hang-off), a POST to /hang/… is held for 15 s and not recorded.
    """
    arrivals: list[tuple[str, float]] = []
    hanging = {"on": False}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                now = time.time()
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                if method == "POST" and hanging["on"] and path.startswith("/hang"):
                    await asyncio.sleep(HANG_SECONDS)
                    body = b"late"
                elif method == "POST":
                    arrivals.append((headers.get("webhook-id", ""), now))
                    body = b"ok"
                elif path.startswith("/hang-"):
                    hanging["on"] = path.startswith("/hang-on")
                    body = b"{}"
                elif path.startswith("/reset"):
                    arrivals.clear()
                    body = b"{}"
                else:
                    body = json.dumps(arrivals).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()  # the client went away; nothing to answer
            return
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", common.free_port(), backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # nothing to flush; no teardown noise
    asyncio.run(main())


class Receiver:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        self.process = ctx.Process(target=_receiver_main, args=(queue,), daemon=True)
        self.process.start()
        self.port = queue.get(timeout=20)
        self.base = f"http://127.0.0.1:{self.port}"

    def arrivals(self) -> list[tuple[str, float]]:
        with urllib.request.urlopen(self.base + "/stats", timeout=30) as response:
            return [tuple(item) for item in json.loads(response.read())]

    def count(self) -> int:
        return len(self.arrivals())

    def reset(self) -> None:
        urllib.request.urlopen(self.base + "/reset", timeout=10).read()

    def set_hang(self, on: bool) -> None:
        urllib.request.urlopen(self.base + ("/hang-on" if on else "/hang-off"), timeout=10).read()

    def wait_for(self, count: int, timeout: float = 120.0) -> list[tuple[str, float]]:
        deadline = time.time() + timeout
        while True:
            arrivals = self.arrivals()
            if len(arrivals) >= count or time.time() > deadline:
                return arrivals
            time.sleep(0.05 if count - len(arrivals) < 50 else 0.25)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


# --- the app under benchmark -----------------------------------------------------------


def app_env(twin: dict[str, str] | None = None) -> dict[str, str]:
    """The app's environment; `twin` ({"database", "redis", "broker"}) points a second app at its own database and Redis."""
    twin = twin or {}
    return common.bench_env(
        twin.get("database", DATABASE),
        REDIS_URL=twin.get("redis", REDIS_URL),
        DRAMATIQ_BROKER_URL=twin.get("broker", BROKER_URL),
        **({"PROMETHEUS_MULTIPROC_DIR": twin["metrics_dir"]} if "metrics_dir" in twin else {}),
        WEBHOOKS_ALLOW_PRIVATE_TARGETS="1",
        DJANGO_SETTINGS_MODULE="skillhub.settings",
        LOG_LEVEL="WARNING",
    )


class Workers:
    """`manage.py rundramatiq` with its defaults (one process per core, 8 threads each)."""

    def __init__(self, twin: dict[str, str] | None = None) -> None:
        self.process: subprocess.Popen | None = None
        self.twin = twin

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "rundramatiq"],
            cwd=ROOT,
            env=app_env(self.twin),
            start_new_session=True,  # its own process group: stop() reaches every worker it forks
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None


def setup_django() -> None:
    os.environ.update(app_env())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import webhooks.engine.actors  # noqa: F401 (declares the actor the outbox sends to)


def record(tenant, n: int) -> str:
    """Record one learner.updated-sized event in its own transaction, as a service would."""
    from django.db import transaction

    from webhooks.outbox import record_event

    with transaction.atomic():
        event = record_event(
            tenant=tenant,
            event_type="learner.updated",
            data={
                "id": f"bench-{n}",
                "firstName": "Thabo",
                "lastName": "Mokoena",
                "email": f"t{n}@example.com",
                "status": "active",
                "changedFields": ["lastName"],
                "previous": {"lastName": "Dlamini"},
            },
            subject_type="learner",
            subject_id=f"bench-{n}",
        )
    return event.id


def _producer_main(
    jobs: multiprocessing.Queue, done: multiprocessing.Queue, tenant_id: str, twin: dict[str, str] | None = None
) -> None:
    """A stand-in for one web process: record the events it is asked for, one per transaction."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    os.environ.update(app_env(twin))
    import django

    django.setup()
    import webhooks.engine.actors  # noqa: F401
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    done.put("ready")
    while True:
        job = jobs.get()
        if job is None:
            return
        first, count = job
        for n in range(first, first + count):
            record(tenant, n)
        done.put(count)


class Producers:
    """Separate processes recording events, as the web processes `serve` starts (2 per core) would."""

    def __init__(self, tenant_id: str, processes: int, twin: dict[str, str] | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.database = (twin or {}).get("database", DATABASE)
        self.done = ctx.Queue()
        self.jobs = [ctx.Queue() for _ in range(processes)]
        self.processes = [
            ctx.Process(target=_producer_main, args=(jobs, self.done, tenant_id, twin), daemon=True) for jobs in self.jobs
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            assert self.done.get(timeout=60) == "ready"
        self.next_n = 0

    def produce(self, total: int) -> float:
        """Record `total` events spread over the processes; return when recording started."""
        share = total // len(self.jobs)
        started = time.time()
        for index, jobs in enumerate(self.jobs):
            count = share if index < len(self.jobs) - 1 else total - share * (len(self.jobs) - 1)
            jobs.put((self.next_n, count))
            self.next_n += count
        for _ in self.jobs:
            self.done.get(timeout=300)
        return started

    def stop(self) -> None:
        common.stop_producers(self.jobs, self.processes)


# --- phases ----------------------------------------------------------------------------


CEILING_PROCESSES = os.cpu_count() or 1  # as many as `manage.py rundramatiq` starts by default
CEILING_THREADS = 8  # its threads per process


def _ceiling_process(
    url: str, first: int, count: int, start_at: float, results: multiprocessing.Queue, client: str = "urllib3"
) -> None:
    """CEILING_THREADS threads, each with its own keep-alive connection, sign and POST `count` events.

    `client` is urllib3 (the library the workers' transport sends with: the ceiling) or requests
    (a session per thread, as an integrator's sender would: printed for reference).
    """
    import base64
    from urllib.parse import urlsplit

    import requests
    import urllib3
    from standardwebhooks.webhooks import Webhook

    signer = Webhook("whsec_" + base64.b64encode(os.urandom(24)).decode())
    counter = iter(range(first, first + count))
    lock = threading.Lock()
    delivered = [0]
    parts = urlsplit(url)

    def run() -> None:
        session = requests.Session()
        pool = urllib3.HTTPConnectionPool(parts.hostname or "127.0.0.1", parts.port, maxsize=1)
        timeout = urllib3.Timeout(connect=5, total=15)
        ok = 0
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            body = CEILING_BODY.replace(b"evt_x", b"evt_%d" % n)
            now = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "webhook-id": f"evt_{n}",
                "webhook-timestamp": str(now),
                "webhook-signature": signer.sign(f"evt_{n}", datetime.fromtimestamp(now, tz=timezone.utc), body.decode()),
            }
            if client == "requests":
                status = session.post(url, data=body, headers=headers, timeout=(5, 15)).status_code
            else:
                status = pool.urlopen("POST", parts.path, body=body, headers=headers, retries=False, timeout=timeout).status
            ok += 200 <= status < 300
        with lock:
            delivered[0] += ok

    threads = [threading.Thread(target=run) for _ in range(CEILING_THREADS)]
    while time.time() < start_at:
        time.sleep(0.001)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((delivered[0], time.time()))


CEILING_BODY = json.dumps(
    {
        "id": "evt_x",
        "type": "learner.updated",
        "timestamp": "2026-01-01T00:00:00Z",
        "tenantId": "0193f9c2-6d1e-7a3b-9c4d-5e6f7a8b9c0d",
        "data": {
            "id": "0193f9c2-6d1e-7a3b-9c4d-5e6f7a8b9c0e",
            "firstName": "Thabo",
            "lastName": "Mokoena",
            "email": "t1@example.com",
            "status": "active",
            "changedFields": ["lastName"],
            "previous": {"lastName": "Dlamini"},
        },
    }
).encode()


def ceiling(url: str, total: int, client: str = "urllib3") -> float:
    """What this machine sends without skillhub: the workers' processes x threads, keep-alive, signed; 2xx per second."""
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()
    start_at = time.time() + 2.0  # every process imported and waiting before the clock starts
    share = total // CEILING_PROCESSES
    processes = [
        ctx.Process(
            target=_ceiling_process,
            args=(url, i * share, share if i < CEILING_PROCESSES - 1 else total - share * i, start_at, results, client),
        )
        for i in range(CEILING_PROCESSES)
    ]
    for process in processes:
        process.start()
    finished = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(10)
    delivered = sum(count for count, _ in finished)
    if delivered < total:
        raise RuntimeError(f"ceiling: only {delivered} of {total} POSTs answered 2xx")
    return delivered / (max(end for _, end in finished) - start_at)


def wait_ready(receiver: Receiver, tenant, timeout: float = 60) -> None:
    """Record probe events until one arrives: the workers are up and consuming."""
    receiver.reset()
    deadline = time.time() + timeout
    while time.time() < deadline:
        record(tenant, -1)
        if receiver.wait_for(1, timeout=2):
            receiver.reset()
            return
    raise RuntimeError("rundramatiq workers did not start delivering within a minute")


def pipeline_round(receiver: Receiver, producers: Producers, events: int) -> float:
    common.analyze_where_autovacuum_is_off(producers.database)
    receiver.reset()
    started = producers.produce(events)
    arrivals = receiver.wait_for(events)
    if len(arrivals) < events:
        raise RuntimeError(f"only {len(arrivals)} of {events} deliveries arrived")
    return events / (max(t for _, t in arrivals) - started)


def drain_round(receiver: Receiver, producers: Producers, endpoint_id: str, events: int) -> float:
    """Deliveries already recorded, delivered by workers that are up and warm: a receiver back after an outage.

    The endpoint's circuit is held open while the events are recorded (no slot, so no message),
    then closed and the endpoint woken, as a probe's answer does. Rate from the first to the last
    arrival: delivery capacity alone, with no process start-up in it (the ceiling has none either).
    """
    from django.utils.timezone import now

    from webhooks.engine import wake
    from webhooks.engine.outbox import deliveries_due
    from webhooks.models import Delivery, DeliveryState, Endpoint

    deadline = time.time() + 60
    # Whatever earlier rounds (or start-up probes) left on its way arrives first, outside this round.
    while Delivery.objects.filter(endpoint_id=endpoint_id, state__in=[DeliveryState.PENDING, DeliveryState.SENDING]).exists():
        if time.time() > deadline:
            raise RuntimeError("the endpoint still had deliveries on their way after a minute")
        time.sleep(0.1)
    receiver.reset()
    Endpoint.objects.filter(pk=endpoint_id).update(circuit_open_until=now() + timedelta(hours=1))
    started = producers.produce(events)
    log(f"  drain: {events:,} events recorded in {time.time() - started:.1f} s ({events / (time.time() - started):,.0f}/s), endpoint held back")
    if receiver.wait_for(1, timeout=0.5):
        raise RuntimeError("a delivery arrived while its endpoint was held back")
    common.analyze_where_autovacuum_is_off(producers.database)
    Endpoint.objects.filter(pk=endpoint_id).update(circuit_open_until=None)
    deliveries_due.fire(wake.wake_endpoint(endpoint_id=endpoint_id, now=now()))
    return _drain_rate(receiver, events)


def cold_drain_round(receiver: Receiver, workers: Workers, producers: Producers, events: int) -> float:
    """The drain as earlier runs measured it: recorded while no worker runs, then `rundramatiq` started.

    Its rate includes whatever start-up of the worker processes overlaps the first deliveries.
    """
    common.analyze_where_autovacuum_is_off(producers.database)
    workers.stop()
    receiver.reset()
    started = producers.produce(events)
    log(f"  cold drain: {events:,} events recorded in {time.time() - started:.1f} s, no worker running")
    workers.start()
    return _drain_rate(receiver, events)


def _drain_rate(receiver: Receiver, events: int) -> float:
    arrivals = receiver.wait_for(events, timeout=180)
    if len(arrivals) < events:
        raise RuntimeError(f"only {len(arrivals)} of {events} deliveries arrived")
    times = sorted(t for _, t in arrivals)
    return (events - 1) / (times[-1] - times[0])


def idle_latencies(receiver: Receiver, tenant, samples: int) -> list[float]:
    common.analyze_where_autovacuum_is_off(DATABASE)
    receiver.reset()
    latencies = []
    for n in range(samples):
        started = time.time()
        event_id = record(tenant, 10_000_000 + n)
        arrivals = receiver.wait_for(n + 1, timeout=10)
        arrived = {eid: t for eid, t in arrivals}.get(event_id)
        if arrived is None:
            raise RuntimeError(f"event {event_id} did not arrive within 10 s")
        latencies.append((arrived - started) * 1000)
        time.sleep(0.15)  # idle again: the consumers go back to polling
    return latencies


def fan_out_round(receiver: Receiver, tenant) -> tuple[float, float]:
    """Return (ms to record the event and its 1,000 deliveries, ms until the 1,000th arrived)."""
    common.analyze_where_autovacuum_is_off(DATABASE)
    receiver.reset()
    started = time.time()
    record(tenant, 20_000_000)
    recorded = time.time()
    arrivals = receiver.wait_for(FAN_OUT_ENDPOINTS, timeout=120)
    if len(arrivals) < FAN_OUT_ENDPOINTS:
        raise RuntimeError(f"only {len(arrivals)} of {FAN_OUT_ENDPOINTS} endpoints got the event")
    return (recorded - started) * 1000, (max(t for _, t in arrivals) - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="events per throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--paced-rate", type=float, default=100.0, help="events/s in the noisy round's latency phase")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--skip-noisy", action="store_true", help="leave out the noisy-neighbour round")
    parser.add_argument(
        "--max-in-flight", type=int, default=16, help="maxInFlight of the single endpoint of the ceiling/pipeline/drain rounds"
    )
    args = parser.parse_args()

    log(f"== webhook delivery benchmark: {os.cpu_count()} cores, PostgreSQL {PG_URL}/{DATABASE}, broker {BROKER_URL}")
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    common.recreate_database(DATABASE)
    receiver = Receiver()
    workers = Workers()
    producers: Producers | None = None
    try:
        setup_django()
        from tenants.services import tenant_create
        from webhooks.services import endpoint_create, endpoint_update

        tenant, _ = tenant_create(slug="bench-webhooks", name="Bench", plan="enterprise")
        # The single-endpoint rounds measure delivery capacity, so their endpoint may use every worker
        # thread at once (16); the noisy-neighbour round keeps the default cap on its 1,000 endpoints.
        endpoint = endpoint_create(
            tenant=tenant, values={"url": f"{receiver.base}/hook", "max_in_flight": args.max_in_flight}
        )
        log(f"receiver on {receiver.base}; endpoint {endpoint.pk}")

        results: dict[str, list[float]] = {
            "ceiling": [], "requests": [], "pipeline": [], "ratio": [], "drain": [], "drain_ceiling": [],
            "cold_drain": [], "cold_drain_ceiling": [],
        }  # fmt: skip
        producers = Producers(str(tenant.pk), PRODUCER_PROCESSES)
        workers.start()
        wait_ready(receiver, tenant)
        # Ceiling and pipeline rounds alternate, so a load change on the machine hits both alike.
        for r in range(args.rounds):
            results["ceiling"].append(ceiling(f"{receiver.base}/hook", args.events))
            results["requests"].append(ceiling(f"{receiver.base}/hook", args.events, client="requests"))
            results["pipeline"].append(pipeline_round(receiver, producers, args.events))
            results["ratio"].append(results["pipeline"][-1] / results["ceiling"][-1])
            log(
                f"  round {r + 1}/{args.rounds}: ceiling {results['ceiling'][-1]:,.0f}/s, pipeline "
                f"{results['pipeline'][-1]:,.0f}/s (4 producers recording, workers delivering) = {results['ratio'][-1]:.0%}"
            )

        log(f"  idle latency: {args.latency_samples} single events …")
        latencies = idle_latencies(receiver, tenant, args.latency_samples)
        log(f"  idle latency: median {statistics.median(latencies):.1f} ms")

        for r in range(args.rounds):
            results["drain_ceiling"].append(ceiling(f"{receiver.base}/hook", args.events))
            results["drain"].append(drain_round(receiver, producers, endpoint.pk, args.events))
            log(
                f"  drain round {r + 1}/{args.rounds}: ceiling {results['drain_ceiling'][-1]:,.0f}/s, drain "
                f"{results['drain'][-1]:,.0f} deliveries/s (delivery alone) = "
                f"{results['drain'][-1] / results['drain_ceiling'][-1]:.0%}"
            )
        # One round as earlier runs measured the drain, for comparison with their figures.
        results["cold_drain_ceiling"].append(ceiling(f"{receiver.base}/hook", args.events))
        results["cold_drain"].append(cold_drain_round(receiver, workers, producers, args.events))
        log(
            f"  cold drain: ceiling {results['cold_drain_ceiling'][-1]:,.0f}/s, drain {results['cold_drain'][-1]:,.0f}/s "
            f"= {results['cold_drain'][-1] / results['cold_drain_ceiling'][-1]:.0%}"
        )
        wait_ready(receiver, tenant)

        log(f"  creating {FAN_OUT_ENDPOINTS} endpoints for the fan-out …")
        endpoint_update(endpoint=endpoint, values={"enabled": False})
        for i in range(FAN_OUT_ENDPOINTS):
            endpoint_create(tenant=tenant, values={"url": f"{receiver.base}/fan/{i}"})
        fan_out = []
        for r in range(args.rounds):
            fan_out.append(fan_out_round(receiver, tenant))
            recorded_ms, last_ms = fan_out[-1]
            log(f"  fan-out round {r + 1}/{args.rounds}: recorded in {recorded_ms:,.0f} ms, last arrival {last_ms:,.0f} ms")

        noisy_results = noisy_rounds(receiver, workers, args) if not args.skip_noisy else None
    finally:
        if producers is not None:
            producers.stop()
        workers.stop()
        receiver.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            common.drop_database(DATABASE)

    ceiling_rate = statistics.median(results["ceiling"])
    pipeline_rate = statistics.median(results["pipeline"])
    drain_rate = statistics.median(results["drain"])
    lat_sorted = sorted(latencies)
    p95 = lat_sorted[int(len(lat_sorted) * 0.95) - 1]
    latency = statistics.median(latencies)

    def row(label: str, value: str, ratio: str = "") -> None:
        print(f"{label:<58} {value:>12} {ratio:>11}")

    print()
    print(
        f"webhook delivery: PostgreSQL + Redis, {os.cpu_count()} cores, rundramatiq defaults, single endpoint "
        f"maxInFlight {args.max_in_flight} (medians of {args.rounds} rounds"
    )
    print(f"of {args.events:,} events; {args.latency_samples} latency samples; fan-out to {FAN_OUT_ENDPOINTS:,} endpoints)")
    row("measure", "median", "vs ceiling")
    row(f"ceiling: {CEILING_PROCESSES} processes x {CEILING_THREADS} threads, urllib3 keep-alive, signed", f"{ceiling_rate:,.0f}/s", "100%")
    requests_ratio = common.median_ratio(results["requests"], results["ceiling"])
    row("for reference: the same with a requests session per thread", f"{statistics.median(results['requests']):,.0f}/s", f"{requests_ratio:.0%}")
    ratio = common.median_ratio(results["pipeline"], results["ceiling"])  # each round to its own ceiling
    row("pipeline: recorded (4 producer processes) -> received", f"{pipeline_rate:,.0f}/s", f"{ratio:.0%}")
    drain_ratio = common.median_ratio(results["drain"], results["drain_ceiling"])
    row("drain: queued -> received (delivery alone, warm workers)", f"{drain_rate:,.0f}/s", f"{drain_ratio:.0%}")
    cold_ratio = results["cold_drain"][0] / results["cold_drain_ceiling"][0]
    row("for reference: one drain with the workers started after recording", f"{results['cold_drain'][0]:,.0f}/s", f"{cold_ratio:.0%}")
    row(f"idle latency, recorded -> received (p95 {p95:.1f} ms)", f"{latency:.1f} ms")
    row("1 event -> 1,000 endpoints: recorded and committed", f"{statistics.median(f[0] for f in fan_out):,.0f} ms")
    row("1 event -> 1,000 endpoints: last one received", f"{statistics.median(f[1] for f in fan_out):,.0f} ms")
    fan_out_last = statistics.median(f[1] for f in fan_out)
    print(
        f"targets: pipeline >= 50% of the ceiling ({'met' if ratio >= 0.5 else 'NOT met'}), drain >= 70% "
        f"({'met' if drain_ratio >= 0.7 else 'NOT met'}), idle median < 10 ms ({'met' if latency < 10 else 'NOT met'}), "
        f"fan-out last < 1 s ({'met' if fan_out_last < 1000 else 'NOT met'})"
    )
    if noisy_results is None:
        return
    healthy_rate = statistics.median(r.throughput for r in noisy_results["healthy"])
    noisy_rate = statistics.median(r.throughput for r in noisy_results["noisy"])
    noisy_ratio = statistics.median(n.throughput / h.throughput for h, n in zip(noisy_results["healthy"], noisy_results["noisy"]))
    noisy_p99 = statistics.median(r.latency_p99_ms for r in noisy_results["noisy"])
    healthy_p99 = statistics.median(r.latency_p99_ms for r in noisy_results["healthy"])
    row(f"noisy neighbour: 1,000 endpoints all healthy (p99 {healthy_p99:,.0f} ms)", f"{healthy_rate:,.0f}/s", "100%")
    # Two rounds of the same work, not a ceiling: a noisy round may deliver more than a healthy one.
    row(
        f"noisy neighbour: 10 of 1,000 hang 15 s, healthy ones (p99 {noisy_p99:,.0f} ms)",
        f"{noisy_rate:,.0f}/s",
        f"{noisy_ratio:.0%}" if noisy_ratio <= 1 else "no loss",
    )
    row(
        f"noisy neighbour latency at {args.paced_rate:g}/s: median healthy / noisy",
        f"{statistics.median(r.latency_median_ms for r in noisy_results['healthy']):.0f} / "
        f"{statistics.median(r.latency_median_ms for r in noisy_results['noisy']):.0f} ms",
    )
    print(
        f"target: with 10 hanging endpoints, healthy throughput >= 80% of all-healthy "
        f"({'met' if noisy_ratio >= 0.8 else 'NOT met'}), p99 < 2 s ({'met' if noisy_p99 < 2000 else 'NOT met'})"
    )


def noisy_rounds(receiver: Receiver, workers: Workers, args: argparse.Namespace) -> dict[str, list]:
    """All-healthy and noisy rounds alternating, over 1,000 tenants with one endpoint each (bench/webhook_noisy.py)."""
    from bench import webhook_noisy

    log(f"  noisy neighbour: creating {webhook_noisy.TENANTS:,} tenants, 10 of whose endpoints hang …")
    layout = webhook_noisy.create_tenants(receiver.base)
    producers = webhook_noisy.Producers(layout, app_env())
    results: dict[str, list] = {"healthy": [], "noisy": []}
    try:
        for r in range(args.rounds):
            for kind in ("healthy", "noisy"):
                result = webhook_noisy.run_round(
                    receiver,
                    producers,
                    workers,
                    hang=kind == "noisy",
                    events=args.events,
                    paced_rate=args.paced_rate,
                    paced_seconds=args.paced_seconds,
                )
                results[kind].append(result)
                log(
                    f"  noisy-neighbour round {r + 1}/{args.rounds} {kind:>7}: healthy deliveries "
                    f"{result.throughput:,.0f}/s; at {args.paced_rate:g}/s latency median "
                    f"{result.latency_median_ms:,.0f} ms, p99 {result.latency_p99_ms:,.0f} ms"
                )
    finally:
        receiver.set_hang(False)
        producers.stop()
    return results


if __name__ == "__main__":
    main()
