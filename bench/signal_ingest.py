"""Signed signal ingest on PostgreSQL under gunicorn, as ratios to a bare Django JSON view; then resolution.

Measures, in one run and against the same server: the bare view (the ceiling), signed ingest with
every signal new, with every signal a duplicate of an open need, and forged signatures (which must
not touch the database); then how long worker processes take to resolve 10,000 queued signals.

Run: make bench-signals   (or .venv/bin/python bench/signal_ingest.py [--seconds S] [--rounds R] [--signals N])
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

DATABASE = os.environ.get("BENCH_SIG_DATABASE", "skillhub_bench_sig")
PG_URL = common.PG_URL
CACHE_URL = os.environ.get("BENCH_SIG_REDIS_URL", "redis://127.0.0.1:6379/5")
BROKER_URL = os.environ.get("BENCH_SIG_BROKER_URL", "redis://127.0.0.1:6379/6")
SLUG = "bench-signals"
CLIENTS = 8
WEB_PROCESSES = 2
WEB_THREADS = 4
TARGETS = {"new": 0.25, "duplicate": 0.35, "forged": 0.60}
P99_TARGET_MS = 20.0


def say(text: str) -> None:
    print(text, flush=True)


def bench_env(**extra: str) -> dict[str, str]:
    return common.bench_env(DATABASE, REDIS_URL=CACHE_URL, DRAMATIQ_BROKER_URL=BROKER_URL, LOG_LEVEL="WARNING", **extra)


def flush_redis() -> None:
    import redis

    for url in {CACHE_URL, BROKER_URL}:
        redis.Redis.from_url(url).flushdb()


def seed() -> str:
    """Create the bench tenant, its secret, learners and courses; return the secret."""
    os.environ.update(bench_env())
    import django

    django.setup()
    from learning.models import Learner
    from learning.services import course_create, course_publish
    from tenants.models import Plan
    from tenants.services import signal_secret_issue, site_get_or_create, tenant_create

    tenant, _ = tenant_create(slug=SLUG, name="Signal bench", plan=Plan.ENTERPRISE)
    sites = [site_get_or_create(tenant=tenant, name=f"Site {n}") for n in range(10)]
    Learner.objects.bulk_create(
        [
            Learner(tenant=tenant, first_name=f"F{n}", last_name=f"L{n}", email=f"w{n}@bench.example", external_worker_id=f"W-{n}", site=sites[n % 10])
            for n in range(2000)
        ]
    )
    for topic in ("Working at Heights", "Manual Handling", "Forklift Operation", "First Aid", "Fire Safety"):
        course_publish(course=course_create(tenant=tenant, title=f"{topic} course", topic=topic))
    secret = signal_secret_issue(tenant=tenant).secret
    from django.db import connection

    connection.close()  # the load-generator processes fork from here
    return secret


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


DUPLICATE_KEYS = 64


def _requests(kind: str, client: int, secret: str, n: int) -> tuple[str, bytes, dict[str, str]]:
    """Return (path, body, headers) of the n-th request of a client in a phase."""
    webhook = f"/api/v1/integration/{SLUG}/webhook"
    if kind == "duplicate":
        # A re-sync: each client re-sends the data points of its DUPLICATE_KEYS open (and resolved) needs in turn.
        topic = f"Manual Handling {n % DUPLICATE_KEYS}"
        body = json.dumps({"event": "signal.incident", "data": {"site": f"Site {client}", "topic": topic, "severity": 3}}).encode()
    else:
        # Unique per request: a new open need every time.
        body = json.dumps(
            {
                "event": "signal.credential_expiring",
                "data": {"external_worker_id": f"W-{(client * 7919 + n) % 2000}", "topic": f"Topic {client}-{n}-{time.time_ns()}", "payload": {"expires_at": "2026-07-15"}},
            }
        ).encode()
    headers = {"Content-Type": "application/json"}
    if kind == "bare":
        return "/bench/bare", body, headers
    headers["X-Skillhub-Signature"] = "0" * 64 if kind == "forged" else _sign(secret, body)
    return webhook, body, headers


def _client(args: tuple) -> tuple[int, int, list[float], dict[int, int]]:
    port, kind, client, secret, seconds, start_at = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = errors = 0
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    n = 0
    while time.time() < end:
        path, body, headers = _requests(kind, client, secret, n)
        n += 1
        began = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - began) * 1000)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        done += 1
    conn.close()
    return done, errors, latencies, statuses


@dataclass
class Phase:
    kind: str
    requests: int
    seconds: float
    errors: int
    statuses: dict[int, int]
    latencies: list[float] = field(repr=False)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


def run_phase(port: int, kind: str, secret: str, seconds: float) -> Phase:
    start_at = time.time() + 0.5
    jobs = [(port, kind, client, secret, seconds, start_at) for client in range(CLIENTS)]
    with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
        results = pool.map(_client, jobs)
    statuses: dict[int, int] = {}
    for result in results:
        for status, count in result[3].items():
            statuses[status] = statuses.get(status, 0) + count
    return Phase(
        kind=kind,
        requests=sum(r[0] for r in results),
        seconds=seconds,
        errors=sum(r[1] for r in results),
        statuses=statuses,
        latencies=[lat for r in results for lat in r[2]],
    )


def db_activity_since(started: str) -> int:
    """Count client sessions on the bench database that did anything since `started` (autovacuum is not a client)."""
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
            " AND (state_change > %s OR state = 'active')",
            (DATABASE, started),
        ).fetchone()
    return int(row[0])


def db_now() -> str:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        return str(conn.execute("SELECT clock_timestamp()").fetchone()[0])


def resolve_pending() -> int:
    """Resolve every unresolved signal in this process (no worker runs during the HTTP phases)."""
    from django.db import connection

    from signals_inbox.models import Signal
    from signals_inbox.services import signal_resolve

    pending = list(Signal.objects.filter(resolved_at__isnull=True).values_list("id", flat=True))
    for signal_id in pending:
        signal_resolve(signal_id=signal_id)
    connection.close()
    return len(pending)


def http_phases(secret: str, seconds: float, rounds: int) -> dict[str, list[Phase]]:
    results: dict[str, list[Phase]] = {"bare": [], "new": [], "duplicate": [], "forged": []}
    with common.Server(bench_env(), workers=WEB_PROCESSES, threads=WEB_THREADS) as server:
        say(f"gunicorn on :{server.port} ({WEB_PROCESSES} processes x {WEB_THREADS} threads), {CLIENTS} keep-alive clients")
        run_phase(server.port, "duplicate", secret, 1.0)  # warm-up; also opens every duplicate's need
        say(f"  resolved the {resolve_pending():,} warm-up signals, as a running worker would have")
        run_phase(server.port, "bare", secret, 1.0)
        for round_no in range(1, rounds + 1):
            for kind in ("bare", "new", "duplicate", "forged"):
                before = db_now() if kind == "forged" else ""
                phase = run_phase(server.port, kind, secret, seconds)
                if kind == "forged":
                    phase.statuses["db_sessions_touched"] = db_activity_since(before)
                results[kind].append(phase)
                say(
                    f"  round {round_no} {kind:<9} {phase.rps:8,.0f} req/s  p50 {phase.percentile(50):6.2f} ms  "
                    f"p99 {phase.percentile(99):6.2f} ms  statuses {phase.statuses}  errors {phase.errors}"
                )
    return results


def resolution_phase(count: int, processes: int, threads: int) -> tuple[float, int, int]:
    """Queue `count` signals (ingest service, broker on Redis), then time dramatiq workers resolving them."""
    from django.db import connection

    from signals_inbox.models import Need, Signal
    from signals_inbox.parsing import parse_signal
    from signals_inbox.selectors import ingest_context
    from signals_inbox.services import signal_ingest

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE signals_inbox_signal, signals_inbox_needassignment, signals_inbox_auditentry, signals_inbox_need, webhooks_event CASCADE")
    flush_redis()
    context = ingest_context(slug=SLUG)
    topics = ["Working at Heights", "manual handling", "Forklift Operations", "Confined Spaces", "Hot Work", "First Aid"]
    started = time.time()
    for n in range(count):
        kind = n % 10
        if kind < 4:
            data = {"external_worker_id": f"W-{n % 2000}", "topic": topics[n % 6]}
        elif kind < 6:
            data = {"email": f"w{n % 2000}@bench.example", "topic": topics[n % 6]}
        elif kind < 8:
            data = {"site": f"Site {n % 10}", "topic": f"{topics[n % 6]} {n}"}
        elif kind < 9:
            data = {"external_worker_id": f"X-{n}", "topic": topics[n % 6]}  # matches nobody: parked
        else:
            data = {"site": f"Site {n % 10}", "topic": "Manual Handling"}  # duplicates of a few open needs
        body = json.dumps({"event": "signal.incident", "data": {**data, "payload": {"n": n}}}).encode()
        signal_ingest(tenant_id=context.tenant_id, parsed=parse_signal(body, context.signal_map))
        if (n + 1) % 2000 == 0:
            say(f"  queued {n + 1:,}/{count:,} signals ({(n + 1) / (time.time() - started):,.0f}/s)")
    from signals_inbox.dispatch import flush

    flush()
    connection.close()
    cmd = [sys.executable, "-m", "dramatiq", "skillhub.worker_entry", "--processes", str(processes), "--threads", str(threads), "--queues", "signals"]
    worker = subprocess.Popen(cmd, cwd=ROOT, env=bench_env(DJANGO_SETTINGS_MODULE="skillhub.settings"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    began = time.time()
    try:
        while True:
            left = Signal.objects.filter(resolved_at__isnull=True).count()
            connection.close()
            elapsed = time.time() - began
            if left == 0:
                break
            if elapsed > 600:
                raise RuntimeError(f"{left} signals still unresolved after 10 minutes")
            say(f"  resolving: {count - left:,}/{count:,} after {elapsed:5.1f} s")
            time.sleep(2 if elapsed > 4 else 0.5)
        seconds = time.time() - began
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    return seconds, Need.objects.count(), Need.objects.filter(target="unmatched").count()


def main() -> None:
    global DUPLICATE_KEYS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each timed phase")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the four HTTP phases (medians are reported)")
    parser.add_argument("--signals", type=int, default=10_000, help="signals queued for the resolution phase")
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--worker-threads", type=int, default=8)
    parser.add_argument(
        "--duplicate-keys", type=int, default=DUPLICATE_KEYS,
        help="open needs each client re-sends in the all-duplicate phase (1 = one hot need per client)",
    )
    args = parser.parse_args()
    DUPLICATE_KEYS = args.duplicate_keys

    say(f"== signal ingest benchmark: database {DATABASE}, cache {CACHE_URL}, broker {BROKER_URL}")
    common.recreate_database(DATABASE)
    flush_redis()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=bench_env(), check=True)
    secret = seed()
    say("seeded: 2,000 learners, 5 published courses, one signal secret")

    results = http_phases(secret, args.seconds, args.rounds)
    say(f"== resolution: {args.signals:,} queued signals, dramatiq {args.worker_processes} processes x {args.worker_threads} threads")
    resolve_seconds, needs, unmatched = resolution_phase(args.signals, args.worker_processes, args.worker_threads)

    bare = statistics.median(p.rps for p in results["bare"])
    say("")
    # On a shared machine the ceiling moves between rounds; the ratio within each round is the steadier figure.
    say(f"{'phase':<12}{'req/s (median)':>16}{'ratio of medians':>18}{'median ratio/round':>20}{'target':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for kind in ("bare", "new", "duplicate", "forged"):
        rps = statistics.median(p.rps for p in results[kind])
        per_round = statistics.median(p.rps / b.rps for p, b in zip(results[kind], results["bare"]))
        p50 = statistics.median(p.percentile(50) for p in results[kind])
        p99 = statistics.median(p.percentile(99) for p in results[kind])
        target = f">={TARGETS[kind]:.0%}" if kind in TARGETS else ""
        say(f"{kind:<12}{rps:>16,.0f}{rps / bare:>18.0%}{per_round:>20.0%}{target:>9}{p50:>9.2f}{p99:>9.2f}")
    touched = [p.statuses.get("db_sessions_touched", 0) for p in results["forged"]]
    refused = all(set(p.statuses) <= {401, "db_sessions_touched"} for p in results["forged"])
    say(f"forged: all answered 401: {refused}; client database sessions active during forged phases: {touched}")
    ingest_p99 = max(statistics.median(p.percentile(99) for p in results[k]) for k in ("new", "duplicate"))
    say(f"ingest p99 at {CLIENTS} clients: {ingest_p99:.2f} ms (target < {P99_TARGET_MS:.0f} ms)")
    load = os.getloadavg()
    say(f"machine load average during the run (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")
    say(f"resolution: {args.signals:,} signals in {resolve_seconds:.1f} s ({args.signals / resolve_seconds:,.0f}/s) -> {needs:,} needs ({unmatched:,} unmatched, parked)")


if __name__ == "__main__":
    main()
