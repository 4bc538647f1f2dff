"""Upserting many learners at once: one result per row, each row written whole or not at all.

Rows are matched to existing learners by external worker id, then by email. Every row is checked
first (in Python, without the database) and every existing learner a row may match is read in one
query; the rows that pass are written together in one transaction, in a fixed number of statements
whatever their number (COPY on PostgreSQL), with one `learner.created` or `learner.updated` event
and one audit entry each. A row that changes nothing writes nothing, so re-sending the same
file is a no-op. Should the database refuse the batch (a concurrent write took an email a moment
ago), the rows are written one by one through the single-learner services instead, so a row that
clashes becomes that row's error and every other row is still written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from skillhub.hooks import send_on_commit
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from learning.events import learner_data, learner_updated_data
from learning.signals import learners_saved
from learning.models import Learner, LearnerStatus
from learning.services import _change_count, learner_create, learner_update
from learning.validators import sa_id_number_problem
from skillhub.db import insert_rows, uses_postgres_statements
from skillhub.errors import DomainError, ValidationFailed
from tenants import audit
from tenants.models import Site, Tenant
from tenants.services import site_get_or_create
from webhooks.outbox import record_events

MAX_ROWS = 10_000
# Rows per multi-row statement; SQLite allows 32,766 parameters in one statement.
_BATCH = 500

# API field → (model field, longest value); the row fields a bulk import takes.
ROW_FIELDS: dict[str, tuple[str, int]] = {
    "firstName": ("first_name", 100),
    "lastName": ("last_name", 100),
    "email": ("email", 254),
    "externalWorkerId": ("external_worker_id", 100),
    "saIdNumber": ("sa_id_number", 13),
    "site": ("site", 200),
    "role": ("role", 100),
    "status": ("status", 20),
}
_API_NAME = {model: api for api, (model, _limit) in ROW_FIELDS.items()}
_email_valid = EmailValidator()


@dataclass
class RowResult:
    """What happened to one row: created, updated, unchanged or error (with the API error body)."""

    row: int
    status: str
    learner_id: str | None = None
    error: dict[str, Any] | None = None
    changed: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"row": self.row, "status": self.status, "id": self.learner_id}
        if self.changed:
            body["changedFields"] = self.changed
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass
class BulkOutcome:
    results: list[RowResult]
    dry_run: bool = False

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def summary(self) -> dict[str, int]:
        return {
            "rows": len(self.results),
            "created": self.count("created"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "failed": self.count("error"),
        }

    def as_json(self) -> dict[str, Any]:
        return {"dryRun": self.dry_run, "summary": self.summary, "results": [r.as_json() for r in self.results]}


class _RowError(Exception):
    def __init__(self, code: str, message: str, errors: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.body = _error_body(code, message, errors)


def _error_body(code: str, message: str, errors: list[tuple[str, str]]) -> dict[str, Any]:
    """The API error shape (docs/contract.md, section 2) for one row: every invalid field listed, the first in `details`."""
    field_name, reason = errors[0]
    details: dict[str, Any] = {"field": field_name or None, "reason": reason}
    if len(errors) > 1:
        details["errors"] = [{"field": f or None, "reason": r} for f, r in errors]
    return {"code": code, "message": message, "details": details}


def _domain_error_body(exc: DomainError) -> dict[str, Any]:
    if isinstance(exc, ValidationFailed):
        pairs = [(_API_NAME.get(f, f), reason) for f, reason in exc.errors.items()]
        return _error_body(exc.code, exc.message if exc.field not in _API_NAME else f"Invalid {pairs[0][0]}", pairs)
    return _error_body(exc.code, exc.message, [(_API_NAME.get(exc.field or "", exc.field or ""), exc.reason)])


def _clean_row(raw: Any) -> dict[str, Any]:
    """Return a row's model values (only the fields it names), or raise _RowError listing every problem."""
    if not isinstance(raw, Mapping):
        raise _RowError("VALIDATION_ERROR", "A row must be a JSON object", [("", "must be a JSON object")])
    errors: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        spec = ROW_FIELDS.get(key)
        if spec is None:
            errors.append((str(key)[:100], "unknown field"))
            continue
        model_field, limit = spec
        if value is None:
            if key in ("firstName", "lastName", "status"):
                errors.append((key, "may not be null"))
            else:
                values[model_field] = ""
            continue
        if not isinstance(value, str):
            errors.append((key, "must be a string"))
            continue
        text = value.strip()
        if len(text) > limit:
            errors.append((key, f"must be at most {limit} characters"))
            continue
        values[model_field] = text.lower() if key == "email" else text
    for key in ("firstName", "lastName"):
        if key in raw and raw[key] is not None and not values.get(ROW_FIELDS[key][0]) and (key, "must be a string") not in errors:
            errors.append((key, "This field may not be blank"))
    email = values.get("email")
    if email:
        try:
            _email_valid(email)
        except DjangoValidationError:
            errors.append(("email", "Enter a valid email address"))
    sa_id = values.get("sa_id_number")
    if sa_id:
        problem = sa_id_number_problem(sa_id)
        if problem:
            errors.append(("saIdNumber", problem))
    status = values.get("status")
    if status is not None and status not in LearnerStatus.values:
        errors.append(("status", f"must be one of {', '.join(LearnerStatus.values)}"))
    if not values.get("external_worker_id") and not values.get("email") and not any(f in ("email", "externalWorkerId") for f, _ in errors):
        errors.append(("externalWorkerId", "externalWorkerId or email is required to match the row"))
    if errors:
        first = errors[0][0]
        message = "Invalid SA ID number" if first == "saIdNumber" else (f"Invalid {first}" if first else "Invalid row")
        raise _RowError("VALIDATION_ERROR", message, errors)
    return values


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _matching(tenant: Tenant, workers: set[str], emails: set[str]) -> list[Learner]:
    """The tenant's learners holding one of `workers` as external worker id or one of `emails`, with their site.

    On PostgreSQL one query, each list one array parameter; elsewhere a query per field per 500 keys.
    """
    # Unordered, and without empty values as the unique indexes are: the planner then uses them.
    learners = Learner.objects.select_related("site").filter(tenant=tenant).order_by()
    if uses_postgres_statements():
        table = connection.ops.quote_name(Learner._meta.db_table)
        match = RawSQL(
            f"(({table}.external_worker_id = ANY(%s) AND {table}.external_worker_id <> '')"
            f" OR ({table}.email = ANY(%s) AND {table}.email <> ''))",
            (sorted(workers), sorted(emails)),
            output_field=BooleanField(),
        )
        return list(learners.filter(match)) if workers or emails else []
    found: dict[Any, Learner] = {}
    for field_name, keys in (("external_worker_id", workers), ("email", emails)):
        for chunk in _chunks(sorted(keys), _BATCH):
            for learner in learners.exclude(**{field_name: ""}).filter(**{f"{field_name}__in": chunk}):
                found.setdefault(learner.pk, learner)
    return list(found.values())


def _sites(tenant: Tenant, names: set[str]) -> dict[str, Site]:
    sites = {site.name: site for site in Site.objects.filter(tenant=tenant, name__in=sorted(names))}
    for name in sorted(names - set(sites)):
        sites[name] = site_get_or_create(tenant=tenant, name=name)
    return sites


@dataclass
class _Plan:
    creates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    updates: list[tuple[int, Learner, dict[str, Any]]] = field(default_factory=list)


def _plan(tenant: Tenant, rows: Sequence[Any], results: list[RowResult]) -> _Plan:
    """Check every row and decide, for those that pass, whether it creates or updates which learner."""
    cleaned: dict[int, dict[str, Any]] = {}
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(rows):
        try:
            values = _clean_row(raw)
        except _RowError as exc:
            results[index] = RowResult(row=index + 1, status="error", error=exc.body)
            continue
        clash = None
        for model_field in ("external_worker_id", "email"):
            key = values.get(model_field)
            if key and (model_field, key) in seen:
                clash = (model_field, seen[(model_field, key)])
                break
        if clash is not None:
            api_name = _API_NAME[clash[0]]
            results[index] = RowResult(
                row=index + 1,
                status="error",
                error=_error_body("CONFLICT", f"The same {api_name} is in row {clash[1]}", [(api_name, f"duplicate of row {clash[1]}")]),
            )
            continue
        for model_field in ("external_worker_id", "email"):
            if values.get(model_field):
                seen[(model_field, values[model_field])] = index + 1
        cleaned[index] = values

    existing = _matching(
        tenant,
        {v["external_worker_id"] for v in cleaned.values() if v.get("external_worker_id")},
        {v["email"] for v in cleaned.values() if v.get("email")},
    )
    by_worker = {learner.external_worker_id: learner for learner in existing if learner.external_worker_id}
    by_email = {learner.email: learner for learner in existing if learner.email}
    email_owner = {email: learner.pk for email, learner in by_email.items()}
    plan = _Plan()
    for index, values in cleaned.items():
        worker, email = values.get("external_worker_id"), values.get("email")
        target = by_worker.get(worker) if worker else None
        if target is None and email:
            target = by_email.get(email)
            if target is not None and worker and target.external_worker_id and target.external_worker_id != worker:
                results[index] = RowResult(
                    row=index + 1,
                    status="error",
                    learner_id=str(target.pk),
                    error=_error_body(
                        "CONFLICT",
                        "This email belongs to a learner with another external worker id",
                        [("email", "already exists")],
                    ),
                )
                continue
        if email and target is not None and email in email_owner and email_owner[email] != target.pk:
            results[index] = RowResult(
                row=index + 1,
                status="error",
                learner_id=str(target.pk),
                error=_error_body("CONFLICT", "A learner with this email already exists", [("email", "already exists")]),
            )
            continue
        if target is None:
            missing = [api for api, (model, _l) in ROW_FIELDS.items() if api in ("firstName", "lastName") and not values.get(model)]
            if missing:
                results[index] = RowResult(
                    row=index + 1,
                    status="error",
                    error=_error_body("VALIDATION_ERROR", f"Invalid {missing[0]}", [(m, "This field is required") for m in missing]),
                )
                continue
            plan.creates.append((index, values))
        else:
            plan.updates.append((index, target, values))
    return plan


def _changes(learner: Learner, values: dict[str, Any]) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for model_field, value in values.items():
        if model_field == "site":
            current = learner.site.name if learner.site is not None else ""
        else:
            current = getattr(learner, model_field)
        if current != value:
            changed[model_field] = value
    return changed


def learners_bulk_upsert(*, tenant: Tenant, rows: Sequence[Any], dry_run: bool = False) -> BulkOutcome:
    """Create or update a learner per row (matched by external worker id, then email); one result per row.

    With `dry_run`, every row is checked and matched exactly as for real, and nothing is written.
    """
    if len(rows) > MAX_ROWS:
        raise ValidationFailed({"learners": f"at most {MAX_ROWS} rows per call"})
    results: list[RowResult] = [RowResult(row=n + 1, status="pending") for n in range(len(rows))]
    plan = _plan(tenant, rows, results)
    updates: list[tuple[int, Learner, dict[str, Any]]] = []
    for index, learner, values in plan.updates:
        changed = _changes(learner, values)
        if changed:
            updates.append((index, learner, changed))
        else:
            results[index] = RowResult(row=index + 1, status="unchanged", learner_id=str(learner.pk))
    if dry_run:
        for index, _values in plan.creates:
            results[index] = RowResult(row=index + 1, status="created")
        for index, learner, changed in updates:
            results[index] = RowResult(row=index + 1, status="updated", learner_id=str(learner.pk), changed=_api_names(changed))
        return BulkOutcome(results=results, dry_run=True)
    try:
        _write_together(tenant, plan.creates, updates, results)
    except IntegrityError:
        _write_one_by_one(tenant, plan.creates, updates, results)
    return BulkOutcome(results=results)


def _api_names(changed: Mapping[str, Any]) -> list[str]:
    return [_API_NAME[name] for name in changed]


def _write_together(
    tenant: Tenant,
    creates: list[tuple[int, dict[str, Any]]],
    updates: list[tuple[int, Learner, dict[str, Any]]],
    results: list[RowResult],
) -> None:
    site_names = {v["site"] for _i, v in creates if v.get("site")} | {c["site"] for _i, _l, c in updates if c.get("site")}
    sites = _sites(tenant, site_names) if site_names else {}
    now = timezone.now()
    new_learners: list[Learner] = []
    for _index, values in creates:
        fields = {k: v for k, v in values.items() if k != "site"}
        site = sites.get(values["site"]) if values.get("site") else None
        new_learners.append(Learner(tenant=tenant, site=site, **fields))
    update_fields: set[str] = {"updated_at"}
    befores = []
    for _index, learner, changed in updates:
        befores.append(learner_data(learner))
        for model_field, value in changed.items():
            if model_field == "site":
                learner.site = sites.get(value) if value else None
                update_fields.add("site")
            else:
                setattr(learner, model_field, value)
                update_fields.add(model_field)
        learner.updated_at = now
    with transaction.atomic():
        _insert(new_learners, now)
        if updates:
            Learner.objects.bulk_update([learner for _i, learner, _c in updates], sorted(update_fields), batch_size=_BATCH)
        if new_learners:
            _change_count(tenant=tenant, delta=len(new_learners))
            record_events(
                tenant=tenant,
                event_type="learner.created",
                items=[(learner_data(learner), "learner", str(learner.pk)) for learner in new_learners],
            )
        updated_items = []
        for (_index, learner, _changed), before in zip(updates, befores):
            data = learner_updated_data(learner_data(learner), before=before)
            if data is not None:
                updated_items.append((data, "learner", str(learner.pk)))
        if updated_items:
            record_events(tenant=tenant, event_type="learner.updated", items=updated_items)
        # The writes bypass the model signals the audit log listens to: recorded here, as they would be.
        audit.audit_record_many(
            tenant=tenant,
            object_type=audit.object_type(Learner),
            items=[
                *((learner.pk, "created", audit.created_fields(learner)) for learner in new_learners),
                *((learner.pk, "updated", list(changed)) for _i, learner, changed in updates),
            ],
        )
        saved = [learner.pk for learner in new_learners] + [learner.pk for _i, learner, _c in updates]
        if saved:
            send_on_commit(learners_saved, sender=Learner, tenant_id=tenant.pk, learner_ids=saved)
    for (index, _values), learner in zip(creates, new_learners):
        results[index] = RowResult(row=index + 1, status="created", learner_id=str(learner.pk))
    for index, learner, changed in updates:
        results[index] = RowResult(row=index + 1, status="updated", learner_id=str(learner.pk), changed=_api_names(changed))


_FIELDS = Learner._meta.concrete_fields


def _insert(learners: list[Learner], now: Any) -> None:
    """INSERT the new learners: one COPY on PostgreSQL, one prepared statement run per row elsewhere.

    `bulk_create` compiles a multi-row statement per batch, and a multi-row statement is split and
    quoted in the client: that, not the database, was most of an import's time.
    """
    db = connections[DEFAULT_DB_ALIAS]  # resolved once, not once per value through the proxy
    for learner in learners:
        learner.created_at = learner.updated_at = now
    insert_rows(
        Learner._meta.db_table,
        [str(f.column) for f in _FIELDS],
        [[f.get_db_prep_save(getattr(learner, f.attname), db) for f in _FIELDS] for learner in learners],
    )
    for learner in learners:
        learner._state.adding = False
        learner._state.db = db.alias


def _write_one_by_one(
    tenant: Tenant,
    creates: list[tuple[int, dict[str, Any]]],
    updates: list[tuple[int, Learner, dict[str, Any]]],
    results: list[RowResult],
) -> None:
    """Write each row through the single-learner services; a row the database refuses is that row's error."""
    for index, values in creates:
        try:
            with transaction.atomic():  # a savepoint when the request has a transaction of its own
                learner = learner_create(tenant=tenant, values=values)
        except DomainError as exc:
            results[index] = RowResult(row=index + 1, status="error", error=_domain_error_body(exc))
        else:
            results[index] = RowResult(row=index + 1, status="created", learner_id=str(learner.pk))
    for index, stale, changed in updates:
        current = Learner.objects.select_related("site").filter(pk=stale.pk).first()
        if current is None:
            results[index] = RowResult(
                row=index + 1, status="error", error=_error_body("NOT_FOUND", "The learner was deleted meanwhile", [("", "deleted")])
            )
            continue
        try:
            with transaction.atomic():
                learner_update(learner=current, values=changed)
        except DomainError as exc:
            results[index] = RowResult(row=index + 1, status="error", learner_id=str(current.pk), error=_domain_error_body(exc))
        else:
            results[index] = RowResult(row=index + 1, status="updated", learner_id=str(current.pk), changed=_api_names(changed))
