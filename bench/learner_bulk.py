"""Provisioning throughput on PostgreSQL: 100,000 learners through POST /learners/bulk, and SCIM POST /Users
as a ratio to a bare Django view (per round, median of rounds).

The ceiling, `/bench/scim-writes/<slug>`, is served by the same gunicorn processes through the same
middleware, over the same keep-alive clients and the same request bodies: the same work without
skillhub — parse the JSON, find the tenant, write the learner, its SCIM name, its `learner.created`
event and its audit row in one transaction with plain SQL, answer a User. `/bench/scim-bare` (parse
and answer, no database) is measured beside it and printed for reference.

Run: make bench-api   (or .venv/bin/python bench/learner_bulk.py [--learners N] [--seconds S] [--rounds R])
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

from bench.common import ROOT, FixedRequests, Server, bench_env, load, median_of, progress, recreate_database  # noqa: E402

# BENCH_DATABASE: another name for the (dropped and recreated) database, when several people bench on one server.
DATABASE = os.environ.get("BENCH_DATABASE", "skillhub_bench_bulk")
BATCH = 10_000


class PatientServer(Server):
    """The bench server, given longer to start on a busy machine and stopped if it never answers."""

    def __enter__(self) -> PatientServer:
        # A 10,000-row call may take longer than gunicorn's default 30 s worker timeout on a loaded machine.
        self.cmd += ["--timeout", "300"]
        self.process = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError("gunicorn did not start")


def seed() -> tuple[str, str]:
    """A fresh enterprise tenant with no rate limit to speak of; return (slug, key with every scope)."""
    import django

    django.setup()
    from tenants.models import SCOPES, Plan, Role
    from tenants.services import api_key_create, tenant_create

    tenant, _ = tenant_create(slug="bench", name="Bench", plan=Plan.ENTERPRISE)
    tenant.rate_limit_per_minute = 100_000_000
    tenant.rate_limit_per_day = 1_000_000_000
    tenant.save()
    return tenant.slug, api_key_create(tenant=tenant, name="bench", role=Role.ADMIN, scopes=list(SCOPES)).raw_key


def bulk_rows(start: int, count: int) -> list[dict[str, str]]:
    return [
        {
            "firstName": f"First{n}",
            "lastName": f"Last{n}",
            "email": f"bulk{n}@bench.example",
            "externalWorkerId": f"B-{n}",
            "site": f"Site {n % 20}",
            "role": "Operator",
        }
        for n in range(start, start + count)
    ]


def bulk_round(port: int, slug: str, key: str, learners: int) -> tuple[float, int, int]:
    """Send `learners` rows in calls of 10,000 over one keep-alive connection; return (seconds, created, failed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [json.dumps({"learners": bulk_rows(start, min(BATCH, learners - start))}).encode() for start in range(0, learners, BATCH)]
    created = failed = 0
    started = time.time()
    for number, body in enumerate(bodies, 1):
        conn.request("POST", f"/api/v1/tenants/{slug}/learners/bulk", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"bulk call {number}: {response.status} {payload[:300]!r}")
        summary = json.loads(payload)["summary"]
        created += summary["created"]
        failed += summary["failed"]
        progress("POST /learners/bulk", min(number * BATCH, learners), learners, started)
    return time.time() - started, created, failed


def scim_bodies(prefix: str, count: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"{prefix}{n}@scim.example",
                "externalId": f"{prefix}-{n}",
                "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
                "emails": [{"value": f"{prefix}{n}@scim.example", "type": "work", "primary": True}],
                "active": True,
            }
        ).encode()
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()

    recreate_database(DATABASE)
    env = bench_env(DATABASE)
    os.environ.update(env)
    print(f"== provisioning benchmark: {args.learners:,} learners by bulk import, SCIM POST /Users; PostgreSQL, gunicorn x{args.workers} ==")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    slug, key = seed()
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"}
    bare = {"Content-Type": "application/scim+json"}
    scim_path = f"/scim/v2/tenants/{slug}/Users"
    # Enough distinct users for every client of every round at several hundred a second.
    per_round = int(max(2_000, args.seconds * 600 * args.clients))
    ratios: list[float] = []
    bare_rates: list[float] = []
    answer_ratios: list[float] = []
    scim_rates: list[float] = []
    p50: list[float] = []
    with PatientServer(env, workers=args.workers) as server:
        bulk_seconds, created, failed = bulk_round(server.port, slug, key, args.learners)
        print(f"  bulk: {created:,} created, {failed} failed in {bulk_seconds:.1f} s ({created / bulk_seconds:,.0f} learners/s)")
        def bare_requests(prefix: str) -> FixedRequests:
            return FixedRequests("POST", ("/bench/scim-bare",), (bare,), tuple(scim_bodies(prefix, per_round)))

        def writes_requests(prefix: str) -> FixedRequests:
            return FixedRequests("POST", (f"/bench/scim-writes/{slug}",), (bare,), tuple(scim_bodies(prefix, per_round)))

        def scim_requests(prefix: str) -> FixedRequests:
            # Every body a new user: a repeat would be a 409 and count as an error.
            return FixedRequests("POST", (scim_path,), (auth,), tuple(scim_bodies(prefix, per_round)))

        load(server.port, bare_requests("warm"), seconds=1, clients=args.clients)
        load(server.port, writes_requests("warmw"), seconds=1, clients=args.clients)
        load(server.port, scim_requests("warmup"), seconds=1, clients=args.clients)
        for round_no in range(1, args.rounds + 1):
            answer = load(server.port, bare_requests(f"b{round_no}u"), seconds=args.seconds, clients=args.clients)
            ceiling = load(server.port, writes_requests(f"w{round_no}u"), seconds=args.seconds, clients=args.clients)
            scim = load(server.port, scim_requests(f"r{round_no}u"), seconds=args.seconds, clients=args.clients)
            if answer.errors or ceiling.errors or scim.errors:
                raise SystemExit(f"round {round_no}: bare {answer.statuses}, writes {ceiling.statuses}, SCIM {scim.statuses}: errors")
            ratio = scim.rps / ceiling.rps
            ratios.append(ratio)
            answer_ratios.append(scim.rps / answer.rps)
            bare_rates.append(ceiling.rps)
            scim_rates.append(scim.rps)
            p50.append(scim.percentile(50))
            print(
                f"  round {round_no}/{args.rounds}  answer only {answer.rps:7.0f} req/s   same writes in SQL {ceiling.rps:7.0f} req/s   "
                f"SCIM POST /Users {scim.rps:7.0f} req/s   ratio {ratio:6.1%} (of answer only {scim.rps / answer.rps:6.1%})"
            )

    print()
    print(f"{'scenario':<40} {'median':>14}")
    print(f"{'bulk import, ' + format(args.learners, ',') + ' learners':<40} {bulk_seconds:12.1f} s   (target < 60 s)")
    print(f"{'same writes in plain SQL (ceiling)':<40} {median_of(bare_rates):10.0f} req/s")
    print(f"{'SCIM POST /Users':<40} {median_of(scim_rates):10.0f} req/s   p50 {median_of(p50):.1f} ms")
    print(f"{'SCIM POST /Users / ceiling, per round':<40} {median_of(ratios):12.1%}   (target >= 30%)")
    print(f"{'SCIM POST /Users / answer only':<40} {median_of(answer_ratios):12.1%}   (no database: for reference)")
    print(f"targets: bulk < 60 s -> {'met' if bulk_seconds < 60 and failed == 0 else 'MISSED'}; "
          f"SCIM >= 30% of the same writes in plain SQL -> {'met' if median_of(ratios) >= 0.30 else 'MISSED'}")


if __name__ == "__main__":
    main()
