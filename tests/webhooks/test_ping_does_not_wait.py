"""`POST …/webhooks/{id}/ping` never holds a web thread while a slow receiver thinks: 202 at once, outcome in the log."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.webhooks.helpers import make_endpoint, send_due

pytestmark = pytest.mark.django_db

RECEIVER_DELAY = 3.0


@pytest.fixture
def slow_receiver():  # noqa: ANN201
    """A receiver that reads the request and answers 200 only after RECEIVER_DELAY seconds."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            if stop.wait(RECEIVER_DELAY):
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hooks"
    stop.set()
    server.close()


def test_ping_to_a_slow_receiver_answers_at_once_and_logs_the_outcome_later(api, slow_receiver, allow_private):
    endpoint = make_endpoint(api.tenant, slow_receiver)
    base = f"/api/v1/tenants/{api.tenant.slug}/webhooks"

    started = time.monotonic()
    response = api.post(f"{base}/{endpoint.pk}/ping")
    answered_in = time.monotonic() - started

    assert response.status_code == 202
    assert answered_in < 1.0
    delivery_id = response.json()["id"]
    assert api.get(f"{base}/deliveries/{delivery_id}").json()["attempts"] == []

    send_due()  # the worker's part: it, not the web thread, waits for the receiver

    logged = api.get(f"{base}/deliveries/{delivery_id}").json()
    assert logged["status"] == "succeeded"
    assert logged["attempts"][0]["statusCode"] == 200 and logged["attempts"][0]["durationMs"] >= RECEIVER_DELAY * 1000 - 100


def test_a_lost_ping_message_to_a_disabled_endpoint_is_sent_again_by_the_sweep(tenant, receiver, allow_private, stub_broker):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks import outbox, services
    from webhooks.models import Endpoint

    endpoint = make_endpoint(tenant, receiver.url)
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, deactivate_reason="by hand")
    services.endpoint_ping(endpoint=Endpoint.objects.get(pk=endpoint.pk))
    stub_broker.flush_all()  # the message is lost

    later = timezone.now() + outbox.ENQUEUE_GRACE + timedelta(seconds=1)

    assert outbox.deliveries_enqueue_due(now=later) == 1
