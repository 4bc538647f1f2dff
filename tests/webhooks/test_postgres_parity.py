"""On PostgreSQL the outbound hot paths run hand-written statements; their portable twins must leave the same rows.

Each scenario runs twice on PostgreSQL, once per path (`DATABASE_POSTGRES_STATEMENTS`), outside
pytest's wrapping transaction (the fast paths run only in autocommit), and the rows are compared.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from tests.parity import statements_path
from tests.webhooks.conftest import Reply
from tests.webhooks.helpers import make_endpoint
from webhooks.engine import claims, delivery, fanout, record
from webhooks.models import Attempt, Delivery, Endpoint, EndpointSlot, Event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _fan_out_rows(tenant: Any) -> dict[str, Any]:
    urls = {pk: url for pk, url in Endpoint.objects.values_list("id", "url")}
    return {
        "events": sorted(Event.objects.values_list("type", "subject_type", "subject_id", "data")),
        "deliveries": sorted(
            (urls[d.endpoint_id], d.event_type, d.sequence, d.state, d.attempt_count, d.is_ping, d.tenant_id == tenant.pk)
            for d in Delivery.objects.all()
        ),
        "sequences": sorted(Endpoint.objects.values_list("url", "sequence")),
    }


def _fan_out(tenant: Any) -> None:
    data = {"id": "L1", "firstName": "Thabo"}
    for event_type, subject_id in (("learner.created", "L1"), ("learner.updated", "L1"), ("course.enrolled", "A1")):
        with transaction.atomic():
            fanout.record(
                tenant_id=tenant.pk, event_type=event_type, data=data, subject_type="learner", subject_id=subject_id
            )


def test_fan_out_leaves_the_same_rows_on_both_paths(tenant, settings, monkeypatch, receiver, allow_private):
    results = []
    for fast in (True, False):
        Endpoint.objects.all().delete()
        Event.objects.all().delete()
        make_endpoint(tenant, f"{receiver.url}/all")
        make_endpoint(tenant, f"{receiver.url}/learners", events=["learner.created", "learner.updated"])
        make_endpoint(tenant, f"{receiver.url}/off", enabled=False)
        make_endpoint(tenant, f"{receiver.url}/courses", events=["course.enrolled"])
        with statements_path(settings, monkeypatch, fanout, fast=fast) as uses:
            _fan_out(tenant)
        assert bool(uses) is fast
        results.append(_fan_out_rows(tenant))

    assert results[0] == results[1]
    assert len(results[0]["deliveries"]) == 6


def _delivery_rows() -> dict[str, Any]:
    return {
        "deliveries": sorted(
            Delivery.objects.values_list(
                "state", "attempt_count", "next_attempt_at", "enqueued_at", "claimed_until", "claim_token",
                "last_status_code", "last_error", "delivered_at",
            )
        ),
        "attempts": sorted(
            Attempt.objects.values_list("number", "started_at", "status_code", "succeeded", "error", "response_body")
        ),
    }


def test_claim_and_record_attempt_leave_the_same_rows_on_both_paths(
    tenant, settings, monkeypatch, receiver, allow_private
):
    t0 = timezone.now().replace(microsecond=0) + timedelta(seconds=5)
    results = []
    for fast in (True, False):
        Endpoint.objects.all().delete()
        Event.objects.all().delete()
        make_endpoint(tenant, receiver.url, retry_policy="standard")
        with transaction.atomic():
            fanout.record(tenant_id=tenant.pk, event_type="learner.created", data={"id": "L1"}, subject_type="learner", subject_id="L1")
        delivery_id = Delivery.objects.get().pk
        receiver.reply(Reply(status=500, body=b"boom"), Reply(status=200, body=b"ok"))
        with statements_path(settings, monkeypatch, claims, record, fast=fast) as uses:
            first = delivery.send(delivery_id=delivery_id, now=t0)
            assert delivery.send(delivery_id=delivery_id, now=t0) is None  # not due again yet
            second = delivery.send(delivery_id=delivery_id, now=t0 + timedelta(minutes=5))
        assert bool(uses) is fast
        assert (first.status_code, second.status_code) == (500, 200)
        results.append(_delivery_rows())

    assert results[0] == results[1]
    assert [row[0] for row in results[0]["deliveries"]] == ["succeeded"]


def test_claiming_many_leaves_the_same_rows_on_both_paths(tenant, settings, monkeypatch, receiver, allow_private):
    results = []
    for fast in (True, False):
        Endpoint.objects.all().delete()
        Event.objects.all().delete()
        make_endpoint(tenant, f"{receiver.url}/two", max_in_flight=2)
        make_endpoint(tenant, f"{receiver.url}/one", max_in_flight=1)
        make_endpoint(tenant, f"{receiver.url}/off")
        for n in range(3):
            with transaction.atomic():
                fanout.record(
                    tenant_id=tenant.pk, event_type="learner.created", data={"id": n}, subject_type="learner", subject_id=str(n)
                )
        Endpoint.objects.filter(url__endswith="/off").update(enabled=False)
        by_url: dict[str, list[str]] = {}
        for d in Delivery.objects.order_by("sequence").select_related("endpoint"):
            by_url.setdefault(d.endpoint.url.rsplit("/", 1)[1], []).append(d.pk)
        # Recording queued a slot for each endpoint's first deliveries (as many as its cap); named in reverse.
        asked = by_url["two"][1::-1] + by_url["one"][1::-1] + by_url["off"][:1]
        with statements_path(settings, monkeypatch, claims, fast=fast) as uses:
            claimed = claims.claim_many(asked, timezone.now())
        assert bool(uses) is fast
        results.append({
            "claimed": [(c.endpoint.url, c.delivery.sequence) if c else None for c in claimed],
            "slots": sorted(EndpointSlot.objects.filter(state="sending").values_list("endpoint__url", "number")),
            "sending": sorted(Delivery.objects.filter(state="sending").values_list("endpoint__url", "sequence")),
        })  # fmt: skip

    assert results[0] == results[1]
    assert [c[1] if c else None for c in results[0]["claimed"]] == [1, 2, None, 1, None]


def test_recording_many_sets_leaves_the_same_rows_on_both_paths(tenant, settings, monkeypatch, receiver, allow_private):
    from webhooks.engine import sets, transport, turns

    results = []
    for fast in (True, False):
        Endpoint.objects.all().delete()
        Event.objects.all().delete()
        for name in ("a", "b", "c"):
            make_endpoint(tenant, f"{receiver.url}/{name}", max_in_flight=1)
        for n in range(3):
            with transaction.atomic():
                fanout.record(
                    tenant_id=tenant.pk, event_type="learner.created", data={"id": n}, subject_type="learner", subject_id=str(n)
                )
        # Endpoint c has delivered its backlog but the last: its next set is empty, its slot freed.
        Delivery.objects.filter(endpoint__url__endswith="/c", sequence__lt=3).update(state="succeeded")
        EndpointSlot.objects.filter(endpoint__url__endswith="/c").update(state="free", delivery_id="", claim_token="", leased_until=None)
        now = timezone.now()
        firsts = [d.pk for d in Delivery.objects.filter(sequence=1).exclude(endpoint__url__endswith="/c")]
        firsts.append(Delivery.objects.get(endpoint__url__endswith="/c", sequence=3).pk)
        with statements_path(settings, monkeypatch, claims, sets, fast=fast) as uses:
            claimed = [c for c in claims.claim_many(sorted(firsts), now) if c is not None]
            answered = [
                [sets.Sent(c, transport.HttpResult(200 if c.endpoint.url.endswith("/a") else 500, {}, "ok", "", 3), now)]
                for c in claimed
            ]
            recorded = sets.record_sets_keeping_turns(answered, now=now, health_notes=[])
            if recorded is None:  # the portable path: each set alone, as the caller then does
                recorded = [sets.record_set(one, now=now, keep_turn=True, set_size=turns.first_set_size()) for one in answered]
        assert bool(uses) is fast
        results.append({
            "next": sorted((one[0].claimed.endpoint.url, [c.delivery.sequence for c in r.claimed]) for one, r in zip(answered, recorded)),
            "slots": sorted(EndpointSlot.objects.values_list("endpoint__url", "state")),
            "deliveries": sorted(
                (d.endpoint.url, d.sequence, d.state, d.attempt_count, d.last_status_code, bool(d.claim_token))
                for d in Delivery.objects.select_related("endpoint")
            ),
            "attempts": sorted(Attempt.objects.values_list("delivery__endpoint__url", "number", "status_code", "succeeded")),
        })  # fmt: skip

    assert results[0] == results[1]
    assert [urls[-1:] for urls, _ in results[0]["next"]] == ["a", "b", "c"]
    # A 500 is an answer: b keeps its turn as a keeps it; c has nothing more and its slot is free.
    assert [sequences for _, sequences in results[0]["next"]] == [[2, 3], [2, 3], []]
    assert [state for url, state in results[0]["slots"] if url.endswith("/c")] == ["free"]
