"""History benchmark on PostgreSQL + Redis: the same rounds on an empty history and on 10 million attempts.

Rounds, first on an empty history, then after seeding (by COPY) 10,000,000 attempts and 5,000,000
deliveries over 1,000 endpoints:
  pipeline    events recorded by 4 producer processes, delivered by rundramatiq (bench/webhook_delivery.py)
  latency     one event at a time on idle workers: recorded -> received
  console     the endpoint list (1,000 endpoints) and the busiest endpoint's page, 20 loads each (in process)
  api log     the busiest endpoint's delivery log over the API, first page, 20 loads
  metrics     a /metrics scrape of every process (multiprocess mode), 20 loads
then the retention sweep removing the 5,000,000 attempts older than 30 days, with a pipeline round
running beside it.

Run: make bench-history   (or .venv/bin/python bench/history.py [--attempts N] [--events N] [--rounds R])
Needs PostgreSQL (BENCH_PG_URL) and Redis (BENCH_REDIS_URL / BENCH_BROKER_URL). It creates and
drops its own database and stops every process it starts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_WH_DATABASE", "skillhub_bench_history")

from bench import common  # noqa: E402
from bench import webhook_delivery as wd  # noqa: E402

DATABASE = wd.DATABASE
HISTORY_ENDPOINTS = 1000
LOADS = 20


def log(message: str) -> None:
    wd.log(message)


def _hex_id(prefix: str, moment: datetime, n: int) -> str:
    millis = int(moment.timestamp() * 1000)
    return f"{prefix}_{(millis << 80 | 0x7 << 76 | 0b10 << 62 | n):032x}"


def seed(tenant_id: str, endpoint_ids: list[str], *, deliveries: int, attempts_per: int, days: int) -> str:
    """COPY `deliveries` finished deliveries (and `attempts_per` attempts each) spread over `days` days; return the busiest endpoint."""
    import psycopg

    now = datetime.now(timezone.utc)
    start = now - timedelta(days=days)
    step = (now - timedelta(hours=1) - start) / deliveries
    tenant_hex = tenant_id
    # One endpoint in ten gets ten times the traffic; the first is the busiest of all (5%).
    weights = [50 if i == 0 else (10 if i % 10 == 0 else 1) for i in range(len(endpoint_ids))]
    wheel = [index for index, weight in enumerate(weights) for _ in range(weight)]
    url = f"{common.PG_URL}/{DATABASE}"
    started = time.time()
    with psycopg.connect(url, autocommit=True) as conn:
        event_id = _hex_id("evt", start - timedelta(seconds=1), 1)
        conn.execute(
            "INSERT INTO webhooks_event (id, tenant_id, type, data, subject_type, subject_id, created_at) "
            "VALUES (%s, %s, 'learner.updated', '{}', '', '', %s)",
            (event_id, tenant_hex, start),
        )
        with conn.cursor() as cursor:
            with cursor.copy(
                "COPY webhooks_delivery (id, tenant_id, event_id, endpoint_id, event_type, sequence, state, attempt_count, "
                "next_attempt_at, claimed_until, claim_token, enqueued_at, is_ping, last_status_code, last_error, delivered_at, "
                "created_at, updated_at) FROM STDIN"
            ) as copy:
                for n in range(deliveries):
                    at = start + step * n
                    endpoint = endpoint_ids[wheel[n % len(wheel)]]
                    copy.write_row((
                        _hex_id("dlv", at, n), tenant_hex, event_id, endpoint, "learner.updated", n + 1, "succeeded",
                        attempts_per, None, None, "", None, False, 200, "", at, at, at,
                    ))  # fmt: skip
                    if n % 250_000 == 0:
                        common.progress("deliveries", n, deliveries, started)
            common.progress("deliveries", deliveries, deliveries, started)
            started = time.time()
            total = deliveries * attempts_per
            with cursor.copy(
                "COPY webhooks_attempt (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body) "
                "FROM STDIN"
            ) as copy:
                done = 0
                # In time order, as attempts are made: their ids grow with time, which retention relies on.
                for n in range(deliveries):
                    at = start + step * n
                    for k in range(attempts_per):
                        ok = k == attempts_per - 1
                        copy.write_row((_hex_id("dlv", at, n), k + 1, at + timedelta(milliseconds=k), 40 + n % 200, 200 if ok else 500, ok, "", "ok" if ok else "boom"))
                        done += 1
                        if done % 500_000 == 0:
                            common.progress("attempts", done, total, started)
            common.progress("attempts", total, total, started)
        conn.execute("ANALYZE")
    return endpoint_ids[0]


def partition_round(rows: int) -> dict[str, float]:
    """Expired rows removed by dropping a month's partition, against batched deletes of a plain table.

    Both tables have the attempts' shape and `rows` expired rows (half of all), made on the server.
    """
    import psycopg

    shape = "id bigint, delivery_id varchar(40), number int, started_at timestamptz, duration_ms int, status_code int, succeeded bool, error varchar(500), response_body text"
    fill = (
        "SELECT n, 'dlv_' || lpad(to_hex(n), 32, '0'), 1, now() - interval '60 days' + (n * (interval '59 days' / %s)), 40, 200, true, '', 'ok' "
        "FROM generate_series(1, %s) AS n"
    )
    out: dict[str, float] = {}
    with psycopg.connect(f"{common.PG_URL}/{DATABASE}", autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_part, bench_plain")
        conn.execute(f"CREATE TABLE bench_part ({shape}) PARTITION BY RANGE (started_at)")
        conn.execute("CREATE TABLE bench_part_old PARTITION OF bench_part FOR VALUES FROM ('-infinity') TO (now() - interval '30 days')")
        conn.execute("CREATE TABLE bench_part_new PARTITION OF bench_part FOR VALUES FROM (now() - interval '30 days') TO ('infinity')")
        conn.execute(f"CREATE TABLE bench_plain ({shape}, PRIMARY KEY (id))")
        for table in ("bench_part", "bench_plain"):
            conn.execute(f"INSERT INTO {table} {fill}", (rows * 2, rows * 2))
        conn.execute("CREATE INDEX ON bench_part (id)")
        conn.execute("ANALYZE bench_part; ANALYZE bench_plain")
        expired = conn.execute("SELECT count(*) FROM bench_part_old").fetchone()[0]
        started = time.perf_counter()
        conn.execute("DROP TABLE bench_part_old")
        out["partition drop seconds"] = time.perf_counter() - started
        out["partition rows"] = expired
        started = time.perf_counter()
        removed, after = 0, 0
        while True:
            got = conn.execute(
                "WITH gone AS (DELETE FROM bench_plain WHERE id IN (SELECT id FROM bench_plain WHERE id > %s "
                "AND started_at < now() - interval '30 days' ORDER BY id LIMIT 5000) RETURNING id) SELECT count(*), max(id) FROM gone",
                (after,),
            ).fetchone()
            removed += got[0]
            if got[0] < 5000:
                break
            after = got[1]
        out["batched delete seconds"] = time.perf_counter() - started
        out["batched rows"] = removed
        conn.execute("DROP TABLE IF EXISTS bench_part, bench_plain")
    return out


def timed_loads(fetch, loads: int = LOADS) -> float:  # noqa: ANN001
    """Median milliseconds of `loads` calls of `fetch` (after one warm-up)."""
    fetch()
    times = []
    for _ in range(loads):
        started = time.perf_counter()
        fetch()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def page_rounds(tenant, busiest: str, key: str) -> dict[str, float]:  # noqa: ANN001
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser("bench-admin", "", "pw-bench-12345")
    console = Client()
    console.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(client, url: str):  # noqa: ANN001, ANN202
        def fetch() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return fetch

    from django.conf import settings
    from django.test.utils import override_settings

    # In process, without collectstatic: plain static storage (the pages, not the files, are measured).
    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=plain, ALLOWED_HOSTS=["*"]):
        return _loads(console, api, get, tenant, busiest)


def _loads(console, api, get, tenant, busiest: str) -> dict[str, float]:  # noqa: ANN001
    from django.urls import reverse

    from django.test import Client
    from django.test.utils import override_settings

    scraper = Client(HTTP_AUTHORIZATION="Bearer bench-metrics")
    with override_settings(SKILLHUB_METRICS_TOKEN="bench-metrics"):
        scrape = timed_loads(get(scraper, "/metrics"))
    return {
        "/metrics scrape": scrape,
        "console endpoint list": timed_loads(get(console, reverse("admin:webhooks_endpoint_changelist"))),
        "console busiest endpoint page": timed_loads(get(console, reverse("admin:webhooks_endpoint_change", args=[busiest]))),
        "console delivery list": timed_loads(get(console, reverse("admin:webhooks_delivery_changelist"))),
        "api delivery log, first page": timed_loads(get(api, f"/api/v1/tenants/{tenant.slug}/webhooks/{busiest}/deliveries")),
    }


def pipeline(receiver, producers, events: int, rounds: int) -> float:  # noqa: ANN001
    rates = [wd.pipeline_round(receiver, producers, events) for _ in range(rounds)]
    return statistics.median(rates)


class EmptyTwin:
    """The same app on its own database, Redis and workers, with the same endpoints and no history, for paired rounds.

    The machine's load changes over a run of many minutes (seeding alone takes five); a round on
    the empty twin right before each round on the history sees the same load, so their ratio is
    the history's cost and not the machine's.
    """

    def __init__(self, receiver) -> None:  # noqa: ANN001
        import subprocess
        import tempfile

        self.env = {
            "database": f"{DATABASE}_twin",
            "redis": os.environ.get("BENCH_TWIN_REDIS_URL", "redis://127.0.0.1:6379/5"),
            "broker": os.environ.get("BENCH_TWIN_BROKER_URL", "redis://127.0.0.1:6379/6"),
            "metrics_dir": tempfile.mkdtemp(prefix="skillhub-bench-twin-metrics-"),
        }
        import redis

        redis.Redis.from_url(self.env["broker"]).flushdb()
        common.recreate_database(self.env["database"])
        env = wd.app_env(self.env)
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        made = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c",
             "from tenants.services import tenant_create; from webhooks.services import endpoint_create; "
             "t, _ = tenant_create(slug='bench-history-twin', name='Twin', plan='enterprise'); "
             f"endpoint_create(tenant=t, values={{'url': '{receiver.base}/twin', 'max_in_flight': 16, 'events': ['learner.updated']}}); "
             # The same 1,000 other endpoints as the history's tenant, with no deliveries: only the history differs.
             f"[endpoint_create(tenant=t, values={{'url': '{receiver.base}/old/' + str(i), 'events': ['assignment.expired']}}) "
             f"for i in range({HISTORY_ENDPOINTS})]; "
             "print(t.pk)"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        self.tenant_id = made.stdout.strip().splitlines()[-1]
        self.workers = wd.Workers(self.env)
        self.producers = wd.Producers(self.tenant_id, wd.PRODUCER_PROCESSES, self.env)
        self.workers.start()
        self.wait_ready(receiver)

    def wait_ready(self, receiver) -> None:  # noqa: ANN001
        deadline = time.time() + 60
        while time.time() < deadline:
            receiver.reset()
            self.producers.produce(1)
            if receiver.wait_for(1, timeout=2):
                receiver.reset()
                return
        raise RuntimeError("the empty twin's workers did not start delivering within a minute")

    def stop(self) -> None:
        self.producers.stop()
        self.workers.stop()
        common.drop_database(self.env["database"])


def paired_pipeline(receiver, producers, twin: EmptyTwin, events: int, rounds: int) -> dict[str, float]:  # noqa: ANN001
    """Rounds alternating between the empty twin and the history; the median of per-pair ratios."""
    pairs = []
    for r in range(rounds):
        empty = wd.pipeline_round(receiver, twin.producers, events)
        full = wd.pipeline_round(receiver, producers, events)
        pairs.append((empty, full))
        log(f"  pair {r + 1}/{rounds}: empty twin {empty:,.0f}/s, with history {full:,.0f}/s = {full / empty:.0%}")
    return {
        "twin": statistics.median(e for e, _ in pairs),
        "history": statistics.median(f for _, f in pairs),
        "ratio": statistics.median(f / e for e, f in pairs),
        "ratios": [f / e for e, f in pairs],  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=5_000_000)
    parser.add_argument("--attempts-per-delivery", type=int, default=2)
    parser.add_argument("--events", type=int, default=2000, help="events per pipeline round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=5, help="pipeline rounds paired with the empty twin")
    parser.add_argument("--latency-samples", type=int, default=50)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--partition-rows", type=int, default=1_000_000, help="expired rows of the partition round (0: skip)")
    parser.add_argument("--partition-only", action="store_true", help="run only the partition-drop vs batched-delete round")
    args = parser.parse_args()
    if args.partition_only:
        common.recreate_database(DATABASE)
        try:
            part = partition_round(args.partition_rows)
        finally:
            common.drop_database(DATABASE)
        print_partition(part)
        return

    import tempfile

    import redis

    # Every process counts into one directory and the scrape reads them all, as under `serve`.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="skillhub-bench-history-metrics-")
    redis.Redis.from_url(wd.BROKER_URL).flushdb()
    common.recreate_database(DATABASE)
    receiver = wd.Receiver()
    workers = wd.Workers()
    producers = None
    twin: EmptyTwin | None = None
    results: dict[str, dict[str, float]] = {"empty": {}, "history": {}}
    try:
        wd.setup_django()
        from django.db import connection

        from tenants.models import RetentionPolicy
        from tenants.retention import sweep
        from tenants.services import tenant_create
        from tests.factories import make_api_key
        from webhooks.services import endpoint_create

        tenant, _ = tenant_create(slug="bench-history", name="Bench", plan="enterprise")
        key = make_api_key(tenant)
        live = endpoint_create(tenant=tenant, values={"url": f"{receiver.base}/hook", "max_in_flight": 16, "events": ["learner.updated"]})
        history = [
            endpoint_create(tenant=tenant, values={"url": f"{receiver.base}/old/{i}", "events": ["assignment.expired"]}).pk
            for i in range(HISTORY_ENDPOINTS)
        ]
        busiest = history[0]
        log(f"receiver {receiver.base}; live endpoint {live.pk}; {HISTORY_ENDPOINTS} history endpoints")
        producers = wd.Producers(str(tenant.pk), wd.PRODUCER_PROCESSES)
        workers.start()
        wd.wait_ready(receiver, tenant)

        def measure(label: str) -> None:
            out = results[label]
            out["pipeline"] = pipeline(receiver, producers, args.events, args.rounds)
            log(f"  [{label}] pipeline {out['pipeline']:,.0f}/s")
            out["latency"] = statistics.median(wd.idle_latencies(receiver, tenant, args.latency_samples))
            log(f"  [{label}] idle latency median {out['latency']:.1f} ms")
            for name, ms in page_rounds(tenant, busiest, key).items():
                out[name] = ms
                log(f"  [{label}] {name}: p50 {ms:.1f} ms")

        measure("empty")
        workers.stop()
        log(f"seeding {args.deliveries:,} deliveries and {args.deliveries * args.attempts_per_delivery:,} attempts by COPY …")
        seed_started = time.time()
        # History comes before today's traffic: drop the empty rounds' rows so ids still grow with time.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM webhooks_attempt")
            cursor.execute("DELETE FROM webhooks_delivery")
            cursor.execute("UPDATE webhooks_endpointslot SET state = 'free', delivery_id = '', claim_token = '', leased_until = NULL")
        # The minute sweep would make these as the attempts came; COPY brings them all at once.
        from webhooks import partitions

        made = partitions.ensure_partitions(ahead=args.deliveries * args.attempts_per_delivery // partitions.partition_rows() + 2)
        log(f"  {made} attempt partitions made ahead of the seeding" if partitions.is_partitioned() else "  attempts table not partitioned")
        # Spread over 60 days: the older half of the attempts is past the 30-day default.
        seed(tenant.pk.hex, history, deliveries=args.deliveries, attempts_per=args.attempts_per_delivery, days=60)
        log(f"  seeded in {time.time() - seed_started:,.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            log(f"  database size {cursor.fetchone()[0]}")
        workers.start()
        wd.wait_ready(receiver, tenant)
        measure("history")
        log("  pipeline rounds paired with an empty twin (its own database, Redis and workers) …")
        twin = EmptyTwin(receiver)
        results["paired"] = paired_pipeline(receiver, producers, twin, args.events, args.pairs)
        twin.stop()
        twin = None

        # Retention: deliveries kept a year here, so the sweep's work is the attempts past 30 days.
        RetentionPolicy.objects.update_or_create(tenant=tenant, defaults={"attempts_days": 30, "deliveries_days": 365})
        expired = args.deliveries * args.attempts_per_delivery // 2
        sweep_result: dict[str, float] = {}

        def run_sweep() -> None:
            try:
                started = time.time()
                outcome = sweep()
                sweep_result["seconds"] = time.time() - started
                sweep_result["attempts"] = outcome.removed.get("attempts", 0)
            finally:
                from django.db import connections

                connections.close_all()

        thread = threading.Thread(target=run_sweep)
        thread.start()
        during = []
        while thread.is_alive():
            during.append(wd.pipeline_round(receiver, producers, args.events))
            log(f"  pipeline during the sweep: {during[-1]:,.0f}/s")
        thread.join()
        removed = sweep_result.get("attempts", 0)
        log(f"  sweep removed {removed:,} attempts in {sweep_result.get('seconds', 0):.1f} s")
        results["sweep"] = {
            "removed": removed,
            "seconds": sweep_result.get("seconds", 0.0),
            "rate": removed / max(sweep_result.get("seconds", 1e-9), 1e-9),
            "pipeline during": statistics.median(during) if during else 0.0,
            "expected": expired,
        }
        if args.partition_rows:
            log(f"  partition round: {args.partition_rows:,} expired rows …")
            results["partition"] = partition_round(args.partition_rows)
    finally:
        if producers is not None:
            producers.stop()
        if twin is not None:
            twin.stop()
        workers.stop()
        receiver.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            common.drop_database(DATABASE)

    empty, full, swept = results["empty"], results["history"], results["sweep"]

    def row(label: str, a: str, b: str, verdict: str = "") -> None:
        print(f"{label:<40} {a:>14} {b:>14}  {verdict}")

    print()
    print(f"history benchmark: PostgreSQL + Redis, {os.cpu_count()} cores; history = {args.deliveries * args.attempts_per_delivery:,} attempts, "
          f"{args.deliveries:,} deliveries over {HISTORY_ENDPOINTS:,} endpoints (COPY)")
    row("measure", "empty history", "with history")
    paired = results["paired"]
    row("pipeline, before and after seeding", f"{empty['pipeline']:,.0f}/s", f"{full['pipeline']:,.0f}/s", f"{full['pipeline'] / empty['pipeline']:.0%} (load may differ)")
    ratios = ", ".join(f"{r:.0%}" for r in paired["ratios"])  # type: ignore[attr-defined]
    row("pipeline, paired rounds (empty twin)", f"{paired['twin']:,.0f}/s", f"{paired['history']:,.0f}/s", f"{paired['ratio']:.0%} per pair ({ratios}) (target >= 95%)")
    row("idle latency, median", f"{empty['latency']:.1f} ms", f"{full['latency']:.1f} ms", "target < 50 ms")
    targets = {"console endpoint list": "target < 300 ms", "console busiest endpoint page": "target < 300 ms", "/metrics scrape": "target < 100 ms"}
    for name in ("console endpoint list", "console busiest endpoint page", "console delivery list", "api delivery log, first page", "/metrics scrape"):
        row(f"{name}, p50 of {LOADS}", f"{empty[name]:.1f} ms", f"{full[name]:.1f} ms", targets.get(name, ""))
    print(
        f"retention sweep: {swept['removed']:,.0f} of {swept['expired'] if 'expired' in swept else swept['expected']:,.0f} expired attempts removed in "
        f"{swept['seconds']:.1f} s = {swept['rate']:,.0f} rows/s (target >= 50,000); pipeline beside it "
        f"{swept['pipeline during']:,.0f}/s = {swept['pipeline during'] / paired['history']:.0%} of the paired rounds' rate with history just before (target >= 80%)"
    )
    if "partition" in results:
        print_partition(results["partition"])


def print_partition(part: dict[str, float]) -> None:
    print(
        f"partition drop vs batched delete: dropping a month's partition of {part['partition rows']:,.0f} rows took "
        f"{part['partition drop seconds'] * 1000:.0f} ms; deleting {part['batched rows']:,.0f} rows in batches of 5,000 took "
        f"{part['batched delete seconds']:.1f} s = {part['batched rows'] / max(part['batched delete seconds'], 1e-9):,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
