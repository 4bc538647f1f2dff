"""Factories and helpers for signal-inbox tests: signed requests, courses, map entries."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import factory
from django.test import Client

from learning.models import Course
from learning.services import course_create, course_publish
from tenants.models import Tenant
from tenants.services import signal_secret_issue
from tests.factories import LearnerFactory, TenantFactory


def sign(secret: str, body: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of the body, as document 004 signs it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signal_body(event: str = "signal.credential_expiring", **data: Any) -> bytes:
    """Return a JSON signal body."""
    return json.dumps({"event": event, "data": data}).encode()


def post_signal(client: Client, slug: str, body: bytes, *, secret: str | None = None, signature: str | None = None):
    """POST a body to the signal webhook, signed with `secret` unless a signature is given."""
    headers = {}
    if signature is None and secret is not None:
        signature = sign(secret, body)
    if signature is not None:
        headers["HTTP_X_SKILLHUB_SIGNATURE"] = signature
    return client.post(f"/api/v1/integration/{slug}/webhook", data=body, content_type="application/json", **headers)


def issue_secret(tenant: Tenant) -> str:
    """Issue a signal secret for the tenant and return it."""
    return signal_secret_issue(tenant=tenant).secret


def published_course(tenant: Tenant, *, title: str, topic: str = "", category: str = "") -> Course:
    """Create and publish a course through the services."""
    return course_publish(course=course_create(tenant=tenant, title=title, topic=topic, category=category))


class CourseFactory(factory.django.DjangoModelFactory):
    """A draft course row; use published_course to get one the matcher sees."""

    class Meta:
        model = Course

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Course {n}")


__all__ = ["CourseFactory", "LearnerFactory", "TenantFactory", "issue_secret", "post_signal", "published_course", "sign", "signal_body"]


def send_and_resolve(client: Client, tenant: Tenant, secret: str, event: str = "signal.credential_expiring", **data: Any):
    """Send a signed signal, run its resolution as the actor would, and return the need."""
    from signals_inbox.models import Need, Signal
    from signals_inbox.services import signal_resolve

    response = post_signal(client, tenant.slug, signal_body(event, **data), secret=secret)
    assert response.status_code == 200, response.content
    signal_id = response.json()["signalId"]
    signal_resolve(signal_id=signal_id)
    return Need.objects.get(pk=Signal.objects.get(pk=signal_id).need_id)
