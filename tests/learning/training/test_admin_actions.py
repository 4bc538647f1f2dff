"""The training back office: pages open with rows in them, and actions and saves go through the services."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from learning.training import models
from learning.training.models import ClassEnrollment, Lesson, Purchase, TrainingClass
from learning.training.services import classes, commerce
from learning.training.statuses import ClassStatus, EnrollmentStatus
from tests.factories import LearnerFactory
from tests.learning.training.factories import events, published_course, training_class

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client):  # noqa: ANN001, ANN201
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.login(username="root", password="pw-root-123")
    return client


def _changelist(model: type) -> str:
    return reverse(f"admin:learning_{model._meta.model_name}_changelist")


def test_every_training_model_is_registered_and_its_list_opens_with_rows(root, tenant):
    klass = training_class(tenant)
    classes.enrollment_create(tenant=tenant, training_class=klass, learner=LearnerFactory(tenant=tenant))
    training = [m for m in vars(models).values() if isinstance(m, type) and getattr(m, "__module__", "") == models.__name__ and hasattr(m, "_meta") and not m._meta.abstract]
    registered = set(admin.site._registry)

    for model in training:
        if model is models.PathCourse:
            continue  # shown inline on its path
        assert model in registered, model
        assert root.get(_changelist(model)).status_code == 200, model


def test_purchase_fulfil_action_calls_the_service(root, tenant):
    purchase = commerce.purchase_create(
        tenant=tenant, learner=LearnerFactory(tenant=tenant), course=published_course(tenant), external_order_id="A-1", amount="5", currency="ZAR"
    )

    root.post(_changelist(Purchase), {"action": "fulfil", "_selected_action": [str(purchase.pk)]})

    assert Purchase.objects.get(pk=purchase.pk).status == "fulfilled" and len(events("purchase.fulfilled")) == 1


def test_class_cancel_action_moves_class_and_enrollments_with_events(root, tenant):
    klass = training_class(tenant)
    enrollment = classes.enrollment_create(tenant=tenant, training_class=klass, learner=LearnerFactory(tenant=tenant))

    root.post(_changelist(TrainingClass), {"action": "cancel", "_selected_action": [str(klass.pk)]})

    assert TrainingClass.objects.get(pk=klass.pk).status == ClassStatus.CANCELLED
    assert ClassEnrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.CANCEL
    assert events("enrollment.status_changed", id=str(enrollment.pk))[-1]["status"]["code"] == 10


def test_an_illegal_admin_action_is_reported_and_changes_nothing(root, tenant):
    klass = training_class(tenant)
    classes.class_set_status(training_class=klass, status=ClassStatus.COMPLETED)

    response = root.post(_changelist(TrainingClass), {"action": "guarantee", "_selected_action": [str(klass.pk)]}, follow=True)

    assert b"Illegal class status transition" in response.content
    assert TrainingClass.objects.get(pk=klass.pk).status == ClassStatus.COMPLETED


def test_adding_a_lesson_in_the_admin_uses_the_service(root, tenant):
    course = published_course(tenant)

    response = root.post(
        reverse("admin:learning_lesson_add"),
        {"tenant": str(tenant.pk), "course": str(course.pk), "position": "0", "title": "Intro", "body": "Hello", "link": "", "required": "on"},
    )

    assert response.status_code == 302, response.content[:3000]
    assert Lesson.objects.get(course=course).title == "Intro"
