"""Upgrading rewrites default dedupe keys into the normalised form, so a re-sent data point finds its need."""
from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from signals_inbox.models import Need

pytestmark = pytest.mark.django_db

rewrite = importlib.import_module("signals_inbox.migrations.0006_normalised_dedupe_keys").rewrite


def _need(tenant, *, key: str, topic: str, status: str = "open", site: str = "", worker_ref: str = "") -> Need:  # noqa: ANN001
    now = timezone.now()
    return Need.objects.create(
        tenant=tenant, dedupe_key=key, type="incident", topic=topic, topic_key=topic.lower(), worker_ref=worker_ref,
        site_name=site, status=status, first_seen_at=now, last_seen_at=now, created_at=now, updated_at=now,
    )


def test_old_default_keys_are_rewritten_and_chosen_keys_are_left_alone(tenant):
    cohort = _need(tenant, key="incident:Plant 1:chemical spill responses", topic="Chemical Spill Responses", site="Plant 1")
    worker = _need(tenant, key="incident:W-1:working at heights", topic="Working at Heights", worker_ref="external_worker_id:W-1", status="dismissed")
    chosen = _need(tenant, key="HR-42", topic="Anything", site="Plant 1")

    rewrite(apps, None)

    assert Need.objects.get(pk=cohort.pk).dedupe_key == "incident:plant 1:chemical spill response"
    assert Need.objects.get(pk=worker.pk).dedupe_key == "incident:W-1:working at height"
    assert Need.objects.get(pk=chosen.pk).dedupe_key == "HR-42"


def test_two_open_needs_that_become_one_key_leave_the_newer_on_its_old_key(tenant):
    older = _need(tenant, key="incident:Plant 1:chemical spill responses", topic="chemical spill responses", site="Plant 1")
    newer = _need(tenant, key="incident:Plant 1:chemical spill response", topic="Chemical Spill Response", site="Plant 1")

    rewrite(apps, None)

    assert Need.objects.get(pk=older.pk).dedupe_key == "incident:plant 1:chemical spill response"
    assert Need.objects.get(pk=newer.pk).dedupe_key == "incident:Plant 1:chemical spill response"
