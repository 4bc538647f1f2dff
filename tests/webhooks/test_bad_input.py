"""No input to the management API is a 500: random bodies and ids get a 4xx in the SPEC shape."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

FIELDS = [
    "url", "targetUrl", "target_url", "events", "event_type", "enabled", "active", "secret", "description",
    "basicAuthUsername", "basicAuthPassword", "additionalHeaders", "payloadStyle", "retryPolicy", "sendSecretHeader",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), JSON_VALUES, max_size=6))
def test_random_create_bodies_never_500(api, body):
    response = api.post(f"/api/v1/tenants/{api.tenant.slug}/webhooks", json.dumps(body), content_type="application/json")
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    Endpoint.objects.all().delete()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    endpoint_id=st.text(min_size=1, max_size=60).filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
    query=st.dictionaries(st.sampled_from(["limit", "offset", "cursor", "status", "eventType"]), st.text(max_size=20)),
)
def test_random_ids_and_query_parameters_never_500(api, endpoint_id, query):
    from urllib.parse import quote

    base = f"/api/v1/tenants/{api.tenant.slug}/webhooks"
    for path in (f"{base}/{quote(endpoint_id)}", f"{base}/{quote(endpoint_id)}/deliveries", base):
        response = api.get(path, query)
        assert response.status_code in (200, 400, 404), (path, query, response.content)
    for path in (f"{base}/{quote(endpoint_id)}/ping", f"{base}/deliveries/{quote(endpoint_id)}/retry"):
        assert api.post(path).status_code == 404


@pytest.mark.parametrize("field", ["description", "url", "basicAuthUsername", "additionalHeaders", "events"])
def test_nul_characters_are_a_validation_error(api, field):
    value = {"X-A": "a\x00b"} if field == "additionalHeaders" else ["learner.created\x00"] if field == "events" else "a\x00b"
    body = {"url": "https://93.184.215.14/hook", field: value}
    response = api.post(f"/api/v1/tenants/{api.tenant.slug}/webhooks", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field


def test_a_forged_cursor_is_a_validation_error(api):
    import base64

    import orjson

    for after in ("x\x00", "we_nothex", "' OR 1=1 --"):
        cursor = base64.urlsafe_b64encode(orjson.dumps({"a": after, "o": 1})).rstrip(b"=").decode()
        response = api.get(f"/api/v1/tenants/{api.tenant.slug}/webhooks", {"cursor": cursor})
        assert response.status_code == 400
        assert response.json()["error"]["details"]["field"] == "cursor"
