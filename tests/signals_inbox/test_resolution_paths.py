"""Resolution: worker by external_worker_id → email → learner_id, else a cohort; unmatched ids are parked, not dropped."""
from __future__ import annotations

import pytest

from learning.services import learner_create
from signals_inbox.models import Need, NeedAction, Target
from signals_inbox.services import signal_resolve
from tests.factories import LearnerFactory, SiteFactory
from tests.signals_inbox.factories import post_signal, published_course, send_and_resolve, signal_body
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def test_worker_found_by_external_worker_id(client, tenant, secret):
    learner = LearnerFactory(tenant=tenant, external_worker_id="W-123")

    need = send_and_resolve(client, tenant, secret, external_worker_id="W-123", topic="Forklift Operation")

    assert need.target == Target.WORKER
    assert need.learner == learner


def test_worker_found_by_email_case_insensitively(client, tenant, secret):
    learner = LearnerFactory(tenant=tenant, email="jordan@acme.com")

    need = send_and_resolve(client, tenant, secret, email="Jordan@Acme.com", topic="Working at Heights")

    assert need.learner == learner


def test_worker_found_by_learner_id(client, tenant, secret):
    learner = LearnerFactory(tenant=tenant)

    need = send_and_resolve(client, tenant, secret, learner_id=str(learner.pk), topic="Working at Heights")

    assert need.learner == learner


def test_unknown_external_id_falls_back_to_email(client, tenant, secret):
    learner = LearnerFactory(tenant=tenant, email="jordan@acme.com")

    need = send_and_resolve(client, tenant, secret, external_worker_id="W-NOBODY", email="jordan@acme.com", topic="WAH")

    assert need.learner == learner and need.target == Target.WORKER


def test_site_without_worker_is_a_cohort_need(client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling")

    assert need.target == Target.COHORT
    assert need.site_name == "Site A"
    assert need.learner is None


def test_worker_site_is_taken_from_the_learner(client, tenant, secret):
    LearnerFactory(tenant=tenant, external_worker_id="W-1", site=SiteFactory(tenant=tenant, name="Site B"))

    need = send_and_resolve(client, tenant, secret, external_worker_id="W-1", topic="WAH")

    assert need.site_name == "Site B"


def test_id_matching_nobody_is_kept_as_unmatched(client, tenant, secret, api):
    need = send_and_resolve(client, tenant, secret, external_worker_id="W-404", topic="WAH")

    listed = api.get(f"/api/v1/tenants/{tenant.slug}/needs").json()["data"]

    assert need.target == Target.UNMATCHED
    assert need.worker_ref == "external_worker_id:W-404"
    assert [(n["id"], n["target"], n["workerRef"]) for n in listed] == [(str(need.pk), "unmatched", "external_worker_id:W-404")]


def test_parked_need_is_matched_when_the_learner_is_created(client, tenant, secret, django_capture_on_commit_callbacks):
    need = send_and_resolve(client, tenant, secret, external_worker_id="W-404", topic="WAH")

    with django_capture_on_commit_callbacks(execute=True):
        learner = learner_create(tenant=tenant, values={"first_name": "Late", "last_name": "Arrival", "external_worker_id": "W-404"})

    need.refresh_from_db()
    assert need.target == Target.WORKER
    assert need.learner == learner


def test_resolution_records_need_created_once_even_if_run_twice(client, tenant, secret):
    response = post_signal(client, tenant.slug, signal_body(email="a@b.c", topic="WAH"), secret=secret)
    signal_id = response.json()["signalId"]

    first = signal_resolve(signal_id=signal_id)
    second = signal_resolve(signal_id=signal_id)

    assert (first, second) == (True, False)
    assert Event.objects.filter(type="need.created").count() == 1
    assert Event.objects.get(type="need.created").data["id"] == str(Need.objects.get().pk)


def test_exact_topic_match_is_a_recommendation(client, tenant, secret):
    course = published_course(tenant, title="WAH basics", topic="Working at Heights")

    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Working at Heights")

    assert need.action == NeedAction.OFFER
    assert need.recommended_course == course
    assert need.match == "exact"


@pytest.mark.parametrize("sent", ["working at heights", "Heights, working at", "Working at Height", "WORKING  AT HEIGHTS"])
def test_tolerant_topic_match_ignores_case_plural_and_word_order(client, tenant, secret, sent):
    course = published_course(tenant, title="WAH basics", topic="Working at Heights")

    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic=sent)

    assert need.recommended_course == course
    assert need.match in ("exact", "tolerant")


def test_draft_courses_are_not_recommended(client, tenant, secret):
    from learning.services import course_create

    course_create(tenant=tenant, title="Draft", topic="Working at Heights")

    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Working at Heights")

    assert need.action == NeedAction.AUTHOR
    assert need.recommended_course is None


def test_no_fitting_course_means_author_one(client, tenant, secret, api):
    published_course(tenant, title="Forklifts", topic="Forklift Operation")

    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Confined Spaces")
    detail = api.get(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}").json()

    assert detail["action"] == "author"
    assert detail["recommendation"] is None
    assert detail["signals"][0]["data"]["topic"] == "Confined Spaces"


def test_another_tenants_learner_is_never_matched(client, tenant, secret):
    LearnerFactory(external_worker_id="W-9")  # another tenant

    need = send_and_resolve(client, tenant, secret, external_worker_id="W-9", topic="WAH")

    assert need.target == Target.UNMATCHED
