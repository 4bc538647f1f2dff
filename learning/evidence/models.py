"""Evidence files, review tasks, assessments, moderations and exports of a tenant."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from skillhub.ids import uuid7
from tenants.models import Tenant

__all__ = [
    "Assessment",
    "Evidence",
    "EvidenceKind",
    "EvidenceStatus",
    "Export",
    "ExportKind",
    "ExportPolicy",
    "ExportStatus",
    "Moderation",
    "ModerationDecision",
    "Outcome",
    "Task",
    "TaskKind",
    "TaskStatus",
]


class EvidenceKind(models.TextChoices):
    DOCUMENT = "document", "Document"
    PHOTO = "photo", "Photo"
    VIDEO = "video", "Video"
    CERTIFICATE = "certificate", "Certificate"
    OBSERVATION = "observation", "Observation record"
    OTHER = "other", "Other"


class EvidenceStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Evidence(models.Model):
    """A learner's file supporting a course or an assessment; the bytes live in the storage backend."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="evidence")
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="evidence")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=EvidenceKind.choices, default=EvidenceKind.DOCUMENT)
    course = models.ForeignKey("learning.Course", on_delete=models.SET_NULL, null=True, blank=True, related_name="evidence")
    assessment = models.ForeignKey(
        "learning.Assessment", on_delete=models.SET_NULL, null=True, blank=True, related_name="supporting_evidence"
    )
    # The client's base name, cleaned, shown in Content-Disposition; never used as a storage path.
    file_name = models.CharField(max_length=200)
    storage_name = models.CharField(max_length=300, editable=False)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=EvidenceStatus.choices, default=EvidenceStatus.SUBMITTED)
    feedback = models.TextField(blank=True, default="")
    uploaded_by = models.CharField(max_length=200, blank=True, default="")
    reviewed_by = models.CharField(max_length=200, blank=True, default="")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "evidence"
        indexes = [
            models.Index(fields=["tenant", "id"], name="evidence_tenant_id"),
            models.Index(fields=["tenant", "status"], name="evidence_tenant_status"),
        ]

    def __str__(self) -> str:
        return self.title


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class TaskKind(models.TextChoices):
    EVIDENCE_REVIEW = "evidence_review", "Evidence review"
    QUIZ_REVIEW = "quiz_review", "Quiz grading"


class Task(models.Model):
    """A piece of work waiting on the dashboard (document 001's DASHBOARD_TASK_CREATED), e.g. a review."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=40, choices=TaskKind.choices)
    title = models.CharField(max_length=300)
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks")
    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks")
    quiz_attempt = models.ForeignKey(
        "learning.QuizAttempt", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evidence", "kind"], condition=Q(status="open"), name="task_one_open_per_evidence_kind"
            ),
            models.UniqueConstraint(
                fields=["quiz_attempt", "kind"], condition=Q(status="open"), name="task_one_open_per_attempt_kind"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "id"], name="task_tenant_status_id")]

    def __str__(self) -> str:
        return self.title


class Outcome(models.TextChoices):
    COMPETENT = "competent", "Competent"
    NOT_YET_COMPETENT = "not_yet_competent", "Not yet competent"


class ModerationDecision(models.TextChoices):
    UPHELD = "upheld", "Upheld"
    OVERTURNED = "overturned", "Overturned"


class Assessment(models.Model):
    """An assessor's judgement of a learner against a course or a unit standard."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="assessments")
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="assessments")
    course = models.ForeignKey("learning.Course", on_delete=models.SET_NULL, null=True, blank=True, related_name="assessments")
    unit_standard = models.CharField(max_length=200, blank=True, default="")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    # Who assessed: a stable caller reference ("api-key:<id>", "user:<id>") and a readable label.
    assessor_ref = models.CharField(max_length=100)
    assessor_label = models.CharField(max_length=200, blank=True, default="")
    # The person behind that caller (the user who minted the key, else the key): never their moderator.
    assessor_person = models.CharField(max_length=100, blank=True, default="")
    assessed_on = models.DateField()
    comments = models.TextField(blank=True, default="")
    evidence = models.ManyToManyField(Evidence, blank=True, related_name="assessments")
    # The latest moderation decision, kept by the moderation service ("" until moderated).
    moderation_decision = models.CharField(max_length=20, choices=ModerationDecision.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "id"], name="assessment_tenant_id")]

    def __str__(self) -> str:
        return f"{self.learner_id}: {self.outcome}"


class Moderation(models.Model):
    """A moderator's review of an assessment: upheld or overturned."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="moderations")
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="moderations")
    moderator_ref = models.CharField(max_length=100)
    moderator_label = models.CharField(max_length=200, blank=True, default="")
    moderator_person = models.CharField(max_length=100, blank=True, default="")
    decision = models.CharField(max_length=20, choices=ModerationDecision.choices)
    # A re-moderation names the moderation it replaces as the assessment's decision; both are kept.
    supersedes = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="superseded_by", editable=False
    )
    comments = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.assessment_id}: {self.decision}"


class ExportKind(models.TextChoices):
    LEARNERS = "learners", "Learners"
    ENROLLMENTS = "enrollments", "Enrollments"
    ASSESSMENTS = "assessments", "Assessments"
    EVIDENCE = "evidence", "Evidence"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class Export(models.Model):
    """A requested CSV export; pending work is this row (with a lease while a worker writes it)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=20, choices=ExportKind.choices)
    format = models.CharField(max_length=10, default="csv")
    filters = models.JSONField(default=dict, blank=True)
    # Cells are written as the data holds them, formulas live (for machine consumers); off by default.
    raw = models.BooleanField(
        default=False, help_text="Write values exactly as stored, formulas live (for programs); off: safe to open in a spreadsheet"
    )
    status = models.CharField(max_length=20, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows = models.BigIntegerField(default=0)
    total = models.BigIntegerField(null=True, blank=True)
    storage_name = models.CharField(max_length=300, blank=True, default="", editable=False)
    size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    requested_by = models.CharField(max_length=200, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    # A worker owns a running export until its lease runs out; it renews the lease every batch.
    lease_token = models.CharField(max_length=40, blank=True, default="", editable=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "id"], name="export_tenant_id"),
            models.Index(fields=["status", "lease_until"], name="export_status_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} export {self.id}"

    @property
    def percent(self) -> int:
        if self.status in (ExportStatus.DONE, ExportStatus.EXPIRED):
            return 100
        if not self.total:
            return 0
        return min(99, int(self.rows * 100 / self.total))


class ExportPolicy(models.Model):
    """How long a tenant's finished export files (and their links) live before the sweep deletes them."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="export_policy")
    retention_hours = models.PositiveIntegerField(default=24, help_text="Hours a finished export can be downloaded")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "export policies"

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.retention_hours} h"
