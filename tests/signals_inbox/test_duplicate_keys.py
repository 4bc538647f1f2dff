"""A signal body that repeats a JSON key is refused (400 naming the key) rather than read as the last one wins."""
from __future__ import annotations

import pytest

from signals_inbox.models import Need, Signal
from tests.signals_inbox.factories import post_signal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"event": "signal.incident", "data": {"site": "A", "topic": "T", "topic": "Other"}}', "topic"),
        (b'{"event": "signal.incident", "event": "signal.x", "data": {"site": "A", "topic": "T"}}', "event"),
        (b'{"event": "signal.incident", "data": {"site": "A", "topic": "T", "payload": {"due": 1, "due": 2}}}', "due"),
    ],
)
def test_a_repeated_key_is_refused_and_named(client, tenant, secret, body, key):
    response = post_signal(client, tenant.slug, body, secret=secret)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_payload"
    assert f"duplicate JSON key '{key}'" in response.json()["detail"]
    assert not Signal.objects.exists() and not Need.objects.exists()


def test_the_same_key_in_sibling_objects_is_fine(client, tenant, secret):
    body = b'{"event": "signal.incident", "data": {"site": "A", "topic": "T", "payload": {"a": {"x": 1}, "b": {"x": 2}}}}'

    assert post_signal(client, tenant.slug, body, secret=secret).status_code == 200
