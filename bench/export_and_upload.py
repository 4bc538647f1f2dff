"""Exports and uploads on PostgreSQL: a 1,000,000-learner export end to end, worker memory, upload memory.

- export: POST /exports through gunicorn, a `rundramatiq` worker (Redis broker) writes it, the
  client follows GET /exports/{id} until it is done, then downloads it. Timed end to end
  (target < 60 s for 1,000,000 learners).
- worker memory: peak RSS (VmHWM) of a fresh worker process after exporting 100,000 rows and
  after exporting 1,000,000 rows (target: the same within 20 MB).
- upload: peak RSS of a fresh gunicorn web process before and after one 25 MiB evidence upload
  (target: rises by less than 10 MB).

Run: make bench-exports   (or .venv/bin/python bench/export_and_upload.py [--learners N] [--rounds R])
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, Server, bench_env, ensure_database, median_of, progress  # noqa: E402

DATABASE = os.environ.get("BENCH_EXPORTS_DATABASE", "skillhub_bench_exports")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/10")
MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR"


def seed(slug: str, learners: int) -> tuple[str, str]:
    """Make sure tenant `slug` has `learners` learners (COPY); return (slug, an admin API key)."""
    import django

    django.setup()
    import psycopg

    from learning.models import Learner
    from learning.services import learner_count_recompute
    from skillhub.ids import uuid7
    from tenants.models import SCOPES, Plan, Role
    from tenants.services import api_key_create, site_get_or_create, tenant_create

    tenant, _ = tenant_create(slug=slug, name=slug, plan=Plan.ENTERPRISE)
    tenant.rate_limit_per_minute = 100_000_000
    tenant.rate_limit_per_day = 1_000_000_000
    tenant.save()
    sites = [site_get_or_create(tenant=tenant, name=f"Site {n}").pk for n in range(10)]
    have = Learner.objects.filter(tenant=tenant).count()
    if have < learners:
        started, missing, done = time.time(), learners - have, 0
        columns = "id, tenant_id, first_name, last_name, email, external_worker_id, sa_id_number, site_id, role, status, group_ids, created_at, updated_at"
        with psycopg.connect(os.environ["DATABASE_URL"]) as raw:
            while done < missing:
                size = min(50_000, missing - done)
                with raw.cursor() as cursor, cursor.copy(f"COPY learning_learner ({columns}) FROM STDIN") as copy:
                    for n in range(have + done, have + done + size):
                        copy.write_row((
                            uuid7(), tenant.pk, f"First{n}", f"Last{n}", f"{slug}{n}@bench.example", f"W-{n}", "",
                            sites[n % 10], "Operator", "active", "[]", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
                        ))
                raw.commit()
                done += size
                progress(f"seeding {slug}", done, missing, started)
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as raw:
            raw.execute("VACUUM ANALYZE learning_learner")
    learner_count_recompute(tenant=tenant)
    return slug, api_key_create(tenant=tenant, name="bench", role=Role.ADMIN, scopes=list(SCOPES)).raw_key


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def peak_rss_mb(pid: int) -> float:
    """Return a process's peak resident set size (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


class Worker:
    """`manage.py rundramatiq --processes 1 --threads 1`: one fresh worker process to measure."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Worker:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1", "--queues", "exports"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        return self

    def peak_rss_mb(self) -> float:
        assert self.process is not None
        # The dramatiq supervisor forks the worker; the worker is the process that did the export.
        return max(peak_rss_mb(pid) for pid in [self.process.pid, *_descendants(self.process.pid)])

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def _request(port: int, method: str, path: str, key: str, body: bytes | None = None, content_type: str = "application/json") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Authorization": f"Bearer {key}"}
    if body is not None:
        headers["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def export_end_to_end(port: int, slug: str, key: str, label: str) -> tuple[float, float, int]:
    """Request an export, follow its progress until done, download it; return (seconds to ready, download s, rows)."""
    base = f"/api/v1/tenants/{slug}/exports"
    started = time.time()
    status, body = _request(port, "POST", base, key, json.dumps({"kind": "learners", "format": "csv"}).encode())
    assert status == 202, body[:300]
    export_id = json.loads(body)["id"]
    while True:
        time.sleep(0.25)
        export = json.loads(_request(port, "GET", f"{base}/{export_id}", key)[1])
        progress(label, export["progress"]["rows"], export["progress"]["total"] or 1, started)
        if export["status"] == "done":
            break
        if export["status"] == "failed":
            raise SystemExit(f"export failed: {export['error']}")
    ready = time.time() - started
    began = time.time()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", f"{base}/{export_id}/download", headers={"Authorization": f"Bearer {key}"})
    response = conn.getresponse()
    lines = 0
    while chunk := response.read(1024 * 1024):
        lines += chunk.count(b"\n")
    conn.close()
    return ready, time.time() - began, lines - 1


def _multipart(learner_id: str, size: int) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="learnerId"\r\n\r\n{learner_id}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nSite photo\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    content = PNG + b"\x00" * (size - len(PNG))
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload_rise(env: dict[str, str], slug: str, key: str, size: int) -> tuple[float, float]:
    """Return (peak RSS MB of a warmed fresh web process, its rise after one upload of `size` bytes)."""
    with Server(env, workers=1) as server:
        status, body = _request(server.port, "GET", f"/api/v1/tenants/{slug}/learners?limit=1", key)
        learner_id = json.loads(body)["data"][0]["id"]
        for warm in (64 * 1024, MIB):  # load every code path (parser, temp file, storage) once
            payload, content_type = _multipart(learner_id, warm)
            assert _request(server.port, "POST", f"/api/v1/tenants/{slug}/evidence", key, payload, content_type)[0] == 201
        web = _descendants(server.process.pid)[0]
        before = peak_rss_mb(web)
        payload, content_type = _multipart(learner_id, size)
        status, body = _request(server.port, "POST", f"/api/v1/tenants/{slug}/evidence", key, payload, content_type)
        assert status == 201, body[:300]
        del payload
        return before, peak_rss_mb(web) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="rows of the smaller export for the memory comparison")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--upload-mib", type=int, default=25)
    parser.add_argument("--database", default=DATABASE)
    args = parser.parse_args()

    ensure_database(args.database)
    media = Path(os.environ.get("BENCH_MEDIA_ROOT", f"/tmp/{args.database}-media"))
    env = bench_env(args.database, DRAMATIQ_BROKER_URL=BROKER_URL, SKILLHUB_MEDIA_ROOT=str(media))
    os.environ.update(env)
    print(f"== exports and uploads: PostgreSQL, Redis broker, {os.cpu_count()} cores, medians of {args.rounds} rounds ==")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    big_slug, big_key = seed("bench-exports-big", args.learners)
    small_slug, small_key = seed("bench-exports-small", args.small)
    warm_slug, warm_key = seed("bench-exports-warm", 10)

    ready: list[float] = []
    download: list[float] = []
    rss_small: list[float] = []
    rss_big: list[float] = []
    rises: list[float] = []
    with Server(env, workers=2) as server:
        for round_no in range(1, args.rounds + 1):
            # Each measurement gets a fresh worker, first given a 10-row export: it is up, and its code is loaded.
            with Worker(env) as worker:
                export_end_to_end(server.port, warm_slug, warm_key, "warm-up")
                _, _, rows = export_end_to_end(server.port, small_slug, small_key, f"round {round_no} export {args.small:,}")
                assert rows == args.small, rows
                rss_small.append(worker.peak_rss_mb())
            with Worker(env) as worker:
                export_end_to_end(server.port, warm_slug, warm_key, "warm-up")
                seconds, fetch, rows = export_end_to_end(server.port, big_slug, big_key, f"round {round_no} export {args.learners:,}")
                assert rows == args.learners, rows
                rss_big.append(worker.peak_rss_mb())
            ready.append(seconds)
            download.append(fetch)
            print(f"  round {round_no}: {args.learners:,} rows ready in {seconds:.1f} s, downloaded in {fetch:.1f} s; "
                  f"worker peak RSS {rss_small[-1]:.0f} MB ({args.small:,}) vs {rss_big[-1]:.0f} MB ({args.learners:,})")
    for round_no in range(1, args.rounds + 1):
        before, rise = upload_rise(env, big_slug, big_key, args.upload_mib * MIB)
        rises.append(rise)
        print(f"  round {round_no}: web process peak RSS {before:.0f} MB, +{rise:.1f} MB after a {args.upload_mib} MiB upload")

    shutil.rmtree(media, ignore_errors=True)
    gap = median_of(rss_big) - median_of(rss_small)
    print()
    print(f"export of {args.learners:,} learners, request to ready (median): {median_of(ready):.1f} s (target < 60 s) -> "
          f"{'met' if median_of(ready) < 60 else 'MISSED'}; download {median_of(download):.1f} s; "
          f"{args.learners / median_of(ready):,.0f} rows/s")
    print(f"worker peak RSS (median): {median_of(rss_small):.0f} MB at {args.small:,} rows, {median_of(rss_big):.0f} MB at "
          f"{args.learners:,} rows: difference {gap:+.1f} MB, ratio {median_of(rss_big) / median_of(rss_small):.2f} "
          f"(target within 20 MB) -> {'met' if abs(gap) <= 20 else 'MISSED'}")
    print(f"web process peak RSS rise for a {args.upload_mib} MiB upload (median): {median_of(rises):.1f} MB "
          f"(target < 10 MB) -> {'met' if median_of(rises) < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
