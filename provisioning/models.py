"""What SCIM clients say about a learner beyond its own fields, and CSV imports of learners."""
from __future__ import annotations

from django.db import models

from learning.models import Learner
from skillhub.ids import uuid7
from tenants.models import Tenant


class ScimUser(models.Model):
    """A learner's SCIM identity: its userName and the enterprise attributes the learner has no field for."""

    learner = models.OneToOneField(Learner, on_delete=models.CASCADE, primary_key=True, related_name="scim")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user_name = models.CharField(max_length=254)
    # userName is not case-sensitive (RFC 7643 §4.1.1): unique and matched in this folded form.
    user_name_key = models.CharField(max_length=254, editable=False)
    employee_number = models.CharField(max_length=100, blank=True, default="")
    department = models.CharField(max_length=200, blank=True, default="")
    manager_id = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SCIM user"
        constraints = [models.UniqueConstraint(fields=["tenant", "user_name_key"], name="scim_user_unique_user_name")]

    def __str__(self) -> str:
        return self.user_name


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class LearnerImport(models.Model):
    """A CSV file of learners: checked and previewed first, then written in chunks by a worker."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="learner_imports")
    file_name = models.CharField(max_length=255, blank=True, default="")
    # [[line number, {"firstName": …, …}], …]: the parsed rows, so the worker needs no file.
    rows = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # The preview's counts, shown until the import runs.
    preview = models.JSONField(default=dict, blank=True)
    # [{"line": n, "field": …, "message": …}, …], the first errors met.
    errors = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Moved by every chunk written: the sweep re-sends an import whose worker stopped.
    touched_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "learner import"
        indexes = [models.Index(fields=["status", "created_at"], name="learner_import_status")]

    def __str__(self) -> str:
        return f"{self.file_name or 'import'} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else 100
