"""Writes of a learner's credentials and onboarding steps (complete and undo, with who and when)."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from learning.evidence.models import Evidence
from learning.models import Credential, Learner, OnboardingCompletion, OnboardingStep
from learning.topics import topic_label
from skillhub.errors import ConflictError, NotFoundError, ValidationFailed
from tenants.models import Tenant
from tenants.services import site_get_or_create

CREDENTIAL_FIELDS = ("name", "topic", "issuer", "issued_on", "valid_until", "evidence")


def credential_errors(*, tenant_id: Any, learner_id: Any, values: dict[str, Any]) -> dict[str, str]:
    """Return what is wrong with credential values, by API field name (empty when they are fine)."""
    errors: dict[str, str] = {}
    if "name" in values and not (values["name"] or "").strip():
        errors["name"] = "This field is required"
    issued, expires = values.get("issued_on"), values.get("valid_until")
    if issued and expires and expires < issued:
        errors["expiresOn"] = "must not be before issuedOn"
    evidence: Evidence | None = values.get("evidence")
    if evidence is not None and (evidence.tenant_id != tenant_id or evidence.learner_id != learner_id):
        errors["evidenceId"] = "unknown evidence of this learner"
    return errors


def credential_create(
    *,
    tenant: Tenant,
    learner: Learner,
    name: str,
    topic: str = "",
    issuer: str = "",
    issued_on: date | None = None,
    valid_until: date | None = None,
    evidence: Evidence | None = None,
) -> Credential:
    """Record a credential a learner holds (licence, certificate), optionally backed by evidence."""
    if learner.tenant_id != tenant.pk:
        raise NotFoundError("Learner not found")
    values = {"name": name, "issued_on": issued_on, "valid_until": valid_until, "evidence": evidence}
    errors = credential_errors(tenant_id=tenant.pk, learner_id=learner.pk, values=values)
    if errors:
        raise ValidationFailed(errors)
    return Credential.objects.create(
        tenant=tenant,
        learner=learner,
        name=name.strip()[:200],
        topic=topic_label(topic),
        issuer=(issuer or "").strip()[:200],
        issued_on=issued_on,
        valid_until=valid_until,
        evidence=evidence,
    )


def credential_update(*, credential: Credential, values: dict[str, Any]) -> Credential:
    """Change a credential (e.g. renew it with a new expiry); only the fields given change."""
    changes = {k: v for k, v in values.items() if k in CREDENTIAL_FIELDS}
    merged = {"issued_on": credential.issued_on, "valid_until": credential.valid_until, **changes}
    errors = credential_errors(tenant_id=credential.tenant_id, learner_id=credential.learner_id, values=merged)
    if errors:
        raise ValidationFailed(errors)
    for key, value in changes.items():
        if key == "topic":
            value = topic_label(value or "")
        elif key in ("name", "issuer"):
            value = (value or "").strip()[:200]
        setattr(credential, key, value)
    if changes:
        credential.save(update_fields=[*changes, "updated_at"])
    return credential


def credential_delete(*, credential: Credential) -> None:
    credential.delete()


def onboarding_step_create(*, tenant: Tenant, name: str, site_name: str = "", position: int = 0) -> OnboardingStep:
    """Create an onboarding step for the tenant (or one site), or return the existing one with that name."""
    if not (name or "").strip():
        raise ValidationFailed({"name": "This field is required"})
    site = site_get_or_create(tenant=tenant, name=site_name) if site_name else None
    step, _ = OnboardingStep.objects.get_or_create(
        tenant=tenant, name=name.strip()[:200], defaults={"site": site, "position": position}
    )
    return step


def onboarding_complete(*, step: OnboardingStep, learner: Learner, by: str = "") -> OnboardingCompletion:
    """Record that a learner completed an onboarding step, by whom; completing it again changes nothing."""
    if step.tenant_id != learner.tenant_id:
        raise NotFoundError("Onboarding step not found")
    if step.site_id is not None and step.site_id != learner.site_id:
        raise ValidationFailed({"stepId": "this step belongs to another site than the learner's"})
    live = OnboardingCompletion.objects.filter(step=step, learner=learner, undone_at__isnull=True).first()
    if live is not None:
        return live
    try:
        with transaction.atomic():
            return OnboardingCompletion.objects.create(
                step=step, learner=learner, completed_at=timezone.now(), completed_by=(by or "")[:200]
            )
    except IntegrityError as exc:  # completed concurrently: the other request's row stands
        live = OnboardingCompletion.objects.filter(step=step, learner=learner, undone_at__isnull=True).first()
        if live is None:
            raise ConflictError("Onboarding step changed concurrently; try again") from exc
        return live


@transaction.atomic
def onboarding_undo(*, step: OnboardingStep, learner: Learner, by: str = "") -> OnboardingCompletion:
    """Undo a learner's completion of a step, keeping who completed and who undid it, and when."""
    if step.tenant_id != learner.tenant_id:
        raise NotFoundError("Onboarding step not found")
    live = OnboardingCompletion.objects.select_for_update().filter(step=step, learner=learner, undone_at__isnull=True).first()
    if live is None:
        raise NotFoundError("The learner has not completed this onboarding step")
    live.undone_at = timezone.now()
    live.undone_by = (by or "")[:200]
    live.save(update_fields=["undone_at", "undone_by"])
    return live
