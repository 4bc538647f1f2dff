"""Learners: the people a tenant trains."""
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
