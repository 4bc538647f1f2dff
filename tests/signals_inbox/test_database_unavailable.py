"""The signal webhook while the database is away: 503 + Retry-After (never 500), and a connection that died is replaced."""
from __future__ import annotations

import psycopg
import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from signals_inbox.models import Signal
from skillhub import localcache
from tests.signals_inbox.factories import post_signal, signal_body


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["secrets", "ingest"])
def test_a_database_that_does_not_answer_is_a_503_with_retry_after(client, tenant, secret, monkeypatch, where):
    def unavailable(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OperationalError("connection refused")

    if where == "secrets":  # the secrets are not cached yet: verifying the signature needs the database
        monkeypatch.setattr("signals_inbox.verification.signal_secrets_for_slug", unavailable)
    else:
        monkeypatch.setattr("signals_inbox.webhook.signal_ingest", unavailable)

    response = post_signal(client, tenant.slug, signal_body(email="j@acme.com", topic="WAH"), secret=secret)

    assert response.status_code == 503
    assert response.json() == {"error": "unavailable"} and int(response["Retry-After"]) >= 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_first_signal_after_a_database_restart_is_recorded(client, tenant, secret):
    # The web process's persistent connection dies with the server (here: its backend is terminated).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"] or None,
        dbname=s["NAME"], autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    cache.clear()
    localcache.clear()  # nothing cached: the first query of the request meets the dead connection

    response = post_signal(client, tenant.slug, signal_body(email="j@acme.com", topic="WAH"), secret=secret)

    assert response.status_code == 200, response.content
    assert Signal.objects.filter(pk=response.json()["signalId"]).exists()
