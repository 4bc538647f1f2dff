"""Learner list throughput on PostgreSQL with 1,000,000 learners, as ratios to a bare Django view.

Run: make bench-api   (or .venv/bin/python bench/api_pagination.py [--learners N] [--seconds S])
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    ROOT,
    FixedRequests,
    Server,
    bench_env,
    ensure_database,
    load,
    median_of,
    median_ratio,
    progress,
)

DATABASE = "skillhub_bench_api"


def seed(learners: int) -> tuple[str, str, str]:
    """Make sure the bench tenant has `learners` learners; return (slug, api key, cursor at 90%)."""
    import django

    django.setup()
    from learning.models import Learner
    from learning.services import learner_count_recompute
    from skillhub.api.pagination import _encode_cursor
    from skillhub.ids import uuid7
    from tenants.models import SCOPES, Plan, Role
    from tenants.services import api_key_create, site_get_or_create, tenant_create

    tenant, _ = tenant_create(slug="bench", name="Bench", plan=Plan.ENTERPRISE)
    tenant.rate_limit_per_minute = 100_000_000
    tenant.rate_limit_per_day = 1_000_000_000
    tenant.save()
    sites = [site_get_or_create(tenant=tenant, name=f"Site {n}").pk for n in range(10)]
    have = Learner.objects.filter(tenant=tenant).count()
    if have < learners:
        started = time.time()
        missing = learners - have
        import psycopg

        columns = (
            "id, tenant_id, first_name, last_name, email, external_worker_id, sa_id_number, site_id, role, status, group_ids, created_at, updated_at"
        )
        batch = 50_000
        done = 0
        with psycopg.connect(os.environ["DATABASE_URL"]) as raw:
            while done < missing:
                size = min(batch, missing - done)
                with raw.cursor() as cursor, cursor.copy(f"COPY learning_learner ({columns}) FROM STDIN") as copy:
                    for n in range(have + done, have + done + size):
                        copy.write_row(
                            (
                                uuid7(), tenant.pk, f"First{n}", f"Last{n}", f"learner{n}@bench.example", f"W-{n}", "",
                                sites[n % 10], "Operator", "active", "[]", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
                            )
                        )
                raw.commit()
                done += size
                progress("seeding learners", done, missing, started)
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as raw:
            # Index-only scans for deep offsets need a fresh visibility map.
            raw.execute("VACUUM ANALYZE learning_learner")
    learner_count_recompute(tenant=tenant)
    key = api_key_create(tenant=tenant, name="bench", role=Role.ADMIN, scopes=list(SCOPES)).raw_key
    depth = int(learners * 0.9)
    deep_id = Learner.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True)[depth - 1 : depth][0]
    return tenant.slug, key, _encode_cursor(str(deep_id), depth)


def walk_all(port: int, slug: str, key: str) -> tuple[float, int]:
    """Walk every learner by cursor with limit=1000; return (seconds, rows)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}"}
    cursor, rows, pages = None, 0, 0
    started = time.time()
    while True:
        path = f"/api/v1/tenants/{slug}/learners?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise SystemExit(f"cursor walk: {path} answered {response.status}")
        body = json.loads(response.read())
        rows += len(body["data"])
        pages += 1
        if pages % 50 == 0:
            progress("walking by cursor", rows, body["pagination"]["total"], started)
        cursor = body["nextCursor"]
        if not cursor:
            break
    return time.time() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed-only", action="store_true", help="seed the learners and stop")
    args = parser.parse_args()

    ensure_database(DATABASE)
    env = bench_env(DATABASE)
    os.environ.update(env)
    print(f"== learner list benchmark: {args.learners:,} learners on PostgreSQL, gunicorn x{args.workers} ==")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    slug, key, deep_cursor = seed(args.learners)
    if args.seed_only:
        return
    auth = {"Authorization": f"Bearer {key}"}
    base = f"/api/v1/tenants/{slug}/learners"
    deep_offset = int(args.learners * 0.9)
    scenarios = {
        "bare Django JSON view (ceiling)": FixedRequests("GET", ("/bench/bare",)),
        "learners ?limit=50 offset 0": FixedRequests("GET", (f"{base}?limit=50",), (auth,)),
        f"learners ?limit=50 offset {deep_offset:,}": FixedRequests("GET", (f"{base}?limit=50&offset={deep_offset}",), (auth,)),
        f"learners ?limit=50 cursor at {deep_offset:,}": FixedRequests("GET", (f"{base}?limit=50&cursor={deep_cursor}",), (auth,)),
    }
    ceiling_name = "bare Django JSON view (ceiling)"
    results: dict[str, list[float]] = {name: [] for name in scenarios}
    p50: dict[str, list[float]] = {name: [] for name in scenarios}
    with Server(env, workers=args.workers) as server:
        for requests in scenarios.values():  # warm up every worker and every query plan
            load(server.port, requests, seconds=1, clients=args.clients)
        for round_no in range(1, args.rounds + 1):
            for name, requests in scenarios.items():
                result = load(server.port, requests, seconds=args.seconds, clients=args.clients)
                if result.errors:
                    # Only 200s count; anything else means the measurement is of something else.
                    raise SystemExit(f"{name}: {result.errors} failed requests, statuses {result.statuses}")
                results[name].append(result.rps)
                p50[name].append(result.percentile(50))
                print(f"  round {round_no}/{args.rounds}  {name:<45} {result.rps:8.0f} req/s  "
                      f"{result.rps / results[ceiling_name][-1]:6.1%} of this round's ceiling")
        walk_seconds, walked = walk_all(server.port, slug, key)

    print()
    print(f"medians of {args.rounds} rounds; ratio = median of each round's rate / that round's ceiling")
    print(f"{'scenario':<47} {'median req/s':>12} {'p50 ms':>8} {'ratio':>8}")
    ratios = {name: median_ratio(results[name], results[ceiling_name]) for name in scenarios}
    for name in scenarios:
        print(f"{name:<47} {median_of(results[name]):12.0f} {median_of(p50[name]):8.1f} {ratios[name]:8.1%}")
    print(f"walk all {walked:,} learners by cursor, limit=1000: {walk_seconds:.1f} s (target < 30 s)")
    cursor_ratio = ratios[f"learners ?limit=50 cursor at {deep_offset:,}"]
    offset0_ratio = ratios["learners ?limit=50 offset 0"]
    print(f"targets: cursor page >= 15% -> {'met' if cursor_ratio >= 0.15 else 'MISSED'}; "
          f"offset 0 >= 15% -> {'met' if offset0_ratio >= 0.15 else 'MISSED'}; "
          f"walk < 30 s -> {'met' if walk_seconds < 30 else 'MISSED'}")


if __name__ == "__main__":
    main()
