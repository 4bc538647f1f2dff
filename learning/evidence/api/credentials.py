"""Credential and onboarding routes: a learner's credentials, the tenant's steps, completing and undoing them."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from learning.evidence import selectors
from learning.evidence.api.common import errors, found, page_of
from learning.evidence.api.serializers import (
    CredentialInputSerializer,
    CredentialOutputSerializer,
    OnboardingCompletionOutputSerializer,
    OnboardingItemOutputSerializer,
    OnboardingStepInputSerializer,
    OnboardingStepOutputSerializer,
)
from learning.evidence.representations import (
    credential_json,
    onboarding_completion_json,
    onboarding_item_json,
    onboarding_step_json,
)
from learning.evidence.services import (
    Caller,
    credential_create,
    credential_delete,
    credential_update,
    onboarding_complete,
    onboarding_step_create,
    onboarding_undo,
)
from learning.models import Learner
from learning.selectors import learner_get
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, paginate, paginate_sequence, paginated_schema, parse_page_request
from tenants.api.views import TenantApiView
from skillhub.errors import ValidationFailed

# API field → service argument
_CREDENTIAL_FIELDS = {
    "name": "name",
    "topic": "topic",
    "issuer": "issuer",
    "issuedOn": "issued_on",
    "expiresOn": "valid_until",
    "evidenceId": "evidence",
}


class _LearnerScoped(TenantApiView):
    scope = "learners"

    def learner(self, learner_id: str) -> Learner:
        return found(learner_get(tenant=self.tenant, learner_id=learner_id))


def _credential_values(tenant: Any, validated: dict[str, Any]) -> dict[str, Any]:
    values = {_CREDENTIAL_FIELDS[k]: v for k, v in validated.items()}
    if "evidence" in values:
        raw = values["evidence"]
        values["evidence"] = selectors.evidence_get(tenant=tenant, evidence_id=raw) if raw else None
        if raw and values["evidence"] is None:
            raise ValidationFailed({"evidenceId": "unknown evidence"})
    for key in ("issuer", "topic"):
        if key in values and values[key] is None:
            values[key] = ""
    return values


class LearnerCredentialsApi(_LearnerScoped):
    """List a learner's credentials, or record one (licence, certificate) with its issuer, dates and evidence."""

    actions = {"POST": "credentials.write"}

    @extend_schema(
        operation_id="learner_credentials_list",
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/CredentialOutput"}}), **errors(404)},
    )
    def get(self, request: Request, slug: str, learner_id: str) -> Response:
        learner = self.learner(learner_id)
        page = paginate(selectors.credential_queryset(tenant=self.tenant, learner=learner), parse_page_request(request.query_params))
        return Response(page.body([credential_json(c) for c in page.rows]))

    @extend_schema(
        operation_id="learner_credentials_create",
        request=CredentialInputSerializer,
        responses={201: CredentialOutputSerializer, **errors(400, 404)},
    )
    def post(self, request: Request, slug: str, learner_id: str) -> Response:
        learner = self.learner(learner_id)
        data = CredentialInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credential = credential_create(tenant=self.tenant, learner=learner, **_credential_values(self.tenant, data.validated_data))
        return Response(credential_json(credential), status=status.HTTP_201_CREATED)


class CredentialDetailApi(_LearnerScoped):
    """Read, change (e.g. renew) or delete one credential."""

    actions = {"PATCH": "credentials.write", "DELETE": "credentials.write"}

    def _credential(self, credential_id: str) -> Any:
        return found(selectors.credential_get(tenant=self.tenant, credential_id=credential_id))

    @extend_schema(operation_id="credentials_read", responses={200: CredentialOutputSerializer, **errors(404)})
    def get(self, request: Request, slug: str, credential_id: str) -> Response:
        return Response(credential_json(self._credential(credential_id)))

    @extend_schema(
        operation_id="credentials_update",
        request=CredentialInputSerializer,
        responses={200: CredentialOutputSerializer, **errors(400, 404)},
    )
    def patch(self, request: Request, slug: str, credential_id: str) -> Response:
        credential = self._credential(credential_id)
        data = CredentialInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        credential = credential_update(credential=credential, values=_credential_values(self.tenant, data.validated_data))
        return Response(credential_json(credential))

    @extend_schema(operation_id="credentials_delete", responses={204: None, **errors(404)})
    def delete(self, request: Request, slug: str, credential_id: str) -> Response:
        credential_delete(credential=self._credential(credential_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OnboardingStepListCreateApi(_LearnerScoped):
    """List the tenant's onboarding steps, or define one (admin), tenant-wide or for one site."""

    actions = {"POST": "onboarding.define"}

    @extend_schema(
        operation_id="onboarding_steps_list",
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/OnboardingStepOutput"}}), **errors(400)},
    )
    def get(self, request: Request, slug: str) -> Response:
        steps = list(selectors.onboarding_steps(tenant=self.tenant))
        page = paginate_sequence(steps, parse_page_request(request.query_params), key=lambda step: str(step.pk))
        return Response(page.body([onboarding_step_json(s) for s in page.rows]))

    @extend_schema(
        operation_id="onboarding_steps_create",
        request=OnboardingStepInputSerializer,
        responses={201: OnboardingStepOutputSerializer, **errors(400)},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = OnboardingStepInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        step = onboarding_step_create(
            tenant=self.tenant, name=values["name"], site_name=values.get("site") or "", position=values.get("position", 0)
        )
        return Response(onboarding_step_json(step), status=status.HTTP_201_CREATED)


class LearnerOnboardingApi(_LearnerScoped):
    """The onboarding steps that apply to a learner, each completed or not, by whom and when."""

    @extend_schema(
        operation_id="learner_onboarding_list",
        parameters=PAGE_OPENAPI_PARAMETERS,
        responses={200: page_of(OnboardingItemOutputSerializer, "LearnerOnboardingPage"), **errors(400, 404)},
    )
    def get(self, request: Request, slug: str, learner_id: str) -> Response:
        learner = self.learner(learner_id)
        items = selectors.onboarding_for_learner(tenant=self.tenant, learner=learner)
        page = paginate_sequence(items, parse_page_request(request.query_params), key=lambda item: str(item[0].pk))
        return Response(page.body([onboarding_item_json(step, completion) for step, completion in page.rows]))


class LearnerOnboardingStepApi(_LearnerScoped):
    """Complete (POST) or undo (DELETE) one onboarding step for a learner."""

    actions = {"POST": "onboarding.complete", "DELETE": "onboarding.complete"}

    def _both(self, learner_id: str, step_id: str) -> tuple[Learner, Any]:
        learner = self.learner(learner_id)
        return learner, found(selectors.onboarding_step_get(tenant=self.tenant, step_id=step_id))

    @extend_schema(
        operation_id="learner_onboarding_complete",
        request=None,
        responses={200: OnboardingCompletionOutputSerializer, **errors(400, 404)},
    )
    def post(self, request: Request, slug: str, learner_id: str, step_id: str) -> Response:
        learner, step = self._both(learner_id, step_id)
        completion = onboarding_complete(step=step, learner=learner, by=Caller.from_request(request).label)
        return Response(onboarding_completion_json(completion))

    @extend_schema(
        operation_id="learner_onboarding_undo",
        responses={200: OnboardingCompletionOutputSerializer, **errors(404)},
    )
    def delete(self, request: Request, slug: str, learner_id: str, step_id: str) -> Response:
        learner, step = self._both(learner_id, step_id)
        completion = onboarding_undo(step=step, learner=learner, by=Caller.from_request(request).label)
        return Response(onboarding_completion_json(completion))
