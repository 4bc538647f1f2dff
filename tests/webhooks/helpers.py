"""Helpers shared by the outbound-webhook tests."""

from __future__ import annotations

import hashlib
import threading
import hmac
from datetime import datetime
from typing import Any

from django.db import close_old_connections, connections

from learning.models import Assignment
from learning.services import assignment_create, course_create, course_publish, learner_create
from tenants.models import Tenant
from webhooks import outbox, services
from webhooks.engine.delivery import send as send_delivery
from webhooks.models import Attempt, Delivery, DeliveryState, Endpoint


def make_endpoint(tenant: Tenant, url: str, **values: Any) -> Endpoint:
    """Create an endpoint through the service."""
    return services.endpoint_create(tenant=tenant, values={"url": url, **values})


def make_learner(tenant: Tenant, n: int = 1) -> Any:
    """Create a learner through the service, which records `learner.created`."""
    return learner_create(
        tenant=tenant, values={"first_name": f"Thabo{n}", "last_name": "Mokoena", "email": f"t{n}@example.com"}
    )


def make_assignment(tenant: Tenant, n: int = 1) -> Assignment:
    """Assign a published course to a new learner through the services, which records `course.enrolled`."""
    course = course_publish(course=course_create(tenant=tenant, title=f"Course {n}"))
    assignment, _ = assignment_create(tenant=tenant, learner=make_learner(tenant, n), course=course)
    return assignment


def send_due(*, now: datetime | None = None) -> list[Attempt]:
    """Attempt every pending delivery once, in this thread (no broker), as a worker would."""
    attempts = []
    for delivery_id in Delivery.objects.filter(state=DeliveryState.PENDING).order_by("id").values_list("id", flat=True):
        attempt = send_delivery(delivery_id=delivery_id, now=now)
        if attempt is not None:
            attempts.append(attempt)
    return attempts


def hex_hmac(secret: str, body: bytes) -> str:
    """Recompute X-Skillhub-Signature the way a receiver would."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Sweeper:
    """The periodic due-deliveries sweep every 0.3 s in a thread (run_scheduler does it every 5 s)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.wait(0.3):
                close_old_connections()
                outbox.deliveries_enqueue_due()
        finally:
            connections.close_all()

    def __enter__(self) -> Sweeper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
