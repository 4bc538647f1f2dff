"""Demo data for `manage.py seed_demo`: courses to match, credentials, onboarding, a signal map, a few needs."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Callable

from django.utils import timezone

from learning.models import Course, Credential, Learner
from learning.selectors import learner_queryset
from learning.evidence.services import credential_create, onboarding_complete, onboarding_step_create
from learning.services import course_create, course_publish
from signals_inbox.models import Signal
from signals_inbox.parsing import parse_signal
from signals_inbox.selectors import forget_ingest_context, ingest_context
from signals_inbox.services import signal_ingest, signal_map_put, signal_resolve
from tenants.models import Tenant

COURSES = [
    ("Working at Heights refresher", "Working at Heights", "Refresher"),
    ("Manual Handling essentials", "Manual Handling", "Safety"),
    ("Forklift Operation", "Forklift Operation", "Role readiness"),
    ("First Aid Level 1", "First Aid", "Certification"),
]
SIGNAL_MAP = {
    "license_expiring": {"topic": "Working at Heights", "category": "Refresher", "severity": 3},
    "near_miss": {"topic": "Hazard Awareness", "category": "Toolbox", "severity": 4},
}


def _sample_signals(learners: list[Learner]) -> list[dict]:
    first, second = learners[0], learners[1]
    return [
        {"event": "signal.credential_expiring", "data": {"email": first.email, "topic": "Working at Heights", "payload": {"credential": "WAH licence", "expires_at": "2026-07-15"}}},
        {"event": "signal.incident", "data": {"site": "Site A", "topic": "Manual Handling", "severity": 4, "payload": {"ref": "INC-2043", "summary": "strain lifting stock"}}},
        {"event": "signal.role_assigned", "data": {"external_worker_id": second.external_worker_id, "topic": "Forklift Operation"}},
        {"event": "signal.near_miss", "data": {"site": "Site B", "payload": {"ref": "NM-7", "summary": "unsecured load"}}},
        {"event": "signal.onboarding_gap", "data": {"external_worker_id": "W-9999", "topic": "Site Induction"}},
    ]


def seed(*, tenant: Tenant, learners: int, log: Callable[[str], None]) -> None:
    """Give the demo tenant something for the inbox to match, once."""
    for title, topic, category in COURSES:
        if not Course.objects.filter(tenant=tenant, title=title).exists():
            course_publish(course=course_create(tenant=tenant, title=title, topic=topic, category=category, created_by="demo"))
    signal_map_put(tenant=tenant, actor="system:seed_demo", mapping=SIGNAL_MAP, auto_author=False)
    forget_ingest_context(slug=tenant.slug)
    people = list(learner_queryset(tenant=tenant)[:12])
    if len(people) < 2:
        log("  signal inbox: not enough learners for demo signals")
        return
    today = timezone.localdate()
    if not Credential.objects.filter(tenant=tenant).exists():
        for index, learner in enumerate(people):
            valid_until = today + timedelta(days=(-5, 12, 200)[index % 3])
            credential_create(tenant=tenant, learner=learner, name="Working at Heights licence", topic="Working at Heights", valid_until=valid_until)
    induction = onboarding_step_create(tenant=tenant, name="Site induction", position=1)
    onboarding_step_create(tenant=tenant, name="PPE issued", position=2)
    for learner in people[:-3]:
        onboarding_complete(step=induction, learner=learner, by="system:seed_demo")
    if not Signal.objects.filter(tenant=tenant).exists():
        context = ingest_context(slug=tenant.slug)
        assert context is not None  # the tenant exists
        for document in _sample_signals(people):
            result = signal_ingest(tenant_id=context.tenant_id, parsed=parse_signal(json.dumps(document).encode(), context.signal_map))
            signal_resolve(signal_id=result.signal_id)
    log(f"  signal inbox: {len(COURSES)} published courses, a signal map, credentials, onboarding steps, sample needs")
