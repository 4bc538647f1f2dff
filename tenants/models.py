"""Who a tenant is, its plan, its sites and groups, and the credentials that act for it."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from skillhub.ids import uuid7


class Plan(models.TextChoices):
    PILOT = "pilot", "Pilot"
    STANDARD = "standard", "Standard"
    ENTERPRISE = "enterprise", "Enterprise"


# Requests per minute and per day for each plan; enterprise tenants set their own.
PLAN_RATE_LIMITS: dict[str, tuple[int, int]] = {
    Plan.PILOT: (60, 10_000),
    Plan.STANDARD: (300, 100_000),
    Plan.ENTERPRISE: (1_000, 1_000_000),
}


class Tenant(models.Model):
    """An organisation using skillhub; every other row belongs to exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.PILOT)
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Enterprise override")
    rate_limit_per_day = models.PositiveIntegerField(null=True, blank=True, help_text="Enterprise override")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def rate_limits(self) -> tuple[int, int]:
        """Return (per minute, per day) for this tenant's plan and overrides."""
        per_minute, per_day = PLAN_RATE_LIMITS[self.plan]
        if self.plan == Plan.ENTERPRISE:
            per_minute = self.rate_limit_per_minute or per_minute
            per_day = self.rate_limit_per_day or per_day
        return per_minute, per_day


class Site(models.Model):
    """A physical or logical workplace of a tenant; learners and signals name it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="site_unique_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Group(models.Model):
    """A named set of learners, a target for offers and filters."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="group_unique_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    FACILITATOR = "facilitator", "Facilitator"
    ASSESSOR = "assessor", "Assessor"
    MODERATOR = "moderator", "Moderator"
    VIEWER = "viewer", "Viewer"


SCOPES: tuple[str, ...] = tuple(
    f"{resource}:{mode}"
    for resource in ("learners", "evidence", "assessments", "courses", "enrollments", "exports", "webhooks", "needs", "keys", "groups", "sites")
    for mode in ("read", "write")
) + ("scim", "audit:read")  # scim: SCIM 2.0 provisioning (/scim/v2/…), reads and writes users and groups


class ApiKey(models.Model):
    """A bearer credential for one tenant; only its hash and a visible prefix are stored."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    scopes = models.JSONField(default=list, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # After a rotation the previous secret keeps working until `previous_valid_until`.
    previous_key_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    previous_prefix = models.CharField(max_length=12, blank=True)
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The person who minted the key, as a stable reference ("user:<id>"), kept if the user is removed;
    # blank when no person is known (the key then stands for itself). The label is for people to read,
    # e.g. "user:alice" or the operator account of a command-line key.
    created_by_ref = models.CharField(max_length=100, blank=True, default="", editable=False)
    created_by_label = models.CharField("created by", max_length=200, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SignalSecret(models.Model):
    """A shared secret that signs inbound signals; during a rotation two are valid."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="signal_secrets")
    # Kept readable because HMAC verification needs the key itself, not a hash of it.
    secret = models.CharField(max_length=128)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Set when a newer secret replaces it")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.tenant.slug}: sig_{self.prefix}…"


class TenantMembership(models.Model):
    """A console user's right to administer a tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant}"


class StaffToken(models.Model):
    """A bearer token for the admin API (`/api/v1/admin/…`), acting as one staff user; only its hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_tokens")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class RetentionPolicy(models.Model):
    """How long a tenant's history is kept; the retention sweep (tenants/retention.py) removes what has expired.

    Pending deliveries and the signals of open needs are never removed, however old.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="retention")
    # Defaults as webhook platforms keep them: a month of attempts (with the receivers' answers),
    # a quarter of finished deliveries (with their events), a year of signals, audit trails kept.
    attempts_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(3650)])
    deliveries_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)])
    signals_days = models.PositiveIntegerField(default=365, validators=[MinValueValidator(1), MaxValueValidator(3650)])
    audit_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)], help_text="Empty: audit events are kept"
    )
    # The latest cutoff the sweep has applied: records older than it have been removed (null: not yet).
    attempts_removed_before = models.DateTimeField(null=True, blank=True)
    deliveries_removed_before = models.DateTimeField(null=True, blank=True)
    signals_removed_before = models.DateTimeField(null=True, blank=True)
    audit_removed_before = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "retention policy"
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.tenant_id} retention"


class AuditEvent(models.Model):
    """One recorded write: who (the actor), what (object, action, the names of the changed fields) and when."""

    # An auto-increment id: the log's order is exactly the order of the writes, even within a millisecond.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.CharField(max_length=200, help_text="api-key:<prefix>, scim:<prefix>, user:<login>, command:<name> or system:<what>")
    actor_kind = models.CharField(max_length=20)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    action = models.CharField(max_length=40)
    changed_fields = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Retention sweeps and date filters walk this one.
            models.Index(fields=["tenant", "created_at"], name="audit_tenant_created"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_tenant_object"),
            models.Index(fields=["tenant", "actor"], name="audit_tenant_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.object_type} {self.object_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, kept 24 hours to answer its repeats."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="idempotency_records")
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while the first request runs")
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"", blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_unique_key_per_api_key")]

    def __str__(self) -> str:
        return f"{self.api_key_id}: {self.key}"
