"""On PostgreSQL: identical signals racing in parallel threads make one need; different ones make one each."""
from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from signals_inbox.models import Need, Signal
from tests.factories import TenantFactory
from tests.signals_inbox.factories import issue_secret, sign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 50


def _race(slug: str, bodies: list[bytes], secret: str) -> list[dict]:
    barrier = threading.Barrier(len(bodies))
    answers: list[dict] = [{}] * len(bodies)

    def send(index: int, body: bytes) -> None:
        client = Client()
        try:
            barrier.wait()
            response = client.post(
                f"/api/v1/integration/{slug}/webhook", data=body, content_type="application/json",
                HTTP_X_SKILLHUB_SIGNATURE=sign(secret, body),
            )
            answers[index] = {"status": response.status_code, **response.json()}
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, body)) for i, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_fifty_identical_signals_create_one_need_and_one_undeduped_answer():
    tenant = TenantFactory()
    secret = issue_secret(tenant)
    body = json.dumps({"event": "signal.incident", "data": {"site": "Site A", "topic": "Manual Handling", "severity": 4}}).encode()

    answers = _race(tenant.slug, [body] * THREADS, secret)

    assert [a["status"] for a in answers] == [200] * THREADS
    assert sum(1 for a in answers if a["deduped"] is False) == 1
    assert Need.objects.filter(tenant=tenant).count() == 1
    assert Need.objects.get(tenant=tenant).signal_count == THREADS
    assert Signal.objects.filter(tenant=tenant).count() == THREADS
    assert Signal.objects.filter(tenant=tenant, deduped=False).count() == 1


def test_fifty_different_signals_create_fifty_needs():
    tenant = TenantFactory()
    secret = issue_secret(tenant)
    bodies = [
        json.dumps({"event": "signal.incident", "data": {"site": f"Site {i}", "topic": "Manual Handling"}}).encode()
        for i in range(THREADS)
    ]

    answers = _race(tenant.slug, bodies, secret)

    assert all(a["status"] == 200 and a["deduped"] is False for a in answers)
    assert Need.objects.filter(tenant=tenant).count() == THREADS


def test_after_dismissal_the_same_data_point_stays_closed_and_a_changed_one_opens_a_new_need():
    from signals_inbox.services import need_dismiss

    tenant = TenantFactory()
    secret = issue_secret(tenant)
    body = json.dumps({"event": "signal.incident", "data": {"site": "Site A", "topic": "Manual Handling"}}).encode()
    changed = json.dumps({"event": "signal.incident", "data": {"site": "Site A", "topic": "Manual Handling", "payload": {"n": 2}}}).encode()
    first = _race(tenant.slug, [body], secret)[0]
    need_dismiss(need=Need.objects.get(tenant=tenant), actor="test", reason="handled offline")

    resent = _race(tenant.slug, [body] * 4, secret)
    second = _race(tenant.slug, [changed], secret)[0]

    assert first["deduped"] is False
    assert [(a["deduped"], a["reason"]) for a in resent] == [(True, "closed_need_unchanged")] * 4
    assert (second["deduped"], second["reason"]) == (False, "closed_need_changed")
    assert Need.objects.filter(tenant=tenant).count() == 2


def test_a_dropped_database_connection_is_replaced_not_a_failed_signal():
    import psycopg
    from django.conf import settings

    tenant = TenantFactory()
    secret = issue_secret(tenant)
    body = json.dumps({"event": "signal.incident", "data": {"site": "Site A", "topic": "Manual Handling"}}).encode()
    client = Client()
    client.post(f"/api/v1/integration/{tenant.slug}/webhook", data=body, content_type="application/json", HTTP_X_SKILLHUB_SIGNATURE=sign(secret, body))
    backend_pid = connection.connection.info.backend_pid
    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"], autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))

    again = json.dumps({"event": "signal.incident", "data": {"site": "Site B", "topic": "Manual Handling"}}).encode()
    response = client.post(f"/api/v1/integration/{tenant.slug}/webhook", data=again, content_type="application/json", HTTP_X_SKILLHUB_SIGNATURE=sign(secret, again))

    assert response.status_code == 200, response.content
    assert Need.objects.filter(tenant=tenant).count() == 2
