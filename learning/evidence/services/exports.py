"""Exports: request one, write it in keyset batches under a lease, publish `export.ready`, expire the file.

The row is the pending work. A worker claims it with a lease token and renews the lease every
batch; a worker killed mid-export stops renewing, and the sweep sends the export again so the next
worker takes it over and starts it afresh (a new file per attempt, never appended to). After
MAX_ATTEMPTS claims it fails, saying why. Rows go to a temp file and then stream into storage, so
memory stays flat whatever the row count.
"""
from __future__ import annotations

from django.dispatch import Signal
import csv
import io
import logging
import tempfile
from datetime import datetime, timedelta
from typing import Any, Iterator

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from learning.evidence import storage
from learning.evidence.events import export_ready_data
from learning.evidence.export_specs import SPECS, cell, clean_filters, copy_batches
from learning.evidence.models import Export, ExportPolicy, ExportStatus
from learning.evidence.representations import export_download_url
from learning.evidence.services.callers import Caller
from skillhub.db import uses_postgres_statements
from skillhub.errors import ValidationFailed
from skillhub.hooks import send_on_commit
from skillhub.leases import Lease, new_token
from tenants.models import Tenant
from webhooks.outbox import record_event

logger = logging.getLogger("skillhub.exports")

LEASE = Lease(fixed_seconds=60)
MAX_ATTEMPTS = 3
FORMATS = ("csv",)


def export_retention(*, tenant: Tenant) -> timedelta:
    """Return how long the tenant's finished exports live (its policy, else the setting)."""
    policy = ExportPolicy.objects.filter(tenant=tenant).first()
    hours = policy.retention_hours if policy else settings.EXPORTS_DEFAULT_RETENTION_HOURS
    return timedelta(hours=hours)


def export_policy_set(*, tenant: Tenant, retention_hours: int) -> ExportPolicy:
    """Set how many hours the tenant's export files live (1 hour to 90 days)."""
    if not 1 <= int(retention_hours) <= 24 * 90:
        raise ValidationFailed({"retentionHours": "must be between 1 and 2160"})
    policy, _ = ExportPolicy.objects.update_or_create(tenant=tenant, defaults={"retention_hours": int(retention_hours)})
    return policy


# Sent with export_ids=[…] when exports are due; `learning.evidence.actors` connects the receiver
# that sends one broker message per id (a broker that is down leaves them to the sweep).
exports_due = Signal()


@transaction.atomic
def export_request(
    *, tenant: Tenant, kind: str, filters: Any = None, format: str = "csv", raw: bool = False, caller: Caller  # noqa: A002
) -> Export:
    """Queue an export of the tenant's rows of `kind`; the actor is sent once this commits.

    Cells a spreadsheet would run as formulas are neutralised unless `raw` (for machine consumers).
    """
    errors: dict[str, str] = {}
    if kind not in SPECS:
        errors["kind"] = f"must be one of {', '.join(SPECS)}"
    if format not in FORMATS:
        errors["format"] = f"must be one of {', '.join(FORMATS)}"
    clean: dict[str, str] = {}
    if kind in SPECS:
        clean, filter_errors = clean_filters(kind, filters)
        errors.update(filter_errors)
    if not isinstance(raw, bool):
        errors["raw"] = "must be true or false"
    if errors:
        raise ValidationFailed(errors)
    export = Export.objects.create(
        tenant=tenant, kind=kind, format=format, filters=clean, raw=raw, requested_by=caller.label, enqueued_at=timezone.now()
    )
    send_on_commit(exports_due, sender=Export, export_ids=[str(export.pk)])
    return export


def _claim(export_id: str, *, now: datetime) -> tuple[Export, str] | None:
    token = new_token()
    claimed = (
        Export.objects.filter(pk=export_id)
        .filter(Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING) & LEASE.lapsed_q("lease_until", now))
        .update(
            status=ExportStatus.RUNNING,
            lease_token=token,
            lease_until=LEASE.until(now),
            attempts=F("attempts") + 1,
            started_at=now,
            rows=0,
            error="",
        )
    )
    if not claimed:
        return None
    return Export.objects.select_related("tenant").get(pk=export_id), token


def _owned(export: Export, token: str) -> Any:
    return Export.objects.filter(pk=export.pk, lease_token=token, status=ExportStatus.RUNNING)


def export_fail(*, export: Export, token: str | None, reason: str) -> bool:
    """Mark an export failed with a reason (only while `token` still holds it, when given)."""
    queryset = _owned(export, token) if token else Export.objects.filter(pk=export.pk)
    return bool(
        queryset.update(status=ExportStatus.FAILED, error=reason[:2000], finished_at=timezone.now(), lease_until=None)
    )


def export_run(*, export_id: str, batch_size: int | None = None) -> str:
    """Write an export if it is due (queued, or running under a lapsed lease); return what happened."""
    now = timezone.now()
    claim = _claim(export_id, now=now)
    if claim is None:
        return "not due"
    export, token = claim
    if export.attempts > MAX_ATTEMPTS:
        export_fail(export=export, token=token, reason=f"the export stopped before finishing {MAX_ATTEMPTS} times")
        return "failed"
    try:
        return _write(export, token, batch_size or settings.EXPORTS_BATCH_SIZE)
    except Exception as exc:
        logger.exception("export %s failed", export.pk)
        export_fail(export=export, token=token, reason=f"{type(exc).__name__}: {exc}")
        return "failed"


def _write(export: Export, token: str, batch_size: int) -> str:
    spec = SPECS[export.kind]
    queryset = spec.queryset(tenant_id=export.tenant_id, filters=export.filters or {})
    total = queryset.count()
    _owned(export, token).update(total=total)
    rows = 0
    with tempfile.TemporaryFile(mode="w+b", prefix="skillhub-export-") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
        safe = not export.raw
        # Safe exports quote every cell, so a spreadsheet that splits on another separator (`;`) cannot
        # start a new, unneutralised cell in the middle of one.
        writer = csv.writer(text, quoting=csv.QUOTE_ALL if safe else csv.QUOTE_MINIMAL)
        writer.writerow(spec.header)
        for written in _batches(spec, queryset, raw=raw, writer=writer, size=batch_size, safe=safe):
            rows += written
            renewed = _owned(export, token).update(rows=rows, lease_until=LEASE.until(timezone.now()))
            if not renewed:
                return "lease lost"  # another worker took it over after our lease ran out
        text.flush()
        size = raw.tell()
        raw.seek(0)
        text.detach()
        name = storage.export_name(tenant_id=export.tenant_id, export_id=export.pk, attempt=export.attempts)
        stored = storage.save(name, File(raw, name=name))
    return _finish(export, token, stored=stored, rows=rows, size=size)


def _batches(spec: Any, queryset: Any, *, raw: Any, writer: Any, size: int, safe: bool) -> Iterator[int]:
    """Yield the rows written per batch: by `COPY` on PostgreSQL, through the csv module elsewhere."""
    if uses_postgres_statements():
        yield from copy_batches(spec, queryset, out=raw, size=size, safe=safe)
        return
    for batch in spec.batches(queryset, size=size):
        writer.writerows([cell(value, safe=safe) for value in row] for row in batch)
        yield len(batch)


def _finish(export: Export, token: str, *, stored: str, rows: int, size: int) -> str:
    now = timezone.now()
    with transaction.atomic():
        done = _owned(export, token).update(
            status=ExportStatus.DONE,
            rows=rows,
            total=rows,
            size=size,
            storage_name=stored,
            finished_at=now,
            expires_at=now + export_retention(tenant=export.tenant),
            lease_until=None,
        )
        if done:
            export.refresh_from_db()
            url = export_download_url(export, slug=export.tenant.slug)
            record_event(
                tenant=export.tenant,
                event_type="export.ready",
                data=export_ready_data(export, download_url=url),
                subject_type="export",
                subject_id=str(export.pk),
            )
    if not done:
        storage.delete_quietly(stored)
        return "lease lost"
    return "done"


def exports_resend_due(*, now: datetime | None = None, grace: timedelta = timedelta(seconds=30), limit: int = 200) -> int:
    """Re-send exports whose message is lost (queued too long) or whose worker died (lease lapsed)."""
    now = now or timezone.now()
    due = Export.objects.filter(
        Q(status=ExportStatus.QUEUED, enqueued_at__lt=now - grace)
        | Q(status=ExportStatus.QUEUED, enqueued_at__isnull=True)
        | Q(status=ExportStatus.RUNNING) & LEASE.lapsed_q("lease_until", now)
    ).filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - grace))
    ids = [str(pk) for pk in due.order_by("id").values_list("pk", flat=True)[:limit]]
    if ids:
        Export.objects.filter(pk__in=ids).update(enqueued_at=now)
        exports_due.send_robust(sender=Export, export_ids=ids)
    return len(ids)


def exports_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """Delete the files of finished exports past their expiry; the rows stay, marked expired."""
    now = now or timezone.now()
    expired = 0
    for export in Export.objects.filter(status=ExportStatus.DONE, expires_at__lt=now).order_by("expires_at")[:limit]:
        if Export.objects.filter(pk=export.pk, status=ExportStatus.DONE).update(status=ExportStatus.EXPIRED):
            storage.delete_quietly(export.storage_name)
            expired += 1
    return expired


def export_expire_now(*, export: Export) -> Export:
    """Expire one finished export at once (admin action): its link stops working and its file is deleted."""
    if Export.objects.filter(pk=export.pk, status=ExportStatus.DONE).update(
        status=ExportStatus.EXPIRED, expires_at=timezone.now()
    ):
        storage.delete_quietly(export.storage_name)
    export.refresh_from_db()
    return export


def export_restart(*, export: Export) -> Export:
    """Queue a failed or expired export again (admin action); it is written afresh."""
    if Export.objects.filter(pk=export.pk, status__in=[ExportStatus.FAILED, ExportStatus.EXPIRED]).update(
        status=ExportStatus.QUEUED, attempts=0, error="", rows=0, lease_token="", enqueued_at=timezone.now()
    ):
        send_on_commit(exports_due, sender=Export, export_ids=[str(export.pk)])
    export.refresh_from_db()
    return export
