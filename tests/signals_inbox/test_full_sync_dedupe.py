"""Periodic full syncs are safe: a closed need's unchanged data point re-opens nothing (within the
re-open window), a changed one opens a new need, and near-identical topics from one source are one need."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from signals_inbox.models import Need, NeedStatus, Signal
from signals_inbox.services import need_dismiss, signal_resolve
from tests.signals_inbox.factories import post_signal, signal_body

pytestmark = pytest.mark.django_db


def _send(client, tenant, secret, **data):  # noqa: ANN001, ANN003, ANN202
    response = post_signal(client, tenant.slug, signal_body("signal.credential_expiring", **data), secret=secret)
    assert response.status_code == 200, response.content
    body = response.json()
    signal_resolve(signal_id=body["signalId"])
    return body


def _close(need: Need, how: str) -> None:
    if how == "dismissed":
        need_dismiss(need=need, actor="test", reason="renewed offline")
    else:
        Need.objects.filter(pk=need.pk).update(status=NeedStatus.RESOLVED, closed_at=timezone.now())


@pytest.mark.parametrize("how", ["dismissed", "resolved"])
def test_a_closed_needs_unchanged_data_point_re_sent_five_times_opens_nothing(client, tenant, secret, how):
    data = {"email": "a@b.c", "topic": "Forklift Licence", "payload": {"expires": "2025-03-01"}}
    _send(client, tenant, secret, **data)
    need = Need.objects.get()
    _close(need, how)

    answers = [_send(client, tenant, secret, **data) for _ in range(5)]

    assert [(a["deduped"], a["reason"]) for a in answers] == [(True, "closed_need_unchanged")] * 5
    assert Need.objects.count() == 1
    need.refresh_from_db()
    assert need.status == how and need.signal_count == 6
    assert Signal.objects.filter(need=need, resolved_at__isnull=False).count() == 6  # nothing left for the actor


def test_a_changed_payload_opens_a_new_need(client, tenant, secret):
    _send(client, tenant, secret, email="a@b.c", topic="Forklift Licence", payload={"expires": "2025-03-01"})
    _close(Need.objects.get(), "dismissed")

    answer = _send(client, tenant, secret, email="a@b.c", topic="Forklift Licence", payload={"expires": "2026-03-01"})

    assert (answer["deduped"], answer["reason"]) == (False, "closed_need_changed")
    assert Need.objects.filter(status=NeedStatus.OPEN).count() == 1


def test_the_same_payload_re_opens_after_the_window(client, tenant, secret, settings):
    settings.SIGNALS_REOPEN_AFTER_DAYS = 30
    data = {"email": "a@b.c", "topic": "Forklift Licence", "payload": {"expires": "2025-03-01"}}
    _send(client, tenant, secret, **data)
    need = Need.objects.get()
    _close(need, "dismissed")
    Need.objects.filter(pk=need.pk).update(closed_at=timezone.now() - timedelta(days=31))

    answer = _send(client, tenant, secret, **data)

    assert (answer["deduped"], answer["reason"]) == (False, "reopen_window_passed")
    assert Need.objects.filter(status=NeedStatus.OPEN).count() == 1


def test_key_order_in_the_payload_does_not_count_as_a_change(client, tenant, secret):
    _send(client, tenant, secret, email="a@b.c", topic="T", payload={"a": 1, "b": [1, 2]})
    _close(Need.objects.get(), "dismissed")

    answer = _send(client, tenant, secret, email="a@b.c", topic="T", payload={"b": [1, 2], "a": 1})

    assert answer["deduped"] is True


def test_an_open_need_still_takes_the_data_point_and_says_so(client, tenant, secret):
    _send(client, tenant, secret, email="a@b.c", topic="T", payload={"n": 1})

    answer = _send(client, tenant, secret, email="a@b.c", topic="T", payload={"n": 2})

    assert (answer["deduped"], answer["reason"]) == (True, "open_need")
    assert Need.objects.get().payload == {"n": 2}


def test_a_first_signal_has_no_reason(client, tenant, secret):
    answer = _send(client, tenant, secret, email="a@b.c", topic="T")

    assert answer["deduped"] is False and "reason" not in answer


@pytest.mark.parametrize(
    "variant",
    ["Chemical Spill Response", "chemical spill responses", "  CHEMICAL   spill-response ", "Chemical Spill Response."],
)
def test_near_identical_topics_from_one_source_and_site_are_one_need(client, tenant, secret, variant):
    first = post_signal(client, tenant.slug, signal_body("signal.incident", site="Plant 1", topic="chemical spill responses"), secret=secret)
    second = post_signal(client, tenant.slug, signal_body("signal.incident", site="plant 1", topic=variant), secret=secret)

    assert first.json()["deduped"] is False
    assert second.json()["deduped"] is True
    assert Need.objects.count() == 1


def test_different_topics_and_sites_stay_apart(client, tenant, secret):
    for site, topic in (("Plant 1", "Chemical Spill Response"), ("Plant 2", "Chemical Spill Response"), ("Plant 1", "Spill Kit Use")):
        post_signal(client, tenant.slug, signal_body("signal.incident", site=site, topic=topic), secret=secret)

    assert Need.objects.count() == 3


def test_an_explicit_dedupe_key_is_kept_as_sent(client, tenant, secret):
    post_signal(client, tenant.slug, signal_body(email="a@b.c", topic="T", dedupe_key="HR-42/Case A"), secret=secret)

    assert Need.objects.get().dedupe_key == "HR-42/Case A"
