"""`seed_demo` shows training management: lessons, quizzes, a path, a class with enrollments, a voucher."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from learning.training.models import ClassEnrollment, LearningPath, Lesson, Quiz, TrainingClass, Voucher

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_training_content_once(settings, tmp_path):
    settings.DATA_DIR = tmp_path

    call_command("seed_demo", "--learners", "8", stdout=io.StringIO())
    counts = [m.objects.count() for m in (Lesson, Quiz, LearningPath, TrainingClass, ClassEnrollment, Voucher)]
    call_command("seed_demo", "--learners", "8", stdout=io.StringIO())

    assert counts == [m.objects.count() for m in (Lesson, Quiz, LearningPath, TrainingClass, ClassEnrollment, Voucher)]
    assert counts[0] >= 5 and counts[1] == 2 and counts[2] == 1 and counts[3] == 1 and counts[4] == 5 and counts[5] == 1
    assert ClassEnrollment.objects.filter(status=20).count() == 1
