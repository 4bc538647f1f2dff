"""Recording signals: the one-statement ingest, the rejected-signals log, reprocessing."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from signals_inbox.models import (
    ACTIVE_NEED_STATUSES,
    Need,
    RejectedSignal,
    Signal,
    Target,
    new_signal_id,
)
from signals_inbox.parsing import InvalidSignal, ParsedSignal, parse_signal
from signals_inbox.selectors import forget_ingest_context, ingest_context
from signals_inbox.services.audit import audit_record
from skillhub.errors import ValidationFailed
from skillhub.hooks import Hook
from skillhub.db import postgres_statements, prepared_cursor
from skillhub.ids import uuid7

# Called as receiver(signal_id) after a signal that still needs resolving is committed;
# `signals_inbox.dispatch` connects the sender of resolution messages.
signal_recorded = Hook("signals_inbox.signal_recorded")

logger = logging.getLogger("skillhub.signals")

REJECTED_LOG_LIMIT = 500


# --- ingest -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    signal_id: str
    need_id: uuid.UUID
    deduped: bool
    # False when the signal was recorded as already resolved (see `_PG_INGEST`): nothing left for the actor.
    needs_resolution: bool


# One statement, so the need/dedupe decision is made by the partial unique index itself:
# exactly one concurrent request sees created = true (xmax = 0 only for a fresh insert).
# A re-sent data point whose need is already resolved to a known worker or cohort leaves the actor
# nothing to do, so its signal is stored resolved: no broker message, no entry in the sweep's index.
# An unmatched need's signals still go to the actor, which re-tries the worker match.
_PG_INGEST = """
WITH need AS (
    INSERT INTO signals_inbox_need AS n
        (id, tenant_id, dedupe_key, type, topic, topic_key, category, severity, worker_ref, site_name,
         payload, first_seen_at, last_seen_at, created_at, updated_at)
    VALUES (%(need_id)s, %(tenant_id)s, %(dedupe_key)s, %(type)s, %(topic)s, %(topic_key)s, %(category)s,
            %(severity)s, %(worker_ref)s, %(site_name)s, %(payload)s::jsonb, %(now)s, %(now)s, %(now)s, %(now)s)
    ON CONFLICT (tenant_id, dedupe_key) WHERE status IN ('open', 'offered', 'authoring')
    DO UPDATE SET payload = EXCLUDED.payload, severity = EXCLUDED.severity, last_seen_at = EXCLUDED.last_seen_at,
                  updated_at = EXCLUDED.updated_at, signal_count = n.signal_count + 1
    RETURNING n.id, (n.xmax = 0) AS created, (n.resolved_at IS NOT NULL AND n.target <> 'unmatched') AS settled
)
INSERT INTO signals_inbox_signal (id, tenant_id, need_id, deduped, event, type, data, received_at, resolved_at)
SELECT %(signal_id)s, %(tenant_id)s, need.id, NOT need.created, %(event)s, %(type)s, %(data)s::jsonb, %(now)s,
       CASE WHEN NOT need.created AND need.settled THEN %(now)s END
FROM need
RETURNING need_id, deduped, resolved_at IS NULL
"""


def _ingest_postgres(tenant_id: uuid.UUID, parsed: ParsedSignal, signal_id: str, now: datetime) -> IngestResult:
    params = {
        "need_id": uuid7(),
        "tenant_id": tenant_id,
        "dedupe_key": parsed.dedupe_key,
        "type": parsed.type,
        "topic": parsed.topic,
        "topic_key": parsed.topic_key,
        "category": parsed.category,
        "severity": parsed.severity,
        "worker_ref": parsed.worker_ref,
        "site_name": parsed.site,
        "payload": parsed.payload_json,
        "now": now,
        "signal_id": signal_id,
        "event": parsed.event,
        "data": parsed.data_json,
    }
    # The hottest statement of the webhook, prepared once per connection (skillhub.db). It skips
    # Django's per-request health-check query; a connection found dead is replaced and the
    # statement tried once more instead.
    for attempt in (1, 2):
        connection.ensure_connection()
        try:
            with prepared_cursor() as cursor:
                cursor.execute(_PG_INGEST, params)
                return IngestResult(signal_id, *cursor.fetchone())
        except OperationalError:
            if attempt == 2 or connection.is_usable():
                raise  # a live connection failed for another reason: not ours to retry
            connection.close()
    raise AssertionError("unreachable")


def _ingest_portable(tenant_id: uuid.UUID, parsed: ParsedSignal, signal_id: str, now: datetime) -> IngestResult:
    payload = parsed_payload(parsed)
    for _attempt in range(3):
        with transaction.atomic():
            try:
                # The savepoint lets the unique index refuse a second open need without aborting the transaction.
                with transaction.atomic():
                    need = Need.objects.create(
                        tenant_id=tenant_id,
                        dedupe_key=parsed.dedupe_key,
                        type=parsed.type,
                        topic=parsed.topic,
                        topic_key=parsed.topic_key,
                        category=parsed.category,
                        severity=parsed.severity,
                        worker_ref=parsed.worker_ref,
                        site_name=parsed.site,
                        payload=payload,
                        first_seen_at=now,
                        last_seen_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                deduped = settled = False
            except IntegrityError:
                open_need = (
                    Need.objects.select_for_update()
                    .filter(tenant_id=tenant_id, dedupe_key=parsed.dedupe_key, status__in=ACTIVE_NEED_STATUSES)
                    .first()
                )
                if open_need is None:  # the open need closed in between: try again
                    continue
                need = open_need
                settled = need.resolved_at is not None and need.target != Target.UNMATCHED
                Need.objects.filter(pk=need.pk).update(
                    payload=payload,
                    severity=parsed.severity,
                    last_seen_at=now,
                    updated_at=now,
                    signal_count=F("signal_count") + 1,
                )
                deduped = True
            Signal.objects.create(
                id=signal_id,
                tenant_id=tenant_id,
                need=need,
                deduped=deduped,
                event=parsed.event,
                type=parsed.type,
                data=parsed.data,
                received_at=now,
                resolved_at=now if settled else None,
            )
            return IngestResult(signal_id=signal_id, need_id=need.pk, deduped=deduped, needs_resolution=not settled)
    raise RuntimeError("could not record the signal after 3 attempts")


def parsed_payload(parsed: ParsedSignal) -> Any:
    """Return the signal's payload as stored on its need (verbatim)."""
    return parsed.data.get("payload", {})


def signal_ingest(*, tenant_id: uuid.UUID, parsed: ParsedSignal, received_at: datetime | None = None) -> IngestResult:
    """Record a valid signal and find or create its open need; resolution is sent after commit."""
    now = received_at or timezone.now()
    signal_id = new_signal_id()
    if postgres_statements() and not transaction.get_connection().in_atomic_block:
        result = _ingest_postgres(tenant_id, parsed, signal_id, now)
    else:
        result = _ingest_portable(tenant_id, parsed, signal_id, now)
    if result.needs_resolution:
        signal_recorded.fire_on_commit(signal_id)
    return result


def signal_reject(*, tenant_id: uuid.UUID, body: bytes, reason: str) -> RejectedSignal:
    """Keep an authenticated but invalid request in the tenant's bounded rejected-signals log."""
    with transaction.atomic():
        row = RejectedSignal.objects.create(
            tenant_id=tenant_id, body=body.decode("utf-8", "replace").replace("\x00", "\ufffd"), reason=reason[:1000]
        )
        stale = RejectedSignal.objects.filter(tenant_id=tenant_id).order_by("-id").values_list("id", flat=True)[
            REJECTED_LOG_LIMIT : REJECTED_LOG_LIMIT + 1
        ]
        cutoff = list(stale)
        if cutoff:
            RejectedSignal.objects.filter(tenant_id=tenant_id, id__lte=cutoff[0]).delete()
    return row


def rejected_signal_reprocess(*, rejected: RejectedSignal, actor: str) -> IngestResult:
    """Run a rejected signal through ingest again (after the map or its body was fixed)."""
    tenant = rejected.tenant
    forget_ingest_context(slug=tenant.slug)
    context = ingest_context(slug=tenant.slug)
    assert context is not None
    try:
        parsed = parse_signal(rejected.body.encode("utf-8"), context.signal_map)
    except InvalidSignal as exc:
        RejectedSignal.objects.filter(pk=rejected.pk).update(reason=exc.detail[:1000])
        raise ValidationFailed({"body": exc.detail}, f"Still invalid: {exc.detail}") from exc
    with transaction.atomic():
        result = signal_ingest(tenant_id=context.tenant_id, parsed=parsed)
        RejectedSignal.objects.filter(pk=rejected.pk).update(
            reprocessed_at=timezone.now(), reprocessed_signal_id=result.signal_id
        )
        audit_record(tenant=tenant, actor=actor, action="reprocessed", details={"rejectedId": rejected.pk, "signalId": result.signal_id})
    return result
