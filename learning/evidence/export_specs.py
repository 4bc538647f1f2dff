"""What each export kind writes: its filters, its CSV columns and the keyset query that reads its rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterable

from django.db.models import Model

from django.db.models import Case, CharField, DateTimeField, F, Func, QuerySet, TextField, Value, When
from django.db.models.functions import Concat
from django.utils.dateparse import parse_datetime

from learning.evidence.models import Assessment, Evidence, EvidenceKind, EvidenceStatus, Outcome
from learning.models import Assignment, AssignmentStatus, Learner, LearnerStatus
from skillhub.formats import iso


def _uuid(value: str) -> str:
    import uuid

    return str(uuid.UUID(value))


def _choice(choices: list[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


def _datetime(value: str) -> str:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError("must be an ISO 8601 date-time")
    return value


@dataclass(frozen=True)
class Filter:
    """One filter an export accepts: its checker (raises ValueError) and the query lookup it becomes."""

    check: Callable[[str], str]
    lookup: str

    def value(self, raw: str) -> Any:
        return parse_datetime(raw) if self.check is _datetime else raw


@dataclass(frozen=True)
class ExportSpec:
    """The columns of one export kind and how to read its rows in id order."""

    model: type[Model]
    header: tuple[str, ...]
    fields: tuple[str, ...]
    filters: dict[str, Filter]

    def queryset(self, *, tenant_id: Any, filters: dict[str, str]) -> QuerySet:
        queryset = self.model._default_manager.filter(tenant_id=tenant_id)
        for name, raw in filters.items():
            spec = self.filters[name]
            queryset = queryset.filter(**{spec.lookup: spec.value(raw)})
        return queryset

    def batches(self, queryset: QuerySet, *, size: int) -> Iterable[list[tuple]]:
        """Yield rows `size` at a time by keyset on id: constant cost and memory at any depth."""
        last = None
        while True:
            window = queryset.filter(pk__gt=last) if last is not None else queryset
            rows = list(window.order_by("pk").values_list(*self.fields)[:size])
            if not rows:
                return
            yield rows
            last = rows[-1][0]


# A spreadsheet evaluates a cell that starts with one of these as a formula (OWASP, "CSV Injection"):
# `=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`, `-2+3`, and a leading TAB or CR that some strip before parsing.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START_RE = "^[-=+@\t\r]"


def neutralise(text: str) -> str:
    """Return a text cell a spreadsheet shows as text: a leading `'` before any formula start."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _field(model: type[Model], path: str) -> Any:
    field: Any = None
    for part in path.split("__"):
        field = model._meta.get_field(part)
        if field.is_relation:
            model = field.related_model
    return field


# PostgreSQL renders times as the Python path does (ISO 8601, UTC, `Z`); the connection runs in UTC.
_ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def copy_batches(spec: ExportSpec, queryset: QuerySet, *, out: Any, size: int, safe: bool = True) -> Iterable[int]:
    """PostgreSQL: write rows as CSV with `COPY … TO STDOUT`, one keyset batch at a time; yield rows per batch.

    The database formats every cell, so the worker only moves bytes: each batch is the rows up to the
    `size`-th next id (found on the index), copied straight into `out`. `safe` neutralises formulas in
    text cells and quotes every cell, as the Python path does.
    """
    from django.db import connection

    columns: list[Any] = []
    for name in spec.fields:
        field = _field(spec.model, name)
        if isinstance(field, DateTimeField):
            columns.append(Func(F(name), Value(_ISO_UTC), function="to_char", output_field=CharField()))
        elif safe and isinstance(field, (CharField, TextField)):
            columns.append(
                Case(
                    When(**{f"{name}__regex": _FORMULA_START_RE}, then=Concat(Value("'"), F(name), output_field=TextField())),
                    default=F(name),
                    output_field=TextField(),
                )
            )
        else:
            columns.append(F(name))
    options = "FORMAT csv, FORCE_QUOTE *" if safe else "FORMAT csv"
    last = None
    while True:
        window = queryset.filter(pk__gt=last) if last is not None else queryset
        boundary = window.order_by("pk").values_list("pk", flat=True)[size - 1 : size].first()
        batch = window.filter(pk__lte=boundary) if boundary is not None else window
        sql, params = batch.order_by("pk").values_list(*columns).query.sql_with_params()
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH ({options})", params) as copy:
                for data in copy:
                    out.write(data)
            written = cursor.cursor.rowcount
        if written:
            yield written
        if boundary is None:
            return
        last = boundary


def cell(value: Any, *, safe: bool = True) -> Any:
    """Return a value as a CSV cell: ISO 8601 times, plain ids, empty for None, formulas neutralised when `safe`."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return iso(value)
    if safe and isinstance(value, str):
        return neutralise(value)
    return value


SPECS: dict[str, ExportSpec] = {
    "learners": ExportSpec(
        model=Learner,
        header=("id", "firstName", "lastName", "email", "externalWorkerId", "saIdNumber", "site", "role", "status", "createdAt", "updatedAt"),
        fields=("id", "first_name", "last_name", "email", "external_worker_id", "sa_id_number", "site__name", "role", "status", "created_at", "updated_at"),
        filters={
            "site": Filter(str, "site__name"),
            "status": Filter(_choice(LearnerStatus.values), "status"),
            "updatedSince": Filter(_datetime, "updated_at__gte"),
        },
    ),
    "enrollments": ExportSpec(
        model=Assignment,
        header=("id", "learnerId", "courseId", "courseTitle", "status", "source", "dueDate", "enrolledAt", "startedAt", "completedAt"),
        fields=("id", "learner_id", "course_id", "course__title", "status", "source", "due_date", "created_at", "started_at", "completed_at"),
        filters={
            "status": Filter(_choice(AssignmentStatus.values), "status"),
            "learnerId": Filter(_uuid, "learner_id"),
            "courseId": Filter(_uuid, "course_id"),
            "updatedSince": Filter(_datetime, "updated_at__gte"),
        },
    ),
    "assessments": ExportSpec(
        model=Assessment,
        header=("id", "learnerId", "courseId", "unitStandard", "outcome", "assessorId", "assessor", "assessedOn", "moderationDecision", "comments", "createdAt"),
        fields=("id", "learner_id", "course_id", "unit_standard", "outcome", "assessor_ref", "assessor_label", "assessed_on", "moderation_decision", "comments", "created_at"),
        filters={
            "outcome": Filter(_choice(Outcome.values), "outcome"),
            "learnerId": Filter(_uuid, "learner_id"),
            "courseId": Filter(_uuid, "course_id"),
            "updatedSince": Filter(_datetime, "updated_at__gte"),
        },
    ),
    "evidence": ExportSpec(
        model=Evidence,
        header=("id", "learnerId", "title", "kind", "courseId", "assessmentId", "fileName", "contentType", "size", "status", "reviewedBy", "reviewedAt", "createdAt"),
        fields=("id", "learner_id", "title", "kind", "course_id", "assessment_id", "file_name", "content_type", "size", "status", "reviewed_by", "reviewed_at", "created_at"),
        filters={
            "status": Filter(_choice(EvidenceStatus.values), "status"),
            "kind": Filter(_choice(EvidenceKind.values), "kind"),
            "learnerId": Filter(_uuid, "learner_id"),
            "courseId": Filter(_uuid, "course_id"),
            "updatedSince": Filter(_datetime, "updated_at__gte"),
        },
    ),
}


def clean_filters(kind: str, filters: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Return (the filters as stored, errors by field) for an export request."""
    if filters in (None, ""):
        return {}, {}
    if not isinstance(filters, dict):
        return {}, {"filters": "must be an object"}
    spec = SPECS[kind]
    clean: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, raw in filters.items():
        if name not in spec.filters:
            errors[f"filters.{name}"] = f"unknown filter for {kind}; known: {', '.join(spec.filters)}"
            continue
        if not isinstance(raw, str) or not raw.strip() or len(raw) > 200:
            errors[f"filters.{name}"] = "must be a non-empty string"
            continue
        try:
            clean[name] = spec.filters[name].check(raw.strip())
        except ValueError as exc:
            errors[f"filters.{name}"] = str(exc)
    return clean, errors
