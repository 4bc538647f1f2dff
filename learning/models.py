"""Learners, the courses they take, their assignments, credentials and onboarding steps."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from skillhub.ids import uuid7
from tenants.models import Group, Site, Tenant


class LearnerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    SUSPENDED = "suspended", "Suspended"


class Learner(models.Model):
    """A person learning in a tenant; ids are time-ordered, so `id` is the stable sort."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="learners")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.CharField(max_length=254, blank=True, default="")
    external_worker_id = models.CharField(max_length=100, blank=True, default="")
    sa_id_number = models.CharField(max_length=13, blank=True, default="")
    site = models.ForeignKey(Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="learners")
    role = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=20, choices=LearnerStatus.choices, default=LearnerStatus.ACTIVE)
    groups = models.ManyToManyField(Group, blank=True, related_name="learners")
    # Copy of the group ids, kept by the services, so list pages need no join.
    group_ids = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"], condition=~Q(email=""), name="learner_unique_email_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "external_worker_id"],
                condition=~Q(external_worker_id=""),
                name="learner_unique_worker_id_per_tenant",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "id"], name="learner_tenant_id"),
            models.Index(fields=["tenant", "updated_at"], name="learner_tenant_updated"),
            models.Index(fields=["tenant", "site"], name="learner_tenant_site"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class LearnerCount(models.Model):
    """How many learners a tenant has, kept by the services so list totals never COUNT(*)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="learner_count")
    count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.count}"


class CourseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Course(models.Model):
    """A course in a tenant's library; only published ones are offered or matched to needs."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="courses")
    title = models.CharField(max_length=200)
    topic = models.CharField(max_length=200, blank=True, default="")
    # learning.topics.topic_key(topic or title): what needs are matched on, indexed.
    topic_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    category = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=20, choices=CourseStatus.choices, default=CourseStatus.DRAFT)
    outline = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=200, blank=True, default="", help_text="Who or what created it")
    # The training need a draft was authored from (signals_inbox), kept as a plain id.
    authored_from_need = models.CharField(max_length=64, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "status", "topic_key"], name="course_tenant_status_topic"),
            models.Index(fields=["tenant", "id"], name="course_tenant_id"),
        ]

    def __str__(self) -> str:
        return self.title


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    STARTED = "started", "Started"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"


class Assignment(models.Model):
    """A course assigned to one learner, due by a date."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="assignments")
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="assignments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED)
    # What caused it, e.g. "need:<id>" for an Offer from the signal inbox; "" for a direct assignment.
    source = models.CharField(max_length=80, blank=True, default="")
    assigned_by = models.CharField(max_length=200, blank=True, default="")
    # Set by the first lesson or quiz activity; `assignment.started` is recorded then, once.
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The due date whose expiring window was announced (`assignment.expiring`); a new due date re-arms it.
    expiring_notice_for = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One live assignment of a course per learner; offering it again reuses that one.
            models.UniqueConstraint(
                fields=["learner", "course"],
                condition=Q(status__in=["assigned", "started"]),
                name="assignment_one_live_per_learner_course",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "id"], name="assignment_tenant_id"),
            models.Index(fields=["tenant", "status", "due_date"], name="assignment_tenant_due"),
            # The lifecycle sweep reads live assignments by due date only.
            models.Index(fields=["due_date"], condition=Q(status__in=["assigned", "started"]), name="assignment_live_due"),
        ]

    def __str__(self) -> str:
        return f"{self.course_id} → {self.learner_id}"


class Credential(models.Model):
    """A licence or certificate a learner holds, valid until a date."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="credentials")
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="credentials")
    name = models.CharField(max_length=200)
    topic = models.CharField(max_length=200, blank=True, default="")
    issuer = models.CharField(max_length=200, blank=True, default="")
    issued_on = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    evidence = models.ForeignKey(
        "learning.Evidence", on_delete=models.SET_NULL, null=True, blank=True, related_name="credentials"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["learner_id", "name"]

    def __str__(self) -> str:
        return self.name


class OnboardingStep(models.Model):
    """A step every learner of the tenant (or of one site) must complete to be ready."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="onboarding_steps")
    name = models.CharField(max_length=200)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="onboarding_steps")
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="onboarding_step_unique_name")]

    def __str__(self) -> str:
        return self.name


class OnboardingCompletion(models.Model):
    """One learner's completion of one onboarding step, with who and when; an undo is kept, not deleted."""

    step = models.ForeignKey(OnboardingStep, on_delete=models.CASCADE, related_name="completions")
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="onboarding_completions")
    completed_at = models.DateTimeField()
    completed_by = models.CharField(max_length=200, blank=True, default="")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["step", "learner"], condition=Q(undone_at__isnull=True), name="onboarding_completion_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.learner_id}: {self.step_id}"


from learning.evidence.models import *  # noqa: E402, F401, F403  (skills evidence models, one app)
from learning.training.models import *  # noqa: E402, F401, F403  (training management models)
