"""The assignment lifecycle sweep on PostgreSQL: one sweep over 100,000 and 1,000,000 assignments, 10,000 of them due.

Each round resets the 10,000 due assignments to live and runs one sweep in a fresh process, timing it
and reading the process's peak RSS. The sweep must take under 5 s (batched, driven by the partial
index on live due dates) and its peak RSS must be the same at both sizes.

Run: make bench-expiry   (or .venv/bin/python bench/assignment_expiry.py [--sizes 100000,1000000] [--due 10000] [--rounds 3])
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, bench_env, ensure_database, median_of, progress  # noqa: E402

DATABASE = "skillhub_bench_expiry"
COURSES = 10
DUE_SOURCE = "bench-due"


def _tenant():  # noqa: ANN202
    from tenants.models import Plan
    from tenants.services import tenant_create

    return tenant_create(slug="bench-expiry", name="Bench expiry", plan=Plan.ENTERPRISE)[0]


def seed(total: int, due: int) -> None:
    """Grow the bench tenant to `total` assignments, `due` of them live and past due; the rest completed or due later."""
    import psycopg
    from django.utils import timezone

    from learning.models import Assignment, Course, Learner
    from learning.services import course_create, course_publish
    from skillhub.ids import uuid7

    tenant = _tenant()
    courses = list(Course.objects.filter(tenant=tenant).order_by("title").values_list("pk", flat=True))
    for n in range(len(courses), COURSES):
        courses.append(course_publish(course=course_create(tenant=tenant, title=f"Bench course {n:02d}")).pk)
    have = Assignment.objects.filter(tenant=tenant).count()
    if have >= total:
        _top_up_due(tenant, due)
        return
    learners_have = Learner.objects.filter(tenant=tenant).count()
    learners_needed = -(-total // COURSES)
    today = timezone.localdate()
    started = time.time()
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url) as raw:
        if learners_have < learners_needed:
            with raw.cursor() as cursor, cursor.copy(
                "COPY learning_learner (id, tenant_id, first_name, last_name, email, external_worker_id, sa_id_number, role, status, "
                "group_ids, created_at, updated_at) FROM STDIN"
            ) as copy:
                for n in range(learners_have, learners_needed):
                    copy.write_row((uuid7(), tenant.pk, f"F{n}", f"L{n}", f"l{n}@bench.example", f"W-{n}", "", "", "active", "[]",
                                    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
            raw.commit()
        learners = [row[0] for row in raw.execute("SELECT id FROM learning_learner WHERE tenant_id = %s ORDER BY id", (tenant.pk,))]
        due_have = Assignment.objects.filter(tenant=tenant, source=DUE_SOURCE).count()
        columns = "id, tenant_id, learner_id, course_id, due_date, status, source, assigned_by, started_at, completed_at, created_at, updated_at"
        batch = 100_000
        for start in range(have, total, batch):
            with raw.cursor() as cursor, cursor.copy(f"COPY learning_assignment ({columns}) FROM STDIN") as copy:
                for n in range(start, min(start + batch, total)):
                    learner, course = learners[n // COURSES], courses[n % COURSES]
                    if due_have < due and n % 9 == 0:
                        due_have += 1
                        row = (learner, course, today - timedelta(days=n % 300 + 1), "assigned", DUE_SOURCE, None, None)
                    elif n % 20 == 1:  # live, due months from now: in the index, outside every window
                        row = (learner, course, today + timedelta(days=60 + n % 300), "started", "", "2026-01-02T00:00:00Z", None)
                    else:
                        row = (learner, course, today - timedelta(days=n % 700), "completed", "", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z")
                    due_date, state, source, started_at, completed_at = row[2:]
                    copy.write_row((uuid7(), tenant.pk, row[0], row[1], due_date, state, source, "", started_at, completed_at,
                                    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
            raw.commit()
            progress(f"seeding assignments to {total:,}", min(start + batch, total) - have, total - have, started)
    _top_up_due(tenant, due)


def _top_up_due(tenant, due: int) -> None:  # noqa: ANN001
    """Turn completed assignments into due ones until `due` of them exist (a database seeded with a smaller --due)."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as raw:
        have = raw.execute("SELECT count(*) FROM learning_assignment WHERE tenant_id = %s AND source = %s", (tenant.pk, DUE_SOURCE)).fetchone()[0]
        if have < due:
            raw.execute(
                "UPDATE learning_assignment SET status = 'assigned', source = %s, completed_at = NULL, started_at = NULL, "
                "due_date = CURRENT_DATE - 5 WHERE id IN (SELECT id FROM learning_assignment WHERE tenant_id = %s "
                "AND status = 'completed' ORDER BY id LIMIT %s)",
                (DUE_SOURCE, tenant.pk, due - have),
            )


def reset(due: int) -> None:
    """Make the due assignments live again and forget their events, so every round finds the same work."""
    import psycopg

    tenant = _tenant()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as raw:
        raw.execute(
            "UPDATE learning_assignment SET status = 'assigned' WHERE tenant_id = %s AND source = %s AND status <> 'assigned'",
            (tenant.pk, DUE_SOURCE),
        )
        raw.execute("DELETE FROM webhooks_event WHERE tenant_id = %s", (tenant.pk,))
        raw.execute("VACUUM ANALYZE learning_assignment")
        raw.execute("VACUUM ANALYZE webhooks_event")


def _high_water_kb() -> int:
    """This process's peak RSS (VmHWM: reset by exec, unlike ru_maxrss, which a child inherits from its parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def sweep_once() -> None:
    """Run one sweep in this process and print its time, what it did and the peak RSS (child mode)."""
    import django

    django.setup()
    from learning.training.services.lifecycle import assignments_sweep

    baseline = _high_water_kb()
    last = [0.0]

    def report(kind: str, count: int) -> None:
        if time.time() - last[0] > 0.5:
            last[0] = time.time()
            sys.stderr.write(f"\r    sweeping: {count:,} {kind}   ")
            sys.stderr.flush()

    started = time.perf_counter()
    result = assignments_sweep(progress=report)
    seconds = time.perf_counter() - started
    sys.stderr.write("\r" + " " * 40 + "\r")
    peak = _high_water_kb()
    print(json.dumps({"seconds": seconds, "expired": result.expired, "expiring": result.expiring, "baseline_kb": baseline, "peak_kb": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated assignment counts, smallest first")
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--sweep-once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_once:
        sweep_once()
        return

    ensure_database(args.database)
    env = bench_env(args.database)
    os.environ.update(env)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"== assignment expiry sweep: {', '.join(f'{s:,}' for s in sizes)} assignments, {args.due:,} due, PostgreSQL ==")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    results: dict[int, list[dict]] = {}
    for size in sizes:
        seed(size, args.due)
        results[size] = []
        for round_no in range(1, args.rounds + 1):
            reset(args.due)
            out = subprocess.run(
                [sys.executable, __file__, "--sweep-once", "--database", args.database], cwd=ROOT, env=env, check=True,
                stdout=subprocess.PIPE, text=True,
            ).stdout
            run = json.loads(out.strip().splitlines()[-1])
            if run["expired"] != args.due:
                raise SystemExit(f"the sweep expired {run['expired']:,}, expected {args.due:,}")
            results[size].append(run)
            print(f"  {size:>9,} assignments  round {round_no}/{args.rounds}  {run['seconds']:6.2f} s  "
                  f"expired {run['expired']:,}  peak RSS {run['peak_kb'] / 1024:6.1f} MiB (at start {run['baseline_kb'] / 1024:.1f})")

    print()
    print(f"{'assignments':>12} {'due':>8} {'median s':>9} {'rows/s':>9} {'peak RSS MiB':>13} {'RSS growth MiB':>15}")
    medians = {}
    for size, runs in results.items():
        seconds = median_of([r["seconds"] for r in runs])
        peak = median_of([r["peak_kb"] for r in runs]) / 1024
        growth = median_of([(r["peak_kb"] - r["baseline_kb"]) for r in runs]) / 1024
        medians[size] = (seconds, peak)
        print(f"{size:>12,} {args.due:>8,} {seconds:9.2f} {args.due / seconds:9,.0f} {peak:13.1f} {growth:15.1f}")
    small, large = sizes[0], sizes[-1]
    time_ratio = medians[large][0] / medians[small][0]
    rss_ratio = medians[large][1] / medians[small][1]
    print(f"ratios {large:,} / {small:,}: time x{time_ratio:.2f}, peak RSS x{rss_ratio:.2f}")
    print(f"targets: sweep < 5 s at {large:,} -> {'met' if medians[large][0] < 5 else 'MISSED'}; "
          f"peak RSS flat (within 10%) -> {'met' if rss_ratio < 1.10 else 'MISSED'}")


if __name__ == "__main__":
    main()
