"""Demo training content for `manage.py seed_demo`: lessons, quizzes, a path, a class with enrollments, a voucher."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from django.utils import timezone

from learning.models import Assignment, Course
from learning.services import course_create, course_publish
from learning.training.models import LearningPath
from learning.training.services import classes, commerce, content, engagement, paths, progress
from learning.training.statuses import ClassStatus, EnrollmentStatus
from tenants.models import Tenant

PATH_TITLE = "Plant floor ready"
COURSES = {
    "Confined Space Entry": [
        ("Recognising a confined space", "Any space with limited entry and exit not designed for occupancy.", "", True),
        ("Permits and gas testing", "", "https://example.com/confined-space/permits", True),
        ("Case study: the silo rescue", "Optional reading.", "", False),
    ],
    "Lockout Tagout": [
        ("Energy sources", "Electrical, hydraulic, pneumatic, stored mechanical energy.", "", True),
        ("Applying your lock", "One person, one lock, one key.", "", True),
    ],
}
QUESTIONS = [
    {"text": "Who may enter a confined space?", "choices": ["Anyone", "A permitted entrant"], "answer": 1},
    {"text": "When is the atmosphere tested?", "choices": ["Before and during entry", "Only after an incident"], "answer": 0},
]


def _course(tenant: Tenant, title: str) -> Course:
    course = Course.objects.filter(tenant=tenant, title=title).first() or course_create(tenant=tenant, title=title, created_by="demo")
    course = course_publish(course=course)
    if not course.lessons.exists():
        for position, (lesson_title, body, link, required) in enumerate(COURSES[title]):
            values = {"title": lesson_title, "body": body, "link": link, "required": required, "position": position}
            content.lesson_create(tenant=tenant, course=course, values=values)
    return course


def seed(*, tenant: Tenant, log: Callable[[str], None]) -> None:
    """Add the training demo once (a second run finds the path and stops)."""
    if LearningPath.objects.filter(tenant=tenant, title=PATH_TITLE).exists():
        return
    learners = list(tenant.learners.order_by("id")[:6])
    if len(learners) < 6:
        log("  training: not enough learners for the demo")
        return
    confined, lockout = (_course(tenant, title) for title in COURSES)
    content.quiz_create(tenant=tenant, course=confined, values={"title": "Confined space check", "questions": QUESTIONS, "pass_mark": 100})
    content.quiz_create(
        tenant=tenant,
        course=lockout,
        values={"title": "Lockout practical", "questions": [], "pass_mark": 0, "manual_task": "Photograph your lock on an isolator"},
    )
    path = paths.path_create(tenant=tenant, values={"title": PATH_TITLE, "description": "Before working on the plant floor"}, courses=[confined, lockout])
    engagement.achievement_create(tenant=tenant, values={"name": PATH_TITLE, "path": path, "description": "Completed the plant floor path"})
    for learner in learners[:3]:
        paths.path_enroll(tenant=tenant, path=path, learner=learner, source="demo")
    # The first learner is well on the way: the confined-space lessons done and the quiz passed.
    first = Assignment.objects.get(learner=learners[0], course=confined)
    for lesson in confined.lessons.filter(required=True):
        progress.lesson_complete(assignment=first, lesson=lesson)
    progress.quiz_attempt_submit(assignment=first, answers=[1, 0])
    second = Assignment.objects.get(learner=learners[1], course=lockout)
    progress.quiz_attempt_submit(assignment=second, answers=[], task_response="https://photos.example/lock.jpg")

    start = (timezone.now() + timedelta(days=7)).replace(hour=8, minute=0, second=0, microsecond=0)
    session = classes.class_create(
        tenant=tenant,
        course=confined,
        values={"title": "Confined space practical", "starts_at": start, "ends_at": start + timedelta(hours=4),
                "location": "Site A training bay", "capacity": 3, "instructor": "N. Khumalo"},
    )
    classes.class_set_status(training_class=session, status=ClassStatus.GUARANTEED_TO_RUN)
    for learner in learners[:4]:  # the fourth goes on the waitlist
        classes.enrollment_create(tenant=tenant, training_class=session, learner=learner)
    classes.enrollment_create(tenant=tenant, training_class=session, learner=learners[4], status=EnrollmentStatus.REQUEST)
    commerce.voucher_create(
        tenant=tenant, code="DEMO-CONFINED", course=confined, uses_left=10, expires_at=timezone.now() + timedelta(days=90)
    )
    engagement.feedback_create(tenant=tenant, learner=learners[0], course=confined, rating=5, comment="Clear and practical")
    log("  training: 2 courses with lessons and quizzes, a path, a class with enrollments, voucher DEMO-CONFINED")
