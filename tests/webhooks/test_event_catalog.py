"""The event catalog: every SPEC type, the document 001 aliases, and what record_event accepts."""

from __future__ import annotations

import pytest
from django.db import transaction

from learning.events import learner_data
from tests.webhooks.helpers import make_learner
from webhooks import catalog
from webhooks.outbox import record_event

SPEC_TYPES = """learner.created learner.updated learner.deleted evidence.uploaded evidence.reviewed
assessment.recorded moderation.completed export.ready course.enrolled course.completed lesson.completed
path.enrolled path.completed quiz.completed purchase.fulfilled task.created class.status_changed
enrollment.status_changed assignment.started assignment.completed assignment.expired assignment.expiring
feedback.created achievement.earned voucher.redeemed need.created need.offered need.authored need.dismissed
need.resolved webhook.ping endpoint.disabled""".split()

DOCUMENT_001_ALIASES = {
    "COURSE_ENROLLMENT": "course.enrolled",
    "COURSE_COMPLETION": "course.completed",
    "LESSON_COMPLETION": "lesson.completed",
    "PATH_ENROLLMENT": "path.enrolled",
    "PATH_COMPLETION": "path.completed",
    "QUIZ_COMPLETION": "quiz.completed",
    "PURCHASE_FULFILLMENT": "purchase.fulfilled",
    "DASHBOARD_TASK_CREATED": "task.created",
    "DOMAIN_ENROLLMENT": "learner.created",
}


def test_catalog_is_exactly_the_spec_list_each_with_a_description_and_data_shape():
    assert [item.name for item in catalog.EVENT_TYPES] == SPEC_TYPES
    for item in catalog.EVENT_TYPES:
        assert item.description and item.data


@pytest.mark.parametrize("alias, name", DOCUMENT_001_ALIASES.items())
def test_document_001_aliases_map_to_dotted_names(alias, name):
    assert catalog.canonical(alias) == name
    assert catalog.canonical(alias.lower()) == name


@pytest.mark.parametrize("name", ["learner.exploded", "", "LEARNER_CREATED", "COURSE-ENROLLMENT"])
def test_unknown_names_are_refused(name):
    with pytest.raises(catalog.UnknownEventType):
        catalog.canonical(name)


@pytest.mark.django_db
def test_record_event_refuses_a_type_outside_the_catalog(tenant):
    with pytest.raises(catalog.UnknownEventType), transaction.atomic():
        record_event(tenant=tenant, event_type="learner.exploded", data={})


@pytest.mark.django_db(transaction=True)
def test_record_event_must_run_inside_the_callers_transaction(tenant):
    with pytest.raises(RuntimeError):
        record_event(tenant=tenant, event_type="learner.created", data={})


@pytest.mark.django_db
def test_record_event_stores_the_dotted_name_for_an_alias(tenant):
    with transaction.atomic():
        event = record_event(tenant=tenant, event_type="DOMAIN_ENROLLMENT", data=learner_data(make_learner(tenant)))
    assert event.type == "learner.created" and event.id.startswith("evt_")
