"""Signal-map defaults fill what a signal leaves out; explicit fields always win; a missing topic waits for the map."""
from __future__ import annotations

import json

import pytest

from signals_inbox.models import Need, RejectedSignal
from signals_inbox.services import rejected_signal_reprocess, signal_map_put
from tests.signals_inbox.factories import post_signal, send_and_resolve

pytestmark = pytest.mark.django_db

MAP = {"license_expiring": {"topic": "Working at Heights", "category": "Refresher", "severity": 3}}


def test_map_supplies_topic_category_and_severity(client, tenant, secret):
    signal_map_put(tenant=tenant, actor="test", mapping=MAP, auto_author=False)

    need = send_and_resolve(client, tenant, secret, "signal.license_expiring", email="a@b.c")

    assert (need.topic, need.category, need.severity) == ("Working at Heights", "Refresher", 3)
    assert need.dedupe_key == "license_expiring:a@b.c:working at height"


def test_explicit_fields_override_the_map(client, tenant, secret):
    signal_map_put(tenant=tenant, actor="test", mapping=MAP, auto_author=False)

    need = send_and_resolve(
        client, tenant, secret, "signal.license_expiring", email="a@b.c", topic="Ladders", category="Toolbox", severity=1
    )

    assert (need.topic, need.category, need.severity) == ("Ladders", "Toolbox", 1)


def test_map_overrides_the_built_in_type_defaults(client, tenant, secret):
    signal_map_put(tenant=tenant, actor="test", mapping={"credential_expired": {"severity": 2, "category": "Recert"}}, auto_author=False)

    need = send_and_resolve(client, tenant, secret, "signal.credential_expired", email="a@b.c", topic="First Aid")

    assert (need.severity, need.category) == (2, "Recert")


def test_explicit_dedupe_key_coalesces_different_topics(client, tenant, secret):
    first = send_and_resolve(client, tenant, secret, "signal.incident", site="A", topic="Ladders", dedupe_key="INC-1")
    second = send_and_resolve(client, tenant, secret, "signal.incident", site="A", topic="Ladder safety", dedupe_key="INC-1")

    assert first.pk == second.pk
    assert Need.objects.count() == 1


def test_signal_without_topic_or_map_is_rejected_then_reprocessed_after_the_map_is_fixed(client, tenant, secret):
    body = json.dumps({"event": "signal.near_miss", "data": {"site": "Site A", "payload": {"ref": "NM-7"}}}).encode()

    refused = post_signal(client, tenant.slug, body, secret=secret)
    rejected = RejectedSignal.objects.get(tenant=tenant)
    signal_map_put(tenant=tenant, actor="test", mapping={"near_miss": {"topic": "Hazard Awareness", "severity": 4}}, auto_author=False)
    result = rejected_signal_reprocess(rejected=rejected, actor="test")

    assert refused.status_code == 400
    assert "no topic" in refused.json()["detail"] and "near_miss" in refused.json()["detail"]
    need = Need.objects.get(pk=result.need_id)
    assert (need.topic, need.severity, need.payload) == ("Hazard Awareness", 4, {"ref": "NM-7"})
    rejected.refresh_from_db()
    assert rejected.reprocessed_signal_id == result.signal_id


def test_rejected_log_is_bounded(client, tenant, secret, monkeypatch):
    from signals_inbox.services import ingest

    monkeypatch.setattr(ingest, "REJECTED_LOG_LIMIT", 5)
    for index in range(8):
        post_signal(client, tenant.slug, json.dumps({"event": "signal.x", "data": {"site": f"S{index}"}}).encode(), secret=secret)

    kept = list(RejectedSignal.objects.filter(tenant=tenant).order_by("id").values_list("body", flat=True))
    assert len(kept) == 5
    assert '"S7"' in kept[-1] and '"S3"' in kept[0]
