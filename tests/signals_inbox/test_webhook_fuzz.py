"""Fuzz the webhook: whatever arrives, the answer is 400, 401 or 413 — never a 500 — and nothing is stored."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signals_inbox.models import Need, Signal
from tests.signals_inbox.factories import post_signal, sign

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
unknown_fields = st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda k: k not in ("event", "data")), json_values, max_size=3)


def _invalid_documents():
    """Documents each broken in at least one way the field table forbids (plus any unknown fields)."""
    bad_severity = st.one_of(st.integers().filter(lambda n: not 1 <= n <= 4), st.text(max_size=3), st.floats(allow_nan=False, allow_infinity=False), st.booleans())
    bad_text = st.one_of(st.integers(max_value=-1) | st.floats(allow_nan=False, allow_infinity=False), st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2), st.booleans())
    valid_data = st.fixed_dictionaries({"site": st.just("Site A"), "topic": st.just("Manual Handling")})
    return st.one_of(
        # wrong top-level shapes
        json_values.filter(lambda v: not isinstance(v, dict)),
        # event missing or not a signal
        st.builds(lambda extra, event: {**extra, "event": event, "data": {"site": "A", "topic": "T"}}, unknown_fields, st.one_of(st.none(), st.integers(), st.text(max_size=20).filter(lambda e: e != "signal" and not e.startswith("signal.")))),
        # data of the wrong type
        st.builds(lambda extra, data: {**extra, "event": "signal.incident", "data": data}, unknown_fields, json_values.filter(lambda v: not isinstance(v, dict) and v is not None) | st.just(None).map(lambda _: [])),
        # severity out of range or of the wrong type
        st.builds(lambda data, sev: {"event": "signal.incident", "data": {**data, "severity": sev}}, valid_data, bad_severity),
        # a text field of the wrong type
        st.builds(
            lambda data, field, value: {"event": "signal.incident", "data": {**data, field: value}},
            valid_data,
            st.sampled_from(["site", "topic", "category", "email", "dedupe_key", "type"]),
            bad_text,
        ),
        # huge strings in a limited field
        st.builds(lambda data, field, n: {"event": "signal.incident", "data": {**data, field: "x" * n}}, valid_data, st.sampled_from(["site", "topic", "category", "email", "dedupe_key", "external_worker_id"]), st.integers(min_value=255, max_value=5000)),
        # neither worker nor site
        st.builds(lambda extra: {"event": "signal.incident", "data": {"topic": "T", **{f"x_{k}": v for k, v in extra.items()}}}, unknown_fields),
    )


def _post(client, tenant, body: bytes, secret: str, signed: bool):
    return post_signal(client, tenant.slug, body, signature=sign(secret, body) if signed else "ab" * 32)


def _assert_refused_and_nothing_stored(response) -> None:
    assert response.status_code in (400, 401, 413), response.content
    assert response.json()["error"] in ("invalid_payload", "bad_signature", "payload_too_large")
    assert not Signal.objects.exists() and not Need.objects.exists()


@FUZZ
@given(body=st.binary(max_size=2000), signed=st.booleans())
def test_arbitrary_bytes_never_500(client, tenant, secret, body, signed):
    if signed and body.strip().startswith(b"{") and b"signal" in body:
        return  # (astronomically unlikely) a valid signal is not what this test is about
    _assert_refused_and_nothing_stored(_post(client, tenant, body, secret, signed))


@FUZZ
@given(document=_invalid_documents(), signed=st.booleans())
def test_invalid_documents_are_400_or_401(client, tenant, secret, document, signed):
    _assert_refused_and_nothing_stored(_post(client, tenant, json.dumps(document).encode(), secret, signed))


@FUZZ
@given(depth=st.integers(min_value=260, max_value=5000), signed=st.booleans())
def test_deep_json_is_refused(client, tenant, secret, depth, signed):
    body = b'{"event":"signal.incident","data":{"site":"A","topic":"T","payload":' + b"[" * depth + b"]" * depth + b"}}"
    _assert_refused_and_nothing_stored(_post(client, tenant, body, secret, signed))


@FUZZ
@given(size=st.integers(min_value=262_145, max_value=600_000), signed=st.booleans())
def test_huge_bodies_are_413(client, tenant, secret, size, signed):
    body = b'{"event":"signal.incident","data":{"site":"A","topic":"T","payload":"' + b"x" * size + b'"}}'
    response = _post(client, tenant, body, secret, signed)
    assert response.status_code == 413
    _assert_refused_and_nothing_stored(response)


def test_nul_characters_are_refused_not_500(client, tenant, secret):
    body = b'{"event":"signal.incident","data":{"site":"A","topic":"T","payload":{"note":"a\\u0000b"}}}'

    response = post_signal(client, tenant.slug, body, secret=secret)

    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_unknown_fields_are_kept_verbatim_on_a_valid_signal(client, tenant, secret):
    body = json.dumps({"event": "signal.incident", "extra": 1, "data": {"site": "A", "topic": "T", "source_system": "SAP"}}).encode()

    response = post_signal(client, tenant.slug, body, secret=secret)

    assert response.status_code == 200
    assert Signal.objects.get().data["source_system"] == "SAP"
