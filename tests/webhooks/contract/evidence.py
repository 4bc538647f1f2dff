"""Scenarios of skills evidence: uploads and reviews, review tasks, assessments and moderation, exports."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from learning.evidence.services import export_run
from tenants.models import Role
from tests.factories import make_api_key
from tests.learning.evidence_helpers import PDF, client_for
from tests.webhooks.contract import Context, scenario


def _learner(ctx: Context) -> dict:
    return ctx.post("learners", {"firstName": "Sipho", "lastName": "Ndlovu", "email": "sipho@example.com"})


def _upload(ctx: Context, learner_id: str) -> dict:
    body = {"file": SimpleUploadedFile("induction.pdf", PDF, content_type="application/pdf"), "learnerId": learner_id, "title": "Induction"}
    response = ctx.api.post(ctx.url("evidence"), body, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


@scenario("evidence.uploaded", "task.created", "evidence.reviewed")
def upload_and_review(ctx: Context) -> None:
    evidence = _upload(ctx, _learner(ctx)["id"])
    ctx.patch(f"evidence/{evidence['id']}", {"status": "approved", "feedback": "Clear and complete"})


@scenario("assessment.recorded", "moderation.completed")
def assess_and_moderate(ctx: Context) -> None:
    learner = _learner(ctx)
    evidence = _upload(ctx, learner["id"])
    assessment = ctx.post(
        "assessments",
        {"learnerId": learner["id"], "outcome": "competent", "unitStandard": "US 229998", "evidenceIds": [evidence["id"]]},
    )
    moderator = client_for(make_api_key(ctx.tenant, role=Role.MODERATOR, scopes=["assessments:read", "assessments:write"]))
    response = moderator.post(ctx.url(f"assessments/{assessment['id']}/moderation"), {"decision": "upheld"}, format="json")
    assert response.status_code == 201, response.content


@scenario("export.ready")
def export_learners(ctx: Context) -> None:
    _learner(ctx)
    export = ctx.post("exports", {"kind": "learners", "format": "csv"})
    # What the export worker does with the message the request sent.
    assert export_run(export_id=export["id"]) == "done"
