"""An endpoint deleted while one of its deliveries is in flight: the delivery ends cleanly, nothing is re-sent."""

from __future__ import annotations

import logging
import threading

import pytest

from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks import services
from webhooks.engine import transport
from webhooks.engine.delivery import send as send_delivery
from webhooks.models import Attempt, Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db(transaction=True)


def _deleting_transport(status_code: int | None):  # noqa: ANN202
    """A transport whose receiver answers only after the endpoint was deleted."""
    calls = []

    def post(url: str, *, body: bytes, headers: dict, auth=None) -> transport.HttpResult:  # noqa: ANN001
        calls.append(url)
        services.endpoint_delete(endpoint=Endpoint.objects.get())
        error = "" if status_code else "ConnectionError: reset"
        return transport.HttpResult(status_code, {}, "", error, 12)

    return post, calls


@pytest.mark.parametrize("status_code", [200, 503, None], ids=["answered", "failed", "no-answer"])
def test_delivery_of_an_endpoint_deleted_in_flight_ends_without_error(
    tenant, receiver, allow_private, stub_broker, monkeypatch, caplog, status_code
):
    make_endpoint(tenant, receiver.url)
    make_learner(tenant)
    delivery = Delivery.objects.get()
    stub_broker.flush_all()
    post, calls = _deleting_transport(status_code)
    monkeypatch.setattr(transport, "post", post)

    with caplog.at_level(logging.INFO, logger="skillhub.webhooks"):
        attempt = send_delivery(delivery_id=delivery.pk)

    assert calls == [receiver.url]
    assert attempt is not None and attempt.status_code == status_code  # the answer goes back to the caller, not stored
    assert not Endpoint.objects.exists() and not Delivery.objects.exists() and not Attempt.objects.exists()
    assert Event.objects.count() == 1  # the event itself stays for other endpoints
    assert all(queue.qsize() == 0 for queue in stub_broker.queues.values())  # no retry enqueued
    assert "Traceback" not in caplog.text and "deleted or reclaimed while in flight" in caplog.text
    # A later pass finds nothing to send again.
    assert send_delivery(delivery_id=delivery.pk) is None


@pytest.mark.postgres
def test_deleting_an_endpoint_while_a_worker_records_its_attempt_never_fails_either_side(tenant, allow_private, monkeypatch):
    # The worker records its attempt while another connection deletes the endpoint: whichever
    # comes first, neither raises, and no attempt or delivery of the endpoint is left.
    from django.db import connection

    make_endpoint(tenant, "http://127.0.0.1:9/unused")
    make_learner(tenant)
    delivery = Delivery.objects.get()
    deleting = threading.Event()
    errors: list[BaseException] = []

    def post(url: str, *, body: bytes, headers: dict, auth=None) -> transport.HttpResult:  # noqa: ANN001
        deleting.set()
        return transport.HttpResult(200, {}, "", "", 5)

    def delete() -> None:
        deleting.wait(10)
        try:
            services.endpoint_delete(endpoint=Endpoint.objects.get())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    monkeypatch.setattr(transport, "post", post)
    deleter = threading.Thread(target=delete)
    deleter.start()
    send_delivery(delivery_id=delivery.pk)
    deleter.join(20)

    assert errors == []
    assert not Endpoint.objects.exists() and not Delivery.objects.exists() and not Attempt.objects.exists()
