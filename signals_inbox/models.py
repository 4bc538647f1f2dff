"""Signals, the training needs they become, the signal map, and the audit trail of both."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from learning.models import Assignment, Course, Learner
from skillhub.ids import prefixed_id, uuid7
from tenants.models import Tenant


def new_signal_id() -> str:
    return prefixed_id("sig")


class NeedStatus(models.TextChoices):
    OPEN = "open", "Open"
    OFFERED = "offered", "Offered"
    AUTHORING = "authoring", "Authoring"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


# A need in one of these states is "open" for deduplication: a re-sent data point coalesces onto it.
ACTIVE_NEED_STATUSES = (NeedStatus.OPEN, NeedStatus.OFFERED, NeedStatus.AUTHORING)
# A closed need's unchanged data point, re-sent by a full sync, does not re-open it (within a window).
CLOSED_NEED_STATUSES = (NeedStatus.RESOLVED, NeedStatus.DISMISSED)


class Target(models.TextChoices):
    PENDING = "pending", "Not resolved yet"
    WORKER = "worker", "Worker"
    COHORT = "cohort", "Cohort (site)"
    UNMATCHED = "unmatched", "Unmatched worker"


class NeedAction(models.TextChoices):
    OFFER = "offer", "Offer the recommended course"
    AUTHOR = "author", "Author one"


class Need(models.Model):
    """A training need: one open gap per dedupe key, fed by one or more signals."""

    # Every index here is paid for on each ingest: FKs covered by a composite index have none of their own.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="needs", db_index=False)
    dedupe_key = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=NeedStatus.choices, default=NeedStatus.OPEN, db_default=NeedStatus.OPEN)
    type = models.CharField(max_length=64)
    topic = models.CharField(max_length=200)
    topic_key = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True, default="", db_default="")
    severity = models.PositiveSmallIntegerField(default=2, db_default=2)
    # The worker as the signal named it ("external_worker_id:W-1", "email:…", "learner_id:…"), "" for a cohort.
    worker_ref = models.CharField(max_length=300, blank=True, default="", db_default="")
    site_name = models.CharField(max_length=200, blank=True, default="", db_default="")
    payload = models.JSONField(default=dict, blank=True)
    signal_count = models.PositiveIntegerField(default=1, db_default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Filled in by resolution (the actor), not at ingest.
    target = models.CharField(max_length=20, choices=Target.choices, default=Target.PENDING, db_default=Target.PENDING)
    learner = models.ForeignKey(Learner, on_delete=models.SET_NULL, null=True, blank=True, related_name="needs", db_index=False)
    action = models.CharField(max_length=20, choices=NeedAction.choices, blank=True, default="", db_default="")
    recommended_course = models.ForeignKey(
        Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="recommended_for_needs", db_index=False
    )
    match = models.CharField(max_length=20, blank=True, default="", db_default="", help_text="exact | tolerant")
    authored_course = models.ForeignKey(
        Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="authored_for_needs", db_index=False
    )
    offered_course = models.ForeignKey(
        Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="offered_for_needs", db_index=False
    )
    assignments = models.ManyToManyField(Assignment, through="NeedAssignment", related_name="needs", blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When the worker/course resolution ran")
    closed_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            # The database, not a read-then-write, guarantees one open need per key.
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"],
                condition=Q(status__in=["open", "offered", "authoring"]),
                name="need_one_open_per_dedupe_key",
            ),
            models.CheckConstraint(condition=Q(severity__gte=1, severity__lte=4), name="need_severity_1_to_4"),
        ]
        # Partial indexes cover only rows that resolution has touched, so an ingest insert skips them.
        indexes = [
            models.Index(fields=["tenant", "id"], name="need_tenant_id"),
            models.Index(fields=["learner"], condition=Q(learner__isnull=False), name="need_learner"),
            models.Index(
                fields=["tenant", "topic_key"], condition=Q(status="open", action="author"), name="need_open_author_topic"
            ),
            models.Index(fields=["tenant", "worker_ref"], condition=Q(target="unmatched"), name="need_unmatched_worker"),
            # A re-sent data point looks up the last closed need of its key; open needs (every ingest insert) stay out.
            models.Index(
                fields=["tenant", "dedupe_key", "closed_at"],
                condition=Q(status__in=["resolved", "dismissed"]),
                name="need_closed_dedupe_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} ({self.status})"


class Signal(models.Model):
    """One authenticated data point as it arrived, kept verbatim for audit."""

    id = models.CharField(primary_key=True, max_length=40, default=new_signal_id, editable=False)
    # An append-only log written by one statement that takes `need` from the row it has just written
    # and `tenant` from the verified request, so the database-level foreign keys would only add two
    # row-lock checks to every ingest. Deletion still cascades (Django's collector does it).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="signals", db_index=False, db_constraint=False)
    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="signals", db_constraint=False)
    deduped = models.BooleanField(default=False)
    event = models.CharField(max_length=100)
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict, help_text="The webhook's data object, verbatim")
    received_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Set when resolving this signal failed: batches leave it alone until then (it is retried on its own).
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "id"], name="signal_tenant_id"),
            # The sweep's scan: only unresolved rows are in this index.
            models.Index(fields=["received_at"], condition=Q(resolved_at__isnull=True), name="signal_unresolved"),
        ]

    def __str__(self) -> str:
        return self.id


class RejectedSignal(models.Model):
    """An authenticated request that failed validation, kept (bounded) so an admin can fix and reprocess it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="rejected_signals")
    body = models.TextField(help_text="The request body as received (edit it, then reprocess)")
    reason = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    reprocessed_at = models.DateTimeField(null=True, blank=True)
    reprocessed_signal_id = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "id"], name="rejected_signal_tenant_id")]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.reason[:60]}"


class InboxSettings(models.Model):
    """A tenant's signal-inbox settings: auto-author, its threshold and monthly quota."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="inbox_settings")
    auto_author = models.BooleanField(default=False)
    auto_author_threshold = models.PositiveIntegerField(
        default=3, help_text="Open needs sharing a topic that no course fits before a draft is authored"
    )
    authoring_quota_monthly = models.PositiveIntegerField(default=5, help_text="Automatic drafts per calendar month")
    require_timestamped_signatures = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Accept only Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature), "
        "which cannot be replayed; the plain X-Skillhub-Signature of the body alone is then refused",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "signal map & automation"
        verbose_name_plural = "signal maps & automation"

    def __str__(self) -> str:
        return f"{self.tenant}"


class SignalMapEntry(models.Model):
    """Per tenant and signal type: the topic, category and severity a signal gets unless it says otherwise."""

    settings = models.ForeignKey(InboxSettings, on_delete=models.CASCADE, related_name="entries")
    type = models.CharField(max_length=64)
    topic = models.CharField(max_length=200, blank=True, default="")
    category = models.CharField(max_length=100, blank=True, default="")
    severity = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["type"]
        verbose_name = "signal map entry"
        verbose_name_plural = "signal map"
        constraints = [
            models.UniqueConstraint(fields=["settings", "type"], name="signal_map_one_entry_per_type"),
            models.CheckConstraint(
                condition=Q(severity__isnull=True) | Q(severity__gte=1, severity__lte=4), name="signal_map_severity_1_to_4"
            ),
        ]

    def __str__(self) -> str:
        return self.type


class NeedAssignment(models.Model):
    """An assignment made by offering a need; the need resolves when all of them are completed."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE)
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["need", "assignment"], name="need_assignment_once")]


class AuditEntry(models.Model):
    """Who did what to the inbox, and when: every Offer, Author, Dismiss, map change and automatic action."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="inbox_audit")
    need = models.ForeignKey(Need, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit")
    actor = models.CharField(max_length=200, help_text="api-key:<prefix>, user:<name> or system:<what>")
    action = models.CharField(max_length=40)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["tenant", "action", "created_at"], name="inbox_audit_tenant_action")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action}"


# How far a signal's webhook-timestamp may be from the server's clock, either way (Standard Webhooks' default).
SIGNATURE_TOLERANCE_SECONDS = 300


class SeenWebhookId(models.Model):
    """A `webhook-id` of a timestamped signal, remembered while its timestamp is within tolerance, so it is taken once."""

    # Written once per timestamped signal; the tenant comes from the verified request, so no FK check is needed.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    webhook_id = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "webhook_id"], name="seen_webhook_id_once")]
        indexes = [models.Index(fields=["expires_at"], name="seen_webhook_id_expiry")]

    def __str__(self) -> str:
        return self.webhook_id


class NeedDay(models.Model):
    """How a tenant's needs moved on one day: opened, closed, and still open at its end (kept by a sweep)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="need_days", db_index=False)
    day = models.DateField()
    opened = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    open_at_end = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["tenant_id", "day"]
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="need_day_unique")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day}"


class BulkKind(models.TextChoices):
    OFFER = "offer", "Offer"
    DISMISS = "dismiss", "Dismiss"


class BulkRun(models.Model):
    """An Offer or Dismiss of many needs at once (up to a whole list), run in the background in batches.

    The console confirms it, then one worker walks `need_ids` from `position`, so a run lost with its
    worker resumes where it stopped; its page shows the totals as they grow.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="inbox_bulk_runs")
    kind = models.CharField(max_length=20, choices=BulkKind.choices)
    actor = models.CharField(max_length=200)
    need_ids = models.JSONField(default=list)
    # The service's keyword arguments (need_offer's choices, or the dismiss reason); dates as ISO text.
    arguments = models.JSONField(default=dict)
    summary = models.CharField(max_length=500, blank=True, default="", help_text="What was confirmed, in words")
    total = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    assignments = models.PositiveIntegerField(default=0)
    # The first failures as [[need id, topic, reason], …]; the count is `failed`.
    errors = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="bulk_run_tenant_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.total} needs"
