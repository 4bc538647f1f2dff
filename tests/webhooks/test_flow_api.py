"""The endpoint's `maxInFlight` and `flow` in the management API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks.models import Endpoint, EndpointSlot

pytestmark = pytest.mark.django_db


def _url(api, suffix: str = "") -> str:  # noqa: ANN001
    return f"/api/v1/tenants/{api.tenant.slug}/webhooks{suffix}"


def test_an_endpoint_shows_its_cap_and_that_nothing_holds_it_back(api, receiver, allow_private):
    created = api.post(_url(api), {"url": receiver.url}, format="json").json()

    assert created["maxInFlight"] == 4
    assert created["flow"] == {
        "inFlight": 0,
        "waiting": 0,
        "consecutiveFailures": 0,
        "circuit": "closed",
        "nextProbeAt": None,
        "heldBack": False,
        "heldBackReason": None,
        "heldBackMessage": None,
    }


def test_max_in_flight_can_be_set_changed_and_reset_to_the_default(api, receiver, allow_private):
    created = api.post(_url(api), {"url": receiver.url, "maxInFlight": 2}, format="json").json()
    assert created["maxInFlight"] == 2

    changed = api.patch(_url(api, f"/{created['id']}"), {"maxInFlight": 8}, format="json")
    assert changed.status_code == 200 and changed.json()["maxInFlight"] == 8
    assert EndpointSlot.objects.filter(endpoint_id=created["id"]).count() == 8

    reset = api.patch(_url(api, f"/{created['id']}"), {"max_in_flight": None}, format="json")
    assert reset.json()["maxInFlight"] == 4

    # A representation sent back unchanged (flow included) changes nothing.
    echoed = api.put(_url(api, f"/{created['id']}"), reset.json(), format="json")
    assert echoed.status_code == 200


@pytest.mark.parametrize("value", [0, 65, -1, "many", True, 2.5])
def test_an_invalid_max_in_flight_is_refused(api, receiver, allow_private, value):
    answer = api.post(_url(api), {"url": receiver.url, "maxInFlight": value}, format="json")

    assert answer.status_code == 400
    assert answer.json()["error"]["details"]["field"] == "maxInFlight"
    assert not Endpoint.objects.exists()


def test_form_encoded_max_in_flight(api, receiver, allow_private):
    answer = api.post(_url(api), {"target_url": receiver.url, "max_in_flight": "3"})

    assert answer.status_code == 201 and answer.json()["maxInFlight"] == 3


def test_the_list_says_which_endpoint_is_held_back_and_why(api, receiver, allow_private, settings):
    held = make_endpoint(api.tenant, receiver.url)
    make_endpoint(api.tenant, receiver.url)
    make_learner(api.tenant, 1)
    probe_at = timezone.now() + timedelta(minutes=2)
    Endpoint.objects.filter(pk=held.pk).update(
        consecutive_failures=3, circuit_open_until=probe_at, circuit_reason="3 consecutive attempts without an answer"
    )

    rows = {row["id"]: row["flow"] for row in api.get(_url(api)).json()["data"]}

    assert rows[held.pk]["heldBack"] and rows[held.pk]["heldBackReason"] == "circuit_open"
    assert rows[held.pk]["circuit"] == "open" and rows[held.pk]["waiting"] == 1
    assert rows[held.pk]["nextProbeAt"].startswith(probe_at.strftime("%Y-%m-%dT%H:%M"))
    assert [flow["heldBack"] for pk, flow in rows.items() if pk != held.pk] == [False]


def test_the_openapi_document_describes_the_flow(api):
    schema = api.get("/api/v1/openapi.json").json()

    output = schema["components"]["schemas"]["EndpointOutput"]["properties"]
    assert "maxInFlight" in output and "flow" in output
