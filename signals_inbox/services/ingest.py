"""Recording signals: the one-statement ingest, the rejected-signals log, reprocessing."""
from __future__ import annotations

from django.dispatch import Signal as DjangoSignal
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from signals_inbox.models import (
    ACTIVE_NEED_STATUSES,
    CLOSED_NEED_STATUSES,
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
from skillhub.db import prepared_cursor, uses_postgres_statements
from skillhub.hooks import send_on_commit
from skillhub.ids import uuid7

# Sent with signal_id=… after a signal that still needs resolving is committed;
# `signals_inbox.dispatch` connects the sender of resolution messages.
signal_recorded = DjangoSignal()

logger = logging.getLogger("skillhub.signals")

REJECTED_LOG_LIMIT = 500


# --- ingest -----------------------------------------------------------------------------------


class DedupeReason:
    """Why a signal was (or was not) folded into an existing need, as the webhook's `reason` says it."""

    OPEN_NEED = "open_need"  # an open need has the key: its data is updated, no new need
    CLOSED_NEED_UNCHANGED = "closed_need_unchanged"  # a need with the key was closed, and this payload is the same
    CLOSED_NEED_CHANGED = "closed_need_changed"  # a closed need had another payload: a new need opens
    REOPEN_WINDOW_PASSED = "reopen_window_passed"  # same payload, but the need closed longer ago than the window


@dataclass(frozen=True)
class IngestResult:
    signal_id: str
    need_id: uuid.UUID
    deduped: bool
    # False when the signal was recorded as already resolved (see `_PG_INGEST`): nothing left for the actor.
    needs_resolution: bool
    reason: str = ""


def reopen_after(now: datetime) -> datetime:
    """Return the time before which a closed need's unchanged data point may open a new need."""
    return now - timedelta(days=settings.SIGNALS_REOPEN_AFTER_DAYS)


def _reason(*, created: bool, onto_closed: bool, closed_same: bool | None, closed_recent: bool | None) -> str:
    if onto_closed:
        return DedupeReason.CLOSED_NEED_UNCHANGED
    if not created:
        return DedupeReason.OPEN_NEED
    if closed_same is None:
        return ""
    if not closed_same:
        return DedupeReason.CLOSED_NEED_CHANGED
    return DedupeReason.REOPEN_WINDOW_PASSED if not closed_recent else ""


# One statement, so the need/dedupe decision is made by the partial unique index itself:
# exactly one concurrent request sees created = true (xmax = 0 only for a fresh insert).
# Periodic full syncs re-send what was dismissed or resolved: when no need with the key is open and
# the last closed one has the same payload and closed within the re-open window, the signal is kept
# on that closed need (counted, nothing re-opens). The closed-need lookup runs on a partial index
# that open needs (every insert here) stay out of, and is empty for most keys.
# A re-sent data point whose need is already resolved to a known worker or cohort leaves the actor
# nothing to do, so its signal is stored resolved: no broker message, no entry in the sweep's index.
# An unmatched need's signals still go to the actor, which re-tries the worker match.
_PG_INGEST = """
WITH closed AS (
    SELECT c.id, c.payload = %(payload)s::jsonb AS same, c.closed_at > %(reopen_after)s AS recent
    FROM signals_inbox_need c
    WHERE c.tenant_id = %(tenant_id)s AND c.dedupe_key = %(dedupe_key)s AND c.status IN ('resolved', 'dismissed')
    ORDER BY c.closed_at DESC NULLS LAST, c.id DESC
    LIMIT 1
), kept AS (
    SELECT closed.id FROM closed
    WHERE closed.same AND closed.recent AND NOT EXISTS (
        SELECT 1 FROM signals_inbox_need a
        WHERE a.tenant_id = %(tenant_id)s AND a.dedupe_key = %(dedupe_key)s AND a.status IN ('open', 'offered', 'authoring')
    )
), touched AS (
    UPDATE signals_inbox_need t SET last_seen_at = %(now)s, signal_count = t.signal_count + 1
    FROM kept WHERE t.id = kept.id
    RETURNING t.id
), need AS (
    INSERT INTO signals_inbox_need AS n
        (id, tenant_id, dedupe_key, type, topic, topic_key, category, severity, worker_ref, site_name,
         payload, first_seen_at, last_seen_at, created_at, updated_at)
    SELECT %(need_id)s, %(tenant_id)s, %(dedupe_key)s, %(type)s, %(topic)s, %(topic_key)s, %(category)s,
           %(severity)s, %(worker_ref)s, %(site_name)s, %(payload)s::jsonb, %(now)s, %(now)s, %(now)s, %(now)s
    WHERE NOT EXISTS (SELECT 1 FROM kept)
    ON CONFLICT (tenant_id, dedupe_key) WHERE status IN ('open', 'offered', 'authoring')
    DO UPDATE SET payload = EXCLUDED.payload, severity = EXCLUDED.severity, last_seen_at = EXCLUDED.last_seen_at,
                  updated_at = EXCLUDED.updated_at, signal_count = n.signal_count + 1
    RETURNING n.id, (n.xmax = 0) AS created, (n.resolved_at IS NOT NULL AND n.target <> 'unmatched') AS settled
), target AS (
    SELECT need.id, need.created, need.settled, false AS onto_closed FROM need
    UNION ALL
    SELECT touched.id, false, true, true FROM touched
), recorded AS (
    INSERT INTO signals_inbox_signal (id, tenant_id, need_id, deduped, event, type, data, received_at, resolved_at)
    SELECT %(signal_id)s, %(tenant_id)s, target.id, NOT target.created, %(event)s, %(type)s, %(data)s::jsonb, %(now)s,
           CASE WHEN NOT target.created AND target.settled THEN %(now)s END
    FROM target
    RETURNING need_id, deduped, resolved_at IS NULL AS pending
)
SELECT recorded.need_id, recorded.deduped, recorded.pending, target.created, target.onto_closed,
       (SELECT same FROM closed), (SELECT recent FROM closed)
FROM recorded, target
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
        "reopen_after": reopen_after(now),
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
                need_id, deduped, pending, created, onto_closed, same, recent = cursor.fetchone()
                reason = _reason(created=created, onto_closed=onto_closed, closed_same=same, closed_recent=recent)
                return IngestResult(signal_id, need_id, deduped, pending, reason)
        except OperationalError:
            if attempt == 2 or connection.is_usable():
                raise  # a live connection failed for another reason: not ours to retry
            connection.close()
    raise AssertionError("unreachable")


def _same_payload(stored: Any, sent: Any) -> bool:
    # jsonb equality, portably: key order does not matter, everything else does.
    return orjson.dumps(stored, option=orjson.OPT_SORT_KEYS) == orjson.dumps(sent, option=orjson.OPT_SORT_KEYS)


def _ingest_portable(tenant_id: uuid.UUID, parsed: ParsedSignal, signal_id: str, now: datetime) -> IngestResult:
    payload = parsed_payload(parsed)
    for _attempt in range(3):
        with transaction.atomic():
            folded, same, recent = _onto_closed_need(tenant_id, parsed, signal_id, now, payload)
            if folded is not None:
                return folded
            try:
                # The savepoint lets the unique index refuse a second open need without aborting the transaction.
                with transaction.atomic():
                    need = _new_need(tenant_id, parsed, payload, now)
                deduped = settled = False
            except IntegrityError:
                open_need = _touch_open_need(tenant_id, parsed, payload, now)
                if open_need is None:  # the open need closed in between: try again
                    continue
                need, deduped = open_need, True
                settled = need.resolved_at is not None and need.target != Target.UNMATCHED
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
            reason = _reason(created=not deduped, onto_closed=False, closed_same=same, closed_recent=recent)
            return IngestResult(signal_id=signal_id, need_id=need.pk, deduped=deduped, needs_resolution=not settled, reason=reason)
    raise RuntimeError("could not record the signal after 3 attempts")


def _onto_closed_need(
    tenant_id: uuid.UUID, parsed: ParsedSignal, signal_id: str, now: datetime, payload: Any
) -> tuple[IngestResult | None, bool | None, bool | None]:
    """Fold an unchanged re-send into the need that closed recently (no open one): (result, same payload, recent).

    The result is None when the signal goes on to an open need; `same` and `recent` say why (None: no closed need).
    """
    closed = (
        Need.objects.filter(tenant_id=tenant_id, dedupe_key=parsed.dedupe_key, status__in=CLOSED_NEED_STATUSES)
        .order_by(F("closed_at").desc(nulls_last=True), "-id")
        .values("id", "payload", "closed_at")
        .first()
    )
    if closed is None:
        return None, None, None
    same = _same_payload(closed["payload"], payload)
    recent = closed["closed_at"] is not None and closed["closed_at"] > reopen_after(now)
    active = Need.objects.filter(tenant_id=tenant_id, dedupe_key=parsed.dedupe_key, status__in=ACTIVE_NEED_STATUSES)
    if not (same and recent) or active.exists():
        return None, same, recent
    Need.objects.filter(pk=closed["id"]).update(last_seen_at=now, signal_count=F("signal_count") + 1)
    Signal.objects.create(
        id=signal_id, tenant_id=tenant_id, need_id=closed["id"], deduped=True, event=parsed.event,
        type=parsed.type, data=parsed.data, received_at=now, resolved_at=now,
    )
    return IngestResult(signal_id, closed["id"], True, False, DedupeReason.CLOSED_NEED_UNCHANGED), same, recent


def _new_need(tenant_id: uuid.UUID, parsed: ParsedSignal, payload: Any, now: datetime) -> Need:
    return Need.objects.create(
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


def _touch_open_need(tenant_id: uuid.UUID, parsed: ParsedSignal, payload: Any, now: datetime) -> Need | None:
    """Lock the open need of the signal's key and count the signal on it; None if it closed meanwhile."""
    need = (
        Need.objects.select_for_update()
        .filter(tenant_id=tenant_id, dedupe_key=parsed.dedupe_key, status__in=ACTIVE_NEED_STATUSES)
        .first()
    )
    if need is not None:
        Need.objects.filter(pk=need.pk).update(
            payload=payload,
            severity=parsed.severity,
            last_seen_at=now,
            updated_at=now,
            signal_count=F("signal_count") + 1,
        )
    return need


def parsed_payload(parsed: ParsedSignal) -> Any:
    """Return the signal's payload as stored on its need (verbatim)."""
    return parsed.data.get("payload", {})


def signal_ingest(*, tenant_id: uuid.UUID, parsed: ParsedSignal, received_at: datetime | None = None) -> IngestResult:
    """Record a valid signal and find or create its open need; resolution is sent after commit."""
    now = received_at or timezone.now()
    signal_id = new_signal_id()
    if uses_postgres_statements() and not transaction.get_connection().in_atomic_block:
        result = _ingest_postgres(tenant_id, parsed, signal_id, now)
    else:
        result = _ingest_portable(tenant_id, parsed, signal_id, now)
    if result.needs_resolution:
        send_on_commit(signal_recorded, sender=Signal, signal_id=signal_id)
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


def rejected_signal_reprocess(*, rejected: RejectedSignal, actor: str, body: str | None = None) -> IngestResult:
    """Run a rejected signal through ingest again (after the map was fixed, or with `body` as edited)."""
    tenant = rejected.tenant
    if body is not None and body != rejected.body:
        if len(body.encode()) > settings.SIGNAL_MAX_BODY_BYTES:
            too_large = f"the body is over {settings.SIGNAL_MAX_BODY_BYTES // 1024} KiB"
            raise ValidationFailed({"body": too_large}, too_large)
        RejectedSignal.objects.filter(pk=rejected.pk).update(body=body)
        rejected.body = body
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
