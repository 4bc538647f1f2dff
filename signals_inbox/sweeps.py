"""Periodic sweeps: the database says which signals and needs still want work; these re-enqueue it."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from signals_inbox import services
from signals_inbox import trends
from signals_inbox.actors import close_need_if_complete, resolve_signals
from signals_inbox.models import InboxSettings, Need, NeedAction, NeedAssignment, NeedStatus, Signal
from signals_inbox.services.signing import webhook_ids_forget_expired
from skillhub.scheduler import sweep
from tenants.models import Tenant

# A signal younger than this is still in the normal path (its message is in flight).
RESOLVE_GRACE = timedelta(seconds=30)
BATCH = 1000


@sweep(every_seconds=30)
def resend_unresolved_signals() -> int:
    """Start a drain when signals wait past the grace time (a lost message, a killed worker); return how many wait."""
    now = timezone.now()
    waiting = (
        Signal.objects.filter(resolved_at__isnull=True, received_at__lt=now - RESOLVE_GRACE)
        .exclude(retry_at__gt=now)
        .values_list("pk", flat=True)[:BATCH]
    )
    count = len(waiting)
    if count:
        resolve_signals.send([])
    return count


@sweep(every_seconds=300)
def close_completed_needs() -> int:
    """Re-check offered needs whose assignments may all be completed (a missed completion hook)."""
    offered = (
        NeedAssignment.objects.filter(need__status=NeedStatus.OFFERED)
        .values("need_id")
        .annotate(open=Count("pk", filter=~Q(assignment__status="completed")))
        .filter(open=0)
        .values_list("need_id", flat=True)[:BATCH]
    )
    ids = list(offered)
    for need_id in ids:
        close_need_if_complete.send(str(need_id))
    return len(ids)


@sweep(every_seconds=3600)
def rematch_unmatched_workers() -> int:
    """Retry the worker lookup of parked needs (learners may have arrived by a path without hooks)."""
    return services.needs_rematch_unmatched()


@sweep(every_seconds=600)
def auto_author_waiting_topics() -> int:
    """Author drafts for topics that reached the threshold while auto-author was off (or a check was missed)."""
    authored = 0
    for tenant_id in InboxSettings.objects.filter(auto_author=True).values_list("tenant_id", flat=True):
        topics = (
            Need.objects.filter(tenant_id=tenant_id, status=NeedStatus.OPEN, action=NeedAction.AUTHOR, authored_course__isnull=True)
            .values("topic_key")
            .annotate(open=Count("pk"))
            .filter(open__gt=0)
            .values_list("topic_key", flat=True)[:50]
        )
        for topic_key in list(topics):
            with transaction.atomic():
                need = Need.objects.select_related("tenant").filter(tenant_id=tenant_id, status=NeedStatus.OPEN, topic_key=topic_key, action=NeedAction.AUTHOR).first()
                if need is not None and services.auto_author_maybe(tenant=need.tenant, need=need) is not None:
                    authored += 1
    return authored


@sweep(every_seconds=300)
def forget_expired_webhook_ids() -> int:
    """Delete the once-only ids of timestamped signals whose timestamps are out of tolerance anyway."""
    return webhook_ids_forget_expired()


@sweep(every_seconds=3600)
def count_need_days() -> int:
    """Recount each tenant's last 30 days of needs for the readiness board's chart; return the tenants counted."""
    tenants = list(Tenant.objects.filter(needs__isnull=False).distinct())
    for tenant in tenants:
        trends.need_days_record(tenant=tenant)
    return len(tenants)
