"""Batch lookups for the signal inbox: many workers and topics at once, with the single lookups' answers."""
from __future__ import annotations

import pytest

from learning.selectors import course_match_topic, course_match_topics, learner_find, learners_find_many
from learning.services import course_create, course_publish
from tests.factories import LearnerFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_learners_are_found_by_worker_id_then_email_then_id_with_one_query_per_kind(django_assert_num_queries):
    tenant, other = TenantFactory(), TenantFactory()
    by_id = LearnerFactory(tenant=tenant, external_worker_id="EMP-1", email="a@acme.com")
    by_email = LearnerFactory(tenant=tenant, external_worker_id="EMP-2", email="b@acme.com")
    by_pk = LearnerFactory(tenant=tenant, external_worker_id="EMP-3", email="c@acme.com")
    elsewhere = LearnerFactory(tenant=other, external_worker_id="EMP-9", email="z@acme.com")
    keys = [
        {"external_worker_id": "EMP-1", "email": "b@acme.com"},  # the worker id wins
        {"external_worker_id": "NOBODY", "email": " B@ACME.com "},  # falls back to the e-mail
        {"learner_id": str(by_pk.pk)},
        {"learner_id": "not-a-uuid"},
        {"external_worker_id": "EMP-9", "learner_id": str(elsewhere.pk)},  # another tenant's learner
        {},
    ]

    with django_assert_num_queries(3):
        found = learners_find_many(tenant=tenant, keys=keys)

    assert found == [by_id, by_email, by_pk, None, None, None]
    assert [learner_find(tenant=tenant, **k) for k in keys] == found


def test_topics_match_exactly_then_tolerantly_the_latest_published_course_in_one_query(django_assert_num_queries):
    tenant = TenantFactory()
    older = course_publish(course=course_create(tenant=tenant, title="Heights 1", topic="Working at Heights"))
    newer = course_publish(course=course_create(tenant=tenant, title="Heights 2", topic="Working at Heights"))
    course_create(tenant=tenant, title="Draft", topic="First Aid")  # drafts are never matched
    topics = ["Working at Heights", "heights, working at", "First Aid", ""]

    with django_assert_num_queries(1):
        matches = course_match_topics(tenant=tenant, topics=topics)

    assert matches == {"Working at Heights": (newer, "exact"), "heights, working at": (newer, "tolerant"), "First Aid": (None, ""), "": (None, "")}
    assert older != newer
    assert {topic: course_match_topic(tenant=tenant, topic=topic) for topic in topics} == matches
