"""The event contract: every type's data is defined once, published as JSON Schema, and what is sent matches it."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings
from django.db import transaction
from standardwebhooks import Webhook

import tests.webhooks.contract as contract_package
from learning import models as learning_models
from signals_inbox import models as inbox_models
from tests.webhooks.conftest import Receiver, Reply
from tests.webhooks.contract import SCENARIOS, Context
from tests.webhooks.helpers import make_endpoint, make_learner, send_due
from webhooks import catalog
from webhooks.contract import core
from webhooks.contract.schema import EventDataMismatch
from webhooks.docs import stale_documents
from webhooks.openapi import full_body_schema, thin_body_schema
from webhooks.outbox import record_event

for module in pkgutil.iter_modules(contract_package.__path__):
    importlib.import_module(f"{contract_package.__name__}.{module.name}")

SENT = [item.name for item in catalog.EVENT_TYPES if item.sent]
# Part of the published contract but produced by nothing yet: a type added to the catalog ahead
# of its producer is listed here (and `sent=False` in the catalog) until a scenario sends it.
NOT_SENT_YET: set[str] = set()


def test_the_catalog_marks_exactly_the_types_nothing_sends_yet():
    assert {item.name for item in catalog.EVENT_TYPES if not item.sent} == NOT_SENT_YET


def test_every_sent_type_has_a_scenario_and_every_scenario_type_is_sent():
    assert set(SENT) == set(SCENARIOS)


def test_every_type_publishes_a_closed_object_schema():
    for item in catalog.EVENT_TYPES:
        schema = item.schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False, item.name
        jsonschema.Draft202012Validator.check_schema(schema)
        if item.subject:
            assert "id" in schema["required"], f"{item.name}: the subject's own id is `id`"


@pytest.mark.parametrize(
    ("literal", "choices"),
    [
        (core.LearnerStatus, learning_models.LearnerStatus),
        (core.AssignmentStatus, learning_models.AssignmentStatus),
        (core.NeedStatus, inbox_models.NeedStatus),
    ],
)
def test_contract_status_names_are_the_models_choices(literal, choices):
    assert set(literal.__args__) == set(choices.values)


@pytest.mark.django_db
def test_data_that_breaks_its_schema_is_refused_before_anything_is_written(tenant):
    learner = make_learner(tenant)
    from learning.events import learner_data
    from webhooks.models import Event

    good = learner_data(learner)
    before = Event.objects.count()
    for broken in ({k: v for k, v in good.items() if k != "email"}, {**good, "extra": 1}, {**good, "groups": "none"}):
        with pytest.raises(EventDataMismatch), transaction.atomic():
            record_event(tenant=tenant, event_type="learner.created", data=broken)
    assert Event.objects.count() == before


def test_the_readme_and_webhook_docs_tables_are_rendered_from_the_catalog():
    assert stale_documents(Path(settings.BASE_DIR)) == []


@pytest.mark.django_db
def test_openapi_lists_every_event_under_webhooks_with_its_data_schema(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["webhooks"]) == set(catalog.BY_NAME)
    for name, entry in document["webhooks"].items():
        body = entry["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["oneOf"][0]["properties"]["data"] == catalog.BY_NAME[name].schema


@pytest.fixture
def gone():
    """A second receiver that answers 410 Gone to everything: its endpoint is disabled at once."""
    server = Receiver()
    server.default = Reply(status=410, body=b"gone")
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _deliver_everything() -> None:
    # Delivering can record more events (endpoint.disabled); go on until nothing is pending.
    for _ in range(5):
        if not send_due():
            return


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", SENT)
def test_each_sent_type_is_delivered_signed_and_matching_its_schema(event_type, api, receiver, gone, allow_private):
    full = make_endpoint(api.tenant, receiver.url)
    thin = make_endpoint(api.tenant, receiver.url + "/thin", payload_style="thin")
    context = Context(api=api, tenant=api.tenant, state={"gone_url": gone.url})

    SCENARIOS[event_type](context)
    _deliver_everything()

    delivered = [r for r in receiver.requests if r.header("X-Skillhub-Event") == event_type]
    assert {r.path for r in delivered} >= {"/hooks", "/hooks/thin"}, f"{event_type} was not delivered in both styles"
    kind = catalog.BY_NAME[event_type]
    for request in delivered:
        endpoint = thin if request.path.endswith("/thin") else full
        body = Webhook(endpoint.secret).verify(request.body, request.headers)
        schema = thin_body_schema(kind) if endpoint is thin else full_body_schema(kind)
        jsonschema.validate(body, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
