"""Resolving a signal into its need: worker or cohort, course or author; re-matching parked workers."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from learning.models import Learner
from learning.selectors import (
    course_match_topic,
    learner_find,
    learner_get,
)
from signals_inbox.models import (
    ACTIVE_NEED_STATUSES,
    Need,
    NeedAction,
    Signal,
    Target,
)
from signals_inbox.events import need_data
from signals_inbox.services.audit import audit_record
from signals_inbox.services.needs import auto_author_maybe
from tenants.models import Tenant
from webhooks.outbox import record_event

logger = logging.getLogger("skillhub.signals")


# --- resolution -------------------------------------------------------------------------------


def signal_resolve(*, signal_id: str) -> bool:
    """Resolve one signal: its need's worker or cohort and course, once; return False if already done."""
    with transaction.atomic():
        now = timezone.now()
        # The conditional UPDATE claims the signal; a second run (or a concurrent one) finds nothing to do.
        if not Signal.objects.filter(pk=signal_id, resolved_at__isnull=True).update(resolved_at=now):
            return False
        signal = Signal.objects.get(pk=signal_id)
        need = Need.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=signal.need_id)
        if need.resolved_at is None:
            _need_resolve(need=need, signal=signal, now=now)
        elif need.target == Target.UNMATCHED and need.status in ACTIVE_NEED_STATUSES:
            learner = learner_find(tenant=need.tenant, **_worker_keys(signal.data))
            if learner is not None:
                _attach_learner(need=need, learner=learner, now=now)
    return True


def _worker_keys(data: dict[str, Any]) -> dict[str, str]:
    keys = {}
    for key in ("external_worker_id", "email", "learner_id"):
        value = data.get(key)
        keys[key] = "" if value is None or isinstance(value, (bool, dict, list)) else str(value).strip()
    return keys


def _need_resolve(*, need: Need, signal: Signal, now: datetime) -> None:
    tenant = need.tenant
    if need.worker_ref:
        learner = learner_find(tenant=tenant, **_worker_keys(signal.data))
        need.learner = learner
        need.target = Target.WORKER if learner is not None else Target.UNMATCHED
        if learner is not None and not need.site_name and learner.site_id:
            need.site_name = learner.site.name
    else:
        need.target = Target.COHORT
    course, match = course_match_topic(tenant=tenant, topic=need.topic)
    need.recommended_course = course
    need.match = match
    need.action = NeedAction.OFFER if course is not None else NeedAction.AUTHOR
    need.resolved_at = now
    need.updated_at = now
    need.save()
    record_event(tenant=tenant, event_type="need.created", data=need_data(need), subject_type="need", subject_id=str(need.pk))
    if need.action == NeedAction.AUTHOR:
        auto_author_maybe(tenant=tenant, need=need)


def _attach_learner(*, need: Need, learner: Learner, now: datetime) -> None:
    need.learner = learner
    need.target = Target.WORKER
    if not need.site_name and learner.site_id:
        need.site_name = learner.site.name
    need.updated_at = now
    need.save(update_fields=["learner", "target", "site_name", "updated_at"])
    audit_record(tenant=need.tenant, need=need, actor="system:rematch", action="matched", details={"learnerId": str(learner.pk)})


def needs_rematch_learner(*, tenant_id: Any, learner_id: Any) -> int:
    """Attach parked (unmatched) needs to a learner who was just created or updated; return how many."""
    parked_any = Need.objects.filter(tenant_id=tenant_id, target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES)
    if not parked_any.exists():
        return 0  # every learner write runs this: the usual answer costs one indexed query
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    learner = learner_get(tenant=tenant, learner_id=learner_id) if tenant else None
    if learner is None:
        return 0
    refs = [f"learner_id:{learner.pk}"]
    if learner.external_worker_id:
        refs.append(f"external_worker_id:{learner.external_worker_id}")
    if learner.email:
        refs.append(f"email:{learner.email}")
    matched = 0
    with transaction.atomic():
        parked = Need.objects.select_for_update(of=("self",)).select_related("tenant").filter(
            tenant=tenant, target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES, worker_ref__in=refs
        )
        for need in parked:
            _attach_learner(need=need, learner=learner, now=timezone.now())
            matched += 1
    return matched


def needs_rematch_unmatched(*, limit: int = 200) -> int:
    """Retry every parked need's worker lookup with all the keys its signals gave (the sweep's backstop)."""
    matched = 0
    ids = list(
        Need.objects.filter(target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES).order_by("updated_at").values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            need = Need.objects.select_for_update(of=("self",)).select_related("tenant").filter(pk=pk, target=Target.UNMATCHED).first()
            if need is None:
                continue
            for data in need.signals.order_by("-id").values_list("data", flat=True)[:20]:
                learner = learner_find(tenant=need.tenant, **_worker_keys(data))
                if learner is not None:
                    _attach_learner(need=need, learner=learner, now=timezone.now())
                    matched += 1
                    break
            else:
                Need.objects.filter(pk=pk).update(updated_at=timezone.now())
    return matched
