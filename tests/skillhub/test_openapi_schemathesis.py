"""The API's own contract, checked by Schemathesis over the whole OpenAPI document.

Every operation gets generated requests, valid and invalid, through the WSGI application (no
network: the webhook transport and name resolution are replaced), with a tenant admin key (a
staff token for the admin API) on a tenant seeded with one of everything, so real ids are
exercised too. Every answer must be a documented status with a conforming body, and none a 5xx.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings

from learning.services import assignment_create, learner_create
from signals_inbox.parsing import parse_signal
from signals_inbox.services import signal_ingest, signal_reject
from tenants.services import staff_token_create
from tests.factories import TenantFactory, make_api_key
from tests.signals_inbox.factories import published_course, signal_body
from webhooks import services as webhook_services
from webhooks.engine import transport
from webhooks.models import Delivery

pytestmark = pytest.mark.slow

SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.specs.openapi.checks.status_code_conformance,
    schemathesis.specs.openapi.checks.content_type_conformance,
    schemathesis.specs.openapi.checks.response_schema_conformance,
]
PUBLIC_ADDRESS = "93.184.215.14"
# Every other example of an operation uses the seeded ids; the rest keep the generated ones.
_turn = itertools.count()
_requests: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None and _requests:
        with capture.global_and_fixture_disabled():
            print(f"\nschemathesis: {len(_requests)} operations, {sum(_requests.values())} requests")


@dataclass
class World:
    ids: dict[str, str]
    api_headers: dict[str, str]
    admin_headers: dict[str, str]


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(transport, "resolve", lambda host, port: [PUBLIC_ADDRESS])
    monkeypatch.setattr(transport, "post", lambda url, **kwargs: transport.HttpResult(200, {}, "ok", "", 3))
    tenant = TenantFactory(slug="schemathesis")
    endpoint = webhook_services.endpoint_create(tenant=tenant, values={"url": f"https://{PUBLIC_ADDRESS}/hook"})
    learner = learner_create(tenant=tenant, values={"first_name": "Thabo", "last_name": "Mokoena", "email": "t@example.com"})
    course = published_course(tenant, title="Working at Heights", topic="Working at Heights")
    assignment, _ = assignment_create(tenant=tenant, learner=learner, course=course, due_date=None, assigned_by="test")
    ingested = signal_ingest(
        tenant_id=tenant.pk, parsed=parse_signal(signal_body(email="t@example.com", topic="First Aid"), {})
    )
    rejected = signal_reject(tenant_id=tenant.pk, body=b'{"event": 1}', reason="event must be text")
    staff = get_user_model().objects.create_superuser(username="schemathesis", email="s@example.com", password="x")
    # Requests go through the WSGI handler inside the test's transaction: keep its connection open,
    # as Django's own test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield World(
        ids={
            "slug": tenant.slug,
            "learner_id": str(learner.pk),
            "course_id": str(course.pk),
            "assignment_id": str(assignment.pk),
            "endpoint_id": endpoint.pk,
            "delivery_id": Delivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True).first(),
            "need_id": str(ingested.need_id),
            "signal_id": ingested.signal_id,
            "rejected_id": str(rejected.pk),
        },
        api_headers={"Authorization": f"Bearer {make_api_key(tenant)}"},
        admin_headers={"Authorization": f"Bearer {staff_token_create(user=staff, name='schemathesis')[1]}"},
    )
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@SCHEMA.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, world: World) -> None:
    for name in list(case.path_parameters or {}):
        if name in world.ids and (name == "slug" or next(_turn) % 2 == 0):
            case.path_parameters[name] = world.ids[name]
    headers = world.admin_headers if case.path.startswith("/api/v1/admin/") else world.api_headers
    _requests[case.operation.label] += 1
    case.call_and_validate(headers=headers, checks=CHECKS)
