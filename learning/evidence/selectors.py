"""Reads of evidence, tasks, assessments, moderations, credentials, onboarding and exports; always given the tenant."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from learning.evidence.models import Assessment, Evidence, Export, Moderation, Task
from learning.models import Credential, Learner, OnboardingCompletion, OnboardingStep
from skillhub.ids import uuid_or_none
from tenants.models import Tenant



def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (ValueError, TypeError):
        return None
    return number if 0 < number < 2**63 else None


def evidence_queryset(*, tenant: Tenant, filters: dict[str, Any] | None = None) -> QuerySet[Evidence]:
    """Return the tenant's evidence in id order, narrowed by `learner_id`, `course_id`, `status`, `kind`."""
    queryset = Evidence.objects.filter(tenant=tenant)
    for key, value in (filters or {}).items():
        queryset = queryset.filter(**{key: value})
    return queryset.order_by("id")


def evidence_get(*, tenant: Tenant, evidence_id: Any) -> Evidence | None:
    pk = uuid_or_none(evidence_id)
    return Evidence.objects.filter(tenant=tenant, pk=pk).first() if pk else None


def evidence_many(*, tenant: Tenant, evidence_ids: list[Any]) -> tuple[list[Evidence], list[str]]:
    """Return the tenant's evidence with these ids, and the ids that are not the tenant's (or not ids)."""
    wanted = {str(raw): uuid_or_none(raw) for raw in evidence_ids}
    found = {e.pk: e for e in Evidence.objects.filter(tenant=tenant, pk__in=[v for v in wanted.values() if v])}
    missing = [raw for raw, pk in wanted.items() if pk is None or pk not in found]
    return [found[pk] for pk in dict.fromkeys(v for v in wanted.values() if v in found)], missing


def task_queryset(*, tenant: Tenant, status: str | None = None) -> QuerySet[Task]:
    queryset = Task.objects.filter(tenant=tenant)
    return (queryset.filter(status=status) if status else queryset).order_by("id")


def task_get(*, tenant: Tenant, task_id: Any) -> Task | None:
    pk = uuid_or_none(task_id)
    return Task.objects.filter(tenant=tenant, pk=pk).first() if pk else None


def assessment_queryset(*, tenant: Tenant, filters: dict[str, Any] | None = None) -> QuerySet[Assessment]:
    queryset = Assessment.objects.filter(tenant=tenant).prefetch_related("evidence")
    for key, value in (filters or {}).items():
        queryset = queryset.filter(**{key: value})
    return queryset.order_by("id")


def assessment_get(*, tenant: Tenant, assessment_id: Any) -> Assessment | None:
    pk = uuid_or_none(assessment_id)
    return Assessment.objects.filter(tenant=tenant, pk=pk).prefetch_related("evidence").first() if pk else None


def moderation_get(*, tenant: Tenant, moderation_id: Any) -> Moderation | None:
    pk = uuid_or_none(moderation_id)
    return Moderation.objects.filter(tenant=tenant, pk=pk).select_related("assessment").first() if pk else None


def moderations_of(*, assessment: Assessment) -> list[Moderation]:
    return list(assessment.moderations.select_related("assessment").order_by("id"))


def credential_queryset(*, tenant: Tenant, learner: Learner | None = None) -> QuerySet[Credential]:
    queryset = Credential.objects.filter(tenant=tenant)
    return (queryset.filter(learner=learner) if learner else queryset).order_by("id")


def credential_get(*, tenant: Tenant, credential_id: Any) -> Credential | None:
    pk = _int(credential_id)
    return Credential.objects.filter(tenant=tenant, pk=pk).first() if pk else None


def onboarding_steps(*, tenant: Tenant) -> QuerySet[OnboardingStep]:
    return OnboardingStep.objects.filter(tenant=tenant).select_related("site").order_by("position", "id")


def onboarding_step_get(*, tenant: Tenant, step_id: Any) -> OnboardingStep | None:
    pk = _int(step_id)
    return OnboardingStep.objects.filter(tenant=tenant, pk=pk).select_related("site").first() if pk else None


def onboarding_for_learner(*, tenant: Tenant, learner: Learner) -> list[tuple[OnboardingStep, OnboardingCompletion | None]]:
    """Return the steps that apply to the learner (tenant-wide or their site), each with its live completion."""
    steps = [s for s in onboarding_steps(tenant=tenant) if s.site_id is None or s.site_id == learner.site_id]
    live = {
        c.step_id: c
        for c in OnboardingCompletion.objects.filter(learner=learner, step__tenant=tenant, undone_at__isnull=True)
    }
    return [(step, live.get(step.pk)) for step in steps]


def export_queryset(*, tenant: Tenant) -> QuerySet[Export]:
    return Export.objects.filter(tenant=tenant).order_by("id")


def export_get(*, tenant: Tenant, export_id: Any) -> Export | None:
    pk = uuid_or_none(export_id)
    return Export.objects.filter(tenant=tenant, pk=pk).first() if pk else None
