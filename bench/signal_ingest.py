"""Signed signal ingest on PostgreSQL under gunicorn, as ratios to a bare Django JSON view; then resolution.

Measures, in one run: the bare view (the ceiling), signed ingest with every signal new, with every
signal a duplicate of an open need, and forged signatures (which must not touch the database); then
how fast `manage.py rundramatiq` (its defaults) resolves 10,000 and 100,000 queued signals; then a
sustained phase: ingest at full rate for 60 s while the workers run, and how long after the last
request the backlog takes to drain.

Run: make bench-signals   (or .venv/bin/python bench/signal_ingest.py [--seconds S] [--rounds R] [--queued N,N] [--sustain S])
Database, cache and broker: BENCH_SIG_DATABASE, BENCH_SIG_REDIS_URL, BENCH_SIG_BROKER_URL.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import hmac
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import ceiling, common  # noqa: E402

DATABASE = os.environ.get("BENCH_SIG_DATABASE", "skillhub_bench_sig")
PG_URL = common.PG_URL
CACHE_URL = os.environ.get("BENCH_SIG_REDIS_URL", "redis://127.0.0.1:6379/5")
BROKER_URL = os.environ.get("BENCH_SIG_BROKER_URL", "redis://127.0.0.1:6379/6")
SLUG = "bench-signals"
CLIENTS = 8
WEB_PROCESSES = 2
WEB_THREADS = 4
TARGETS = {"new": 0.38, "duplicate": 0.40, "forged": 0.60}
DRAIN_TARGET_SECONDS = 10.0
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
        return ceiling.PATH, body, headers
    headers["X-Skillhub-Signature"] = "0" * 64 if kind == "forged" else _sign(secret, body)
    return webhook, body, headers


@dataclass(frozen=True)
class SignalRequests:
    """The requests of one phase, for the shared load generator."""

    kind: str
    secret: str

    def __call__(self, client: int, clients: int, n: int) -> common.Request:
        path, body, headers = _requests(self.kind, client, self.secret, n)
        return "POST", path, body, headers


# Forgeries succeed when refused: a 401 is the answer being measured.
EXPECTED = {"forged": frozenset({401})}


def run_phase(port: int, kind: str, secret: str, seconds: float) -> common.LoadResult:
    return common.load(
        port, SignalRequests(kind, secret), seconds=seconds, clients=CLIENTS, expect=EXPECTED.get(kind, common.OK_STATUSES)
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

    from signals_inbox.services import signals_resolve_batch

    resolved = 0
    while claimed := signals_resolve_batch(limit=500).claimed:
        resolved += claimed
    connection.close()
    return resolved


def backlog() -> int:
    """Signals waiting for resolution, counted on the partial index the claim uses."""
    import psycopg

    with psycopg.connect(f"{PG_URL}/{DATABASE}", autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM signals_inbox_signal WHERE resolved_at IS NULL").fetchone()[0])


def http_phases(secret: str, seconds: float, rounds: int) -> tuple[dict[str, list[common.LoadResult]], list[int]]:
    """Each round runs the ceiling and the three phases back to back; return the phases and the forged rounds' DB sessions."""
    results: dict[str, list[common.LoadResult]] = {"bare": [], "new": [], "duplicate": [], "forged": []}
    forged_sessions: list[int] = []
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
                    forged_sessions.append(db_activity_since(before))
                results[kind].append(phase)
                ratio = phase.rps / results["bare"][-1].rps
                say(
                    f"  round {round_no} {kind:<9} {phase.rps:8,.0f} req/s {ratio:6.0%} of this round's ceiling  "
                    f"p50 {phase.percentile(50):6.2f} ms  p99 {phase.percentile(99):6.2f} ms  statuses {phase.statuses}  "
                    f"failed {phase.errors}"
                )
    return results, forged_sessions


def truncate_inbox() -> None:
    import psycopg

    with psycopg.connect(f"{PG_URL}/{DATABASE}", autocommit=True) as conn:
        conn.execute(
            "TRUNCATE signals_inbox_signal, signals_inbox_needassignment, signals_inbox_auditentry, signals_inbox_need, webhooks_event CASCADE"
        )
    flush_redis()


def queue_signals(count: int) -> None:
    """Queue `count` signals as the webhook would: its ingest statement per signal (pipelined), then the
    resolution messages the web processes send (batches of up to 50 ids) on the Redis broker."""
    import psycopg
    from django.utils import timezone

    from signals_inbox.actors import resolve_signals
    from signals_inbox.dispatch import BATCH_SIZE
    from signals_inbox.models import new_signal_id
    from signals_inbox.parsing import parse_signal
    from signals_inbox.selectors import ingest_context
    from signals_inbox.services.ingest import _PG_INGEST, reopen_after
    from skillhub.ids import uuid7

    truncate_inbox()
    context = ingest_context(slug=SLUG)
    topics = ["Working at Heights", "manual handling", "Forklift Operations", "Confined Spaces", "Hot Work", "First Aid"]
    started = time.time()
    step = max(count // 10, 1)
    with psycopg.connect(f"{PG_URL}/{DATABASE}") as conn:
        for first in range(0, count, step):
            rows = []
            for n in range(first, min(first + step, count)):
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
                parsed = parse_signal(body, context.signal_map)
                rows.append({
                    "need_id": uuid7(), "tenant_id": context.tenant_id, "dedupe_key": parsed.dedupe_key, "type": parsed.type,
                    "topic": parsed.topic, "topic_key": parsed.topic_key, "category": parsed.category, "severity": parsed.severity,
                    "worker_ref": parsed.worker_ref, "site_name": parsed.site, "payload": parsed.payload_json,
                    "now": timezone.now(), "reopen_after": reopen_after(timezone.now()), "signal_id": new_signal_id(),
                    "event": parsed.event, "data": parsed.data_json,
                })  # fmt: skip
            with conn.cursor() as cursor:
                cursor.executemany(_PG_INGEST, rows)
            conn.commit()
            done = min(first + step, count)
            say(f"  queued {done:,}/{count:,} signals ({done / (time.time() - started):,.0f}/s)")
        ids = [row[0] for row in conn.execute("SELECT id FROM signals_inbox_signal WHERE resolved_at IS NULL ORDER BY id")]
    for start in range(0, len(ids), BATCH_SIZE):
        resolve_signals.send(ids[start : start + BATCH_SIZE])
    say(f"  {len(ids):,} waiting for resolution, {-(-len(ids) // BATCH_SIZE):,} messages on the broker")


class Workers:
    """`manage.py rundramatiq` with its default processes and threads, on the bench database and broker."""

    def __enter__(self) -> Workers:
        cmd = [sys.executable, "manage.py", "rundramatiq"]
        env = bench_env(DJANGO_SETTINGS_MODULE="skillhub.settings")
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass
class Resolution:
    queued: int
    needs: int
    unmatched: int
    startup: float  # worker start to the first resolved signal
    seconds: float  # first resolved signal to an empty backlog
    resolved_in_window: int

    @property
    def rate(self) -> float:
        return self.resolved_in_window / self.seconds


def resolution_phase(count: int) -> Resolution:
    """Queue `count` signals with no worker running, then time `rundramatiq` resolving them."""
    import psycopg

    queue_signals(count)
    with Workers():
        began = time.time()
        first_at = left_at_first = None
        last_said = 0.0
        while True:
            left = backlog()
            now = time.time()
            if first_at is None and left < count:
                first_at, left_at_first = now, left
            if left == 0:
                break
            if now - began > 900:
                raise RuntimeError(f"{left} signals still unresolved after 15 minutes")
            if now - last_said >= 2:
                say(f"  resolving: {count - left:,}/{count:,} after {now - began:5.1f} s")
                last_said = now
            time.sleep(0.05)
        ended = time.time()
    with psycopg.connect(f"{PG_URL}/{DATABASE}", autocommit=True) as conn:
        needs, unmatched = conn.execute("SELECT count(*), count(*) FILTER (WHERE target = 'unmatched') FROM signals_inbox_need").fetchone()
    assert first_at is not None and left_at_first is not None
    return Resolution(count, needs, unmatched, first_at - began, max(ended - first_at, 1e-3), left_at_first)


@dataclass
class Sustained:
    seconds: float
    phase: common.LoadResult
    max_backlog: int
    drain_seconds: float
    resolved_during: int
    samples: list[tuple[float, int, int]]  # (elapsed, signals received, backlog)


def sustained_phase(secret: str, seconds: float) -> Sustained:
    """Ingest all-new signals at full rate for `seconds` while the workers run; time the drain after the last request."""
    import psycopg

    truncate_inbox()
    with Workers(), common.Server(bench_env(), workers=WEB_PROCESSES, threads=WEB_THREADS) as server:
        run_phase(server.port, "new", secret, 1.0)  # warm-up: connections, prepared statements, workers
        deadline = time.time() + 60
        while backlog() and time.time() < deadline:
            time.sleep(0.2)
        truncate_inbox()
        with psycopg.connect(f"{PG_URL}/{DATABASE}", autocommit=True) as conn:
            received = lambda: int(conn.execute("SELECT count(*) FROM signals_inbox_signal").fetchone()[0])  # noqa: E731
            load = concurrent.futures.ThreadPoolExecutor(1)  # run_phase forks the client processes
            pending = load.submit(run_phase, server.port, "new", secret, seconds)
            began = time.time()
            samples: list[tuple[float, int, int]] = []
            while not pending.done():
                time.sleep(1.0)
                samples.append((time.time() - began, received(), backlog()))
                elapsed, total, left = samples[-1]
                say(f"  sustained {elapsed:5.1f} s: {total:,} received, backlog {left:,}")
            phase = pending.result()
            load.shutdown()
            last_request = time.time()
            left = backlog()
            while left:
                if time.time() - last_request > 300:
                    raise RuntimeError(f"{left} signals still unresolved 5 minutes after the last request")
                time.sleep(0.1)
                left = backlog()
            drain = time.time() - last_request
            total = received()
    max_backlog = max((left for _e, _t, left in samples), default=0)
    return Sustained(seconds, phase, max_backlog, drain, total, samples)


def main() -> None:
    global DUPLICATE_KEYS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each timed HTTP phase")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the four HTTP phases (medians are reported)")
    parser.add_argument("--queued", default="10000,100000", help="backlog sizes of the resolution phases, comma-separated")
    parser.add_argument("--sustain", type=float, default=60.0, help="seconds of full-rate ingest while the workers run (0: skip)")
    parser.add_argument(
        "--duplicate-keys", type=int, default=DUPLICATE_KEYS,
        help="open needs each client re-sends in the all-duplicate phase (1 = one hot need per client)",
    )
    args = parser.parse_args()
    DUPLICATE_KEYS = args.duplicate_keys
    queued = [int(n) for n in args.queued.split(",") if n.strip()]

    say(f"== signal ingest benchmark: database {DATABASE}, cache {CACHE_URL}, broker {BROKER_URL}")
    common.recreate_database(DATABASE)
    flush_redis()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=bench_env(), check=True)
    secret = seed()
    say("seeded: 2,000 learners, 5 published courses, one signal secret")

    results, forged_sessions = http_phases(secret, args.seconds, args.rounds)
    resolutions = []
    for count in queued:
        say(f"== resolution: {count:,} queued signals, `manage.py rundramatiq` defaults ({os.cpu_count()} processes x 8 threads)")
        resolutions.append(resolution_phase(count))
    sustained = None
    if args.sustain > 0:
        say(f"== sustained: {args.sustain:.0f} s of all-new ingest at full rate ({CLIENTS} clients) while the workers run")
        sustained = sustained_phase(secret, args.sustain)

    ingest = statistics.median(p.rps for p in results["new"])
    say("")
    # The ceiling moves between rounds on a shared machine: each round is a ratio to its own ceiling,
    # and the figure quoted is the median of those per-round ratios.
    say(f"{'phase':<12}{'req/s (median)':>16}{'median ratio/round':>20}{'target':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}")
    for kind in ("bare", "new", "duplicate", "forged"):
        rps = statistics.median(p.rps for p in results[kind])
        per_round = common.median_ratio([p.rps for p in results[kind]], [b.rps for b in results["bare"]])
        p50 = statistics.median(p.percentile(50) for p in results[kind])
        p99 = statistics.median(p.percentile(99) for p in results[kind])
        failed = sum(p.errors for p in results[kind])
        target = f">={TARGETS[kind]:.0%}" if kind in TARGETS else ""
        say(f"{kind:<12}{rps:>16,.0f}{per_round:>20.0%}{target:>9}{p50:>9.2f}{p99:>9.2f}{failed:>8}")
    refused = all(set(p.statuses) <= {401} for p in results["forged"])
    say(f"forged: all answered 401: {refused}; client database sessions active during forged phases: {forged_sessions}")
    ingest_p99 = max(statistics.median(p.percentile(99) for p in results[k]) for k in ("new", "duplicate"))
    say(f"ingest p99 at {CLIENTS} clients: {ingest_p99:.2f} ms (target < {P99_TARGET_MS:.0f} ms)")
    say("")
    say(f"{'resolution':<22}{'signals/s':>11}{'of ingest':>11}{'target':>9}{'seconds':>9}{'start-up s':>12}{'needs':>9}{'parked':>8}")
    for r in resolutions:
        say(f"{f'{r.queued:,} queued':<22}{r.rate:>11,.0f}{r.rate / ingest:>11.0%}{'>=100%':>9}{r.seconds:>9.1f}{r.startup:>12.1f}{r.needs:>9,}{r.unmatched:>8,}")
    if sustained is not None:
        phase = sustained.phase
        rate = sustained.resolved_during / (sustained.seconds + sustained.drain_seconds)
        say(
            f"sustained {sustained.seconds:.0f} s: ingest {phase.rps:,.0f} req/s (p50 {phase.percentile(50):.2f} ms, p99 {phase.percentile(99):.2f} ms, "
            f"statuses {phase.statuses}), {sustained.resolved_during:,} signals; backlog at most {sustained.max_backlog:,}; "
            f"drained {sustained.drain_seconds:.1f} s after the last request (target <= {DRAIN_TARGET_SECONDS:.0f} s); "
            f"resolved {rate:,.0f}/s over the phase and its drain"
        )
    load = os.getloadavg()
    say(f"machine load average at the end (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
