"""CSV imports of learners from the console: read and previewed (a dry run) first, then written in
chunks by a worker that records its progress on the import row, so a long import shows how far it is."""
from __future__ import annotations

from django.dispatch import Signal
import csv
import io
from datetime import timedelta
from typing import Any, Iterable

from django.db import transaction
from django.utils import timezone

from learning.bulk import MAX_ROWS, ROW_FIELDS, learners_bulk_upsert
from provisioning.models import ImportStatus, LearnerImport
from skillhub.errors import ValidationFailed
from skillhub.hooks import send_on_commit
from tenants.models import Tenant

MAX_IMPORT_ROWS = 50_000
# Below the front's limit for console forms (OTHER_MAX_BODY_BYTES), so the page can say why.
MAX_FILE_BYTES = 8 * 1024 * 1024
CHUNK_ROWS = 1_000
KEPT_ERRORS = 500
# A queued or running import whose row has not moved for this long has lost its worker or message.
STALL_AFTER = timedelta(minutes=2)

# Sent with import_ids=[…] once an import is queued; `provisioning.actors` sends the messages.
imports_due = Signal()

# Header spellings people use → the row field (compared without case, spaces, dashes or underscores).
_HEADERS = {key.lower(): key for key in ROW_FIELDS} | {
    "firstname": "firstName",
    "givenname": "firstName",
    "name": "firstName",
    "lastname": "lastName",
    "surname": "lastName",
    "familyname": "lastName",
    "emailaddress": "email",
    "mail": "email",
    "workerid": "externalWorkerId",
    "employeeid": "externalWorkerId",
    "externalid": "externalWorkerId",
    "idnumber": "saIdNumber",
    "said": "saIdNumber",
}


def _header_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def csv_rows(data: bytes) -> list[list[Any]]:
    """Parse a CSV file (UTF-8, with a header row) into [[line number, row], …]; raise ValidationFailed if unreadable."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed({"file": f"must be at most {MAX_FILE_BYTES // (1024 * 1024)} MB"})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed({"file": "must be UTF-8 text (save the sheet as 'CSV UTF-8')"}) from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise ValidationFailed({"file": "is empty: the first line must name the columns"})
    columns: list[str | None] = []
    unknown = []
    for name in header:
        field = _HEADERS.get(_header_key(name))
        if field is None and name.strip():
            unknown.append(name.strip())
        columns.append(field)
    if unknown:
        known = ", ".join(ROW_FIELDS)
        raise ValidationFailed({"file": f"unknown column {unknown[0]!r}; the columns are {known}"})
    if "externalWorkerId" not in columns and "email" not in columns:
        raise ValidationFailed({"file": "needs an externalWorkerId or an email column to match learners"})
    rows: list[list[Any]] = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise ValidationFailed({"file": f"has more than {MAX_IMPORT_ROWS:,} rows; split it"})
        # Empty cells leave a field as it is: a sheet that omits a value does not erase it.
        row = {field: value.strip() for field, value in zip(columns, values) if field and value.strip()}
        rows.append([reader.line_num, row])
    if not rows:
        raise ValidationFailed({"file": "has a header but no rows"})
    return rows


def _errors(results: Iterable[Any], lines: list[int]) -> list[dict[str, Any]]:
    found = []
    for result in results:
        if result.status == "error" and result.error is not None:
            details = result.error.get("details") or {}
            found.append({"line": lines[result.row - 1], "field": details.get("field") or "", "message": result.error["message"], "reason": details.get("reason", "")})
    return found


def learner_import_preview(*, tenant: Tenant, file_name: str, data: bytes, created_by: str) -> LearnerImport:
    """Read a CSV file and record what importing it would do (creates, updates, errors); nothing is written to learners."""
    rows = csv_rows(data)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    errors: list[dict[str, Any]] = []
    for start in range(0, len(rows), MAX_ROWS):
        chunk = rows[start : start + MAX_ROWS]
        outcome = learners_bulk_upsert(tenant=tenant, rows=[row for _line, row in chunk], dry_run=True)
        for key, value in outcome.summary.items():
            if key in counts:
                counts[key] += value
        errors += _errors(outcome.results, [line for line, _row in chunk])
    return LearnerImport.objects.create(
        tenant=tenant,
        file_name=file_name[:255],
        rows=rows,
        total=len(rows),
        preview=counts,
        errors=errors[:KEPT_ERRORS],
        created_by=created_by[:200],
    )


def learner_import_start(*, learner_import: LearnerImport) -> bool:
    """Queue a previewed import for the workers; False if it was already started."""
    with transaction.atomic():
        started = LearnerImport.objects.filter(pk=learner_import.pk, status=ImportStatus.PREVIEWED).update(
            status=ImportStatus.QUEUED, errors=[], started_at=timezone.now()
        )
        if started:
            send_on_commit(imports_due, sender=LearnerImport, import_ids=[str(learner_import.pk)])
    return bool(started)


def learner_import_cancel(*, learner_import: LearnerImport) -> bool:
    """Drop a previewed import (nothing was written); False once it has started."""
    return bool(LearnerImport.objects.filter(pk=learner_import.pk, status=ImportStatus.PREVIEWED).update(status=ImportStatus.CANCELLED, rows=[]))


def learner_import_run(*, import_id: str) -> int:
    """Write the rows of a queued import chunk by chunk, recording progress after each; return rows written now.

    Each chunk and the progress it makes commit together under a lock on the import row, so a
    second worker on the same import waits and then continues where the first stopped.
    """
    done = 0
    while True:
        with transaction.atomic():
            job = LearnerImport.objects.select_for_update().select_related("tenant").filter(
                pk=import_id, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)
            ).first()
            if job is None:
                return done
            chunk = job.rows[job.processed : job.processed + CHUNK_ROWS]
            if not chunk:
                job.status = ImportStatus.DONE
                job.finished_at = timezone.now()
                job.rows = []
                job.save(update_fields=["status", "finished_at", "rows"])
                return done
            outcome = learners_bulk_upsert(tenant=job.tenant, rows=[row for _line, row in chunk])
            summary = outcome.summary
            job.status = ImportStatus.RUNNING
            job.processed += len(chunk)
            job.created += summary["created"]
            job.updated += summary["updated"]
            job.unchanged += summary["unchanged"]
            job.failed += summary["failed"]
            job.errors = (job.errors + _errors(outcome.results, [line for line, _row in chunk]))[:KEPT_ERRORS]
            job.save(update_fields=["status", "processed", "created", "updated", "unchanged", "failed", "errors", "touched_at"])
            done += len(chunk)


def learner_imports_resend_stalled(*, now: Any = None) -> int:
    """Re-send the imports whose worker or message was lost (queued or running, untouched for a while)."""
    now = now or timezone.now()
    ids = [
        str(pk)
        for pk in LearnerImport.objects.filter(
            status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING), touched_at__lt=now - STALL_AFTER
        ).values_list("pk", flat=True)[:100]
    ]
    if ids:
        LearnerImport.objects.filter(pk__in=ids).update(touched_at=now)
        imports_due.send_robust(sender=LearnerImport, import_ids=ids)
    return len(ids)
