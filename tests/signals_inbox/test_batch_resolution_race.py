"""On PostgreSQL: workers racing over one backlog resolve each signal once; a killed worker's batch is taken over."""
from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from learning.models import Learner
from learning.topics import topic_key
from signals_inbox.models import Need, NeedStatus, Signal, Target, new_signal_id
from signals_inbox.services import resolution, signal_resolve, signals_resolve_batch
from tests.factories import TenantFactory
from tests.signals_inbox.factories import published_course
from webhooks.models import Event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SIGNALS = 20_000
NEEDS = 12_000


def _backlog(tenant, signals: int, needs: int) -> None:  # noqa: ANN001
    """Write needs and signals as ingest leaves them, unresolved: workers by id and e-mail, cohorts, unknown workers."""
    Learner.objects.bulk_create(
        [Learner(tenant=tenant, first_name="F", last_name=f"L{n}", email=f"w{n}@race.example", external_worker_id=f"W-{n}") for n in range(500)]
    )
    published_course(tenant, title="Heights", topic="Working at Heights")
    now = timezone.now()
    topics = ["Working at Heights", "working at height", "Hot Work", "First Aid"]
    refs = lambda n: [("external_worker_id", f"W-{n % 500}"), ("email", f"w{n % 500}@race.example"), ("", ""), ("external_worker_id", f"X-{n}")][n % 4]  # noqa: E731
    rows = []
    for n in range(needs):
        kind, value = refs(n)
        topic = topics[n % 4]
        rows.append(
            Need(tenant=tenant, dedupe_key=f"race:{n}", type="incident", topic=topic, topic_key=topic_key(topic),
                 worker_ref=f"{kind}:{value}" if kind else "", site_name="" if kind else "Site A",
                 first_seen_at=now, last_seen_at=now, created_at=now, updated_at=now)
        )  # fmt: skip
    Need.objects.bulk_create(rows, batch_size=2000)
    signal_rows = []
    for n in range(signals):
        need = rows[n % needs]
        kind, value = refs(n % needs)
        data = {kind: value, "topic": need.topic} if kind else {"site": "Site A", "topic": need.topic}
        signal_rows.append(
            Signal(id=new_signal_id(), tenant=tenant, need=need, deduped=n >= needs, event="signal.incident", type="incident", data=data, received_at=now)
        )
    Signal.objects.bulk_create(signal_rows, batch_size=2000)


def test_four_workers_and_a_single_signal_path_racing_resolve_each_signal_and_need_once():
    tenant = TenantFactory()
    _backlog(tenant, SIGNALS, NEEDS)
    ids = list(Signal.objects.values_list("pk", flat=True))
    claimed: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def worker() -> None:
        try:
            while True:
                outcome = signals_resolve_batch(limit=250)
                claimed.append(outcome.claimed)
                assert not outcome.failed
                if outcome.claimed == 0:
                    return
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)
        finally:
            connection.close()

    def single_path() -> None:  # retries and one-off messages race the batches on the same rows
        try:
            while not done.is_set():
                claimed.append(int(signal_resolve(signal_id=random.choice(ids))))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    single = threading.Thread(target=single_path)
    for thread in [*threads, single]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    single.join(timeout=30)
    assert not errors, errors
    assert time.monotonic() - began < 60

    assert sum(claimed) == SIGNALS  # every claim took signals nobody else had
    assert not Signal.objects.filter(resolved_at__isnull=True).exists()
    assert not Need.objects.filter(resolved_at__isnull=True).exists()
    created = Event.objects.filter(tenant=tenant, type="need.created")
    assert created.count() == NEEDS
    assert created.values("subject_id").distinct().count() == NEEDS
    assert Need.objects.filter(target=Target.WORKER).count() == NEEDS // 2
    assert Need.objects.filter(target=Target.UNMATCHED).count() == NEEDS // 4
    assert Need.objects.filter(recommended_course__isnull=False).count() == NEEDS // 2  # exact and tolerant
    assert Need.objects.filter(status=NeedStatus.OPEN).count() == NEEDS


def test_the_batch_of_a_killed_worker_is_taken_over():
    tenant = TenantFactory()
    _backlog(tenant, 300, 300)
    holding, killed = threading.Event(), threading.Event()
    pid: list[int] = []
    failures: list[Exception] = []

    def doomed_worker() -> None:
        try:
            with transaction.atomic():
                pid.append(connection.connection.info.backend_pid)
                held = resolution._claim(signal_ids=None, limit=100, now=timezone.now())
                assert len(held) == 100
                holding.set()
                killed.wait(30)  # its session is terminated meanwhile; the commit then fails
        except Exception as exc:  # noqa: BLE001  (its connection is terminated under it)
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=doomed_worker)
    thread.start()
    assert holding.wait(10), failures

    assert signals_resolve_batch(limit=1000).claimed == 200  # the held 100 are skipped, not waited for
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", pid)
    killed.set()
    thread.join(timeout=40)

    assert signals_resolve_batch(limit=1000).claimed == 100
    assert not Signal.objects.filter(resolved_at__isnull=True).exists()
    assert Event.objects.filter(type="need.created").count() == 300
