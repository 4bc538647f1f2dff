"""Rows of every console model for one tenant, and console logins, for isolation and page tests."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from learning.models import Assignment, Course, Credential, Learner, OnboardingStep
from signals_inbox.models import AuditEntry, InboxSettings, Need, RejectedSignal, Signal
from tenants.models import ApiKey, Group, SignalSecret, Site, StaffToken, Tenant, TenantMembership
from tenants.services import api_key_create, console_admin_create, signal_secret_issue
from webhooks.models import Delivery, Endpoint, Event

PASSWORD = "pw-console-12345"


def console_user(tenant: Tenant, username: str, *, role: str = "admin"):  # noqa: ANN201
    """A console login of the tenant, made the way `make run` makes one."""
    extra = {"role": role} if role != "admin" else {}
    return console_admin_create(tenant=tenant, username=username, password=PASSWORD, **extra)


def need_row(tenant: Tenant, *, topic: str = "Working at Heights", **fields: Any) -> Need:
    """An open need row as resolution leaves it."""
    now = timezone.now()
    values = {
        "dedupe_key": f"incident:{topic}:{Need.objects.count()}",
        "type": "incident",
        "topic": topic,
        "topic_key": topic.lower(),
        "first_seen_at": now - timedelta(days=1),
        "last_seen_at": now,
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    return Need.objects.create(tenant=tenant, **values)


# The models every_model_row builds a row of; models registered later are covered by the class check
# and the "every changelist opens" test in test_tenant_isolation.py.
BUILT_MODELS = (
    Tenant, Site, Group, ApiKey, SignalSecret, TenantMembership, Learner, Course, Assignment, Credential, OnboardingStep,
    Endpoint, Event, Delivery, Need, Signal, InboxSettings, RejectedSignal, AuditEntry, StaffToken,
)


def every_model_row(tenant: Tenant, owner_username: str) -> dict[type[models.Model], models.Model]:
    """One row of each console model in the tenant, keyed by model."""
    site = Site.objects.create(tenant=tenant, name=f"{tenant.slug} secret site")
    group = Group.objects.create(tenant=tenant, name=f"{tenant.slug} secret group")
    learner = Learner.objects.create(tenant=tenant, first_name="Hidden", last_name=tenant.slug, site=site)
    course = Course.objects.create(tenant=tenant, title=f"{tenant.slug} hidden course", status="published")
    need = need_row(tenant, learner=learner, target="worker")
    endpoint = Endpoint.objects.create(tenant=tenant, url="https://hidden.example/hook", secret="whsec_hidden")
    event = Event.objects.create(tenant=tenant, type="learner.created", data={})
    owner = console_user(tenant, owner_username)
    rows: dict[type[models.Model], models.Model] = {
        Tenant: tenant,
        Site: site,
        Group: group,
        ApiKey: api_key_create(tenant=tenant, name="hidden key", role="admin", scopes=[]).api_key,
        SignalSecret: signal_secret_issue(tenant=tenant),
        TenantMembership: TenantMembership.objects.get(tenant=tenant, user=owner),
        Learner: learner,
        Course: course,
        Assignment: Assignment.objects.create(tenant=tenant, learner=learner, course=course),
        Credential: Credential.objects.create(tenant=tenant, learner=learner, name="hidden licence"),
        OnboardingStep: OnboardingStep.objects.create(tenant=tenant, name=f"{tenant.slug} hidden step"),
        Endpoint: endpoint,
        Event: event,
        Delivery: Delivery.objects.create(tenant=tenant, event=event, endpoint=endpoint, event_type=event.type, sequence=1),
        Need: need,
        Signal: Signal.objects.create(tenant=tenant, need=need, event="signal.incident", type="incident", data={}, received_at=timezone.now()),
        InboxSettings: InboxSettings.objects.create(tenant=tenant),
        RejectedSignal: RejectedSignal.objects.create(tenant=tenant, body="{}", reason="hidden reason"),
        AuditEntry: AuditEntry.objects.create(tenant=tenant, need=need, actor="user:hidden", action="dismissed"),
        StaffToken: StaffToken.objects.create(user=owner, name="hidden token", prefix="sht_hidden", key_hash=f"{tenant.pk.hex:0>64}"),
    }
    return rows


def superuser(username: str = "root"):  # noqa: ANN201
    return get_user_model().objects.create_superuser(username, f"{username}@example.com", PASSWORD)
