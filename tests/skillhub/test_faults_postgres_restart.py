"""PostgreSQL stopped for 10 s and started again under `manage.py serve`: ingest and the API say 503 + Retry-After, then 200; nothing lost.

A real process tree on a PostgreSQL cluster of the test's own. An HR system sends one signal
after another, re-sending a data point until it is answered 200 (what Retry-After asks).
While the database is down every answer must be 503 with Retry-After, never a 500; the first
answers after it is back must be 200 (no stale connection answering 500); every data point
answered 200 is stored, once.
"""
from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.skillhub.faults import signed_signal
from tests.skillhub.serving import demo_env, serve

# Scaled-out faults: they run in the PostgreSQL pass (on a cluster of their own), once per CI run.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.pg_ctl]

OUTAGE_SECONDS = 10


def test_ingest_answers_503_while_postgres_is_down_and_loses_nothing(tmp_path, own_postgres, static_root):
    own_postgres.execute("CREATE DATABASE skillhub")
    env = demo_env(
        tmp_path, DATABASE_URL=own_postgres.url("skillhub"), SECRET_KEY="fault-tests", SKILLHUB_STATIC_ROOT=str(static_root)
    )
    with serve(tmp_path, env) as served:
        secret = served.credentials["signalSecret"]
        url = f"{served.base}/api/v1/integration/demo/webhook"
        answers: list[tuple[float, int, str | None]] = []
        accepted: set[int] = set()
        stop = threading.Event()

        def sender() -> None:
            n = 0
            while not stop.is_set():
                body, headers = signed_signal(secret, n)
                at = time.monotonic()
                try:
                    response = requests.post(url, data=body, headers=headers, timeout=15)
                    status, retry_after = response.status_code, response.headers.get("Retry-After")
                except requests.RequestException:
                    status, retry_after = 0, None
                answers.append((at, status, retry_after))
                if status == 200:
                    accepted.add(n)
                    n += 1  # the next data point; anything else is sent again
                time.sleep(0.05)

        api_answers: list[tuple[float, int, str | None]] = []
        learners = f"{served.base}/api/v1/tenants/demo/learners?limit=5"
        auth = {"Authorization": f"Bearer {served.credentials['apiKey']}"}

        def reader() -> None:
            while not stop.is_set():
                at = time.monotonic()
                try:
                    response = requests.get(learners, headers=auth, timeout=15)
                    api_answers.append((at, response.status_code, response.headers.get("Retry-After")))
                except requests.RequestException:
                    api_answers.append((at, 0, None))
                time.sleep(0.2)

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        api_thread = threading.Thread(target=reader, daemon=True)
        api_thread.start()
        time.sleep(3)
        own_postgres.stop("fast")
        down_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        up_at = time.monotonic()
        own_postgres.start()
        back_at = time.monotonic()
        time.sleep(5)
        stop.set()
        thread.join(30)
        api_thread.join(30)

    before = [status for at, status, _ in answers if at < down_at - 0.5]
    during = [(status, retry) for at, status, retry in answers if down_at + 0.5 <= at < up_at]
    after = [status for at, status, _ in answers if at >= back_at]
    assert before and set(before) == {200}
    assert during and all(status == 503 and retry and int(retry) >= 1 for status, retry in during), during
    assert after and after[0] == 200 and set(after) == {200}, after[:10]
    assert 500 not in {status for _, status, _ in answers}
    api_during = [(status, retry) for at, status, retry in api_answers if down_at + 0.5 <= at < up_at]
    assert api_during and all(status == 503 and retry for status, retry in api_during), api_during
    assert [status for at, status, _ in api_answers if at >= back_at + 1][-3:] == [200, 200, 200]
    assert 500 not in {status for _, status, _ in api_answers}
    stored = own_postgres.execute(
        "SELECT count(*), count(DISTINCT n.dedupe_key) FROM signals_inbox_signal s "
        "JOIN signals_inbox_need n ON n.id = s.need_id WHERE n.dedupe_key LIKE 'fault-%'",
        database="skillhub",
    )[0]
    assert stored == (len(accepted), len(accepted))  # every accepted data point stored, once
    print(
        f"\npostgres restart: {len(before)} answers before, {len(during)} during ({OUTAGE_SECONDS} s; all 503 + Retry-After), "
        f"{len(after)} after (first: {after[0]}); {len(accepted)} signals accepted, {stored[0]} stored, 0 lost"
    )
