"""The event outbox: every domain event is a row written in its cause's transaction."""

from __future__ import annotations

from django.db import models

from skillhub.ids import prefixed_id
from tenants.models import Tenant


def new_event_id() -> str:
    return prefixed_id("evt")


class Event(models.Model):
    """One thing that happened to a tenant's data, as integrators will receive it."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    # Every index is written on each of the many inserts; (tenant, created_at) serves the reads.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    # What the event is about, for thin payloads: ("learner", "<id>").
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="event_tenant_created")]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


def new_endpoint_id() -> str:
    return prefixed_id("we")


def new_delivery_id() -> str:
    return prefixed_id("dlv")


class PayloadStyle(models.TextChoices):
    FULL = "full", "Full event"
    THIN = "thin", "Thin (a link to the document)"


class RetryPolicyName(models.TextChoices):
    STANDARD = "standard", "Standard (5 attempts over a day)"
    EXPONENTIAL = "exponential", "Exponential (60 attempts over two days)"


class Endpoint(models.Model):
    """A receiver URL of one tenant and how to sign, filter and retry what goes to it."""

    id = models.CharField(primary_key=True, max_length=40, default=new_endpoint_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2048)
    # Dotted catalog names; empty means every event.
    events = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    deactivate_reason = models.CharField(max_length=500, blank=True)
    description = models.CharField(max_length=500, blank=True)
    # Kept readable: HMAC signing needs the key itself. Never logged or listed.
    secret = models.CharField(max_length=128)
    previous_secret = models.CharField(max_length=128, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    basic_auth_username = models.CharField(max_length=200, blank=True)
    basic_auth_password = models.CharField(max_length=200, blank=True)
    additional_headers = models.JSONField(default=dict, blank=True)
    payload_style = models.CharField(max_length=10, choices=PayloadStyle.choices, default=PayloadStyle.FULL)
    retry_policy = models.CharField(max_length=20, choices=RetryPolicyName.choices, default=RetryPolicyName.STANDARD)
    send_secret_header = models.BooleanField(default=False)
    # The last `webhook-sequence` handed out; raised in the fan-out transaction.
    sequence = models.BigIntegerField(default=0)
    # Deliveries in flight at once; null means settings.WEBHOOKS_MAX_IN_FLIGHT (webhooks/flow.py).
    max_in_flight = models.PositiveSmallIntegerField(null=True, blank=True)
    # The circuit breaker: consecutive timeouts or connection failures, and (once they reach the
    # threshold) when the next single probe may go; cleared by any answer from the receiver.
    consecutive_failures = models.PositiveIntegerField(default=0)
    circuit_open_until = models.DateTimeField(null=True, blank=True)
    circuit_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "enabled"], name="endpoint_tenant_enabled")]

    def __str__(self) -> str:
        return f"{self.id} {self.url}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One event on its way to one endpoint: the unit that is claimed, sent and retried."""

    id = models.CharField(primary_key=True, max_length=40, default=new_delivery_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_deliveries", db_index=False)
    # Each claim and attempt rewrites the row's index entries, so only the indexes reads need:
    # (endpoint, id) and (tenant, id) also serve the foreign keys; no read looks up by event.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    event_type = models.CharField(max_length=64)
    sequence = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    # Attempts in the current cycle (a retry or replay starts a new one); drives the schedule.
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A claim is a lease: a worker killed mid-request loses it and the sweep hands the row on.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # When a broker message for the next attempt was last sent; the sweep skips rows sent recently.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    is_ping = models.BooleanField(default=False)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # Only unfinished rows are scanned by the sweep, so the index stays small.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(state__in=["pending", "sending"]),
            ),
            # An endpoint's delivery log, newest or oldest first from any point, at the same cost
            # however long its history (ids are time-ordered, so a time is also an id bound).
            models.Index(fields=["endpoint", "id"], name="delivery_endpoint_log"),
            models.Index(fields=["tenant", "id"], name="delivery_tenant_log"),
            # The next delivery of an endpoint, in sequence order, among its unfinished ones.
            models.Index(
                fields=["endpoint", "sequence"],
                name="delivery_endpoint_next",
                condition=models.Q(state__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.event_type} → {self.endpoint_id}"


class SlotState(models.TextChoices):
    FREE = "free", "Free"
    QUEUED = "queued", "Queued (a message is on its way)"
    SENDING = "sending", "Sending"


class EndpointSlot(models.Model):
    """One of an endpoint's in-flight places: a delivery is sent only while it holds one.

    A slot is held under a lease, so a worker killed mid-request frees it when the lease runs
    out; slots are rows, so the cap holds across every worker process and machine.
    """

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="slots", db_index=False)
    number = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=SlotState.choices, default=SlotState.FREE)
    # The delivery being sent, or the one a queued message was sent for.
    delivery_id = models.CharField(max_length=40, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint", "number"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "number"], name="endpoint_slot_unique")]

    def __str__(self) -> str:
        return f"{self.endpoint_id} slot {self.number} {self.state}"


class Attempt(models.Model):
    """One HTTP POST of a delivery, as the receiver answered it."""

    # No database-level key (db_constraint=False): on PostgreSQL the table is partitioned, and a
    # partition with a foreign key can only be detached under a lock on the deliveries, which the
    # delivery path holds in the other order (a deadlock). The engine writes attempts only for a
    # delivery it holds, and retention removes a delivery's attempts before the delivery.
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts", db_constraint=False)
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True)
    response_body = models.TextField(blank=True)
    # The receiver's answer headers, as received (at most RESPONSE_HEADERS_KEPT of them); null for
    # attempts recorded before they were kept, or that got no answer.
    response_headers = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number} {self.status_code or self.error}"


class EndpointHealth(models.Model):
    """An endpoint's health as its attempts happen (webhooks/health.py), so no page counts its history."""

    endpoint = models.OneToOneField(Endpoint, on_delete=models.CASCADE, primary_key=True, related_name="health_row")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # Attempts that failed since the last one that succeeded (any cause, unlike the breaker's count).
    failures_in_a_row = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.endpoint_id} health"


# Upper bounds (ms) of the latency histogram kept per endpoint and hour; one more bucket holds the rest.
LATENCY_BOUNDS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 15000)


class EndpointHour(models.Model):
    """One endpoint's attempts in one hour: how each ended, and a latency histogram for its median and p95."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="hours", db_index=False)
    hour = models.DateTimeField()
    delivered = models.PositiveIntegerField(default=0)
    retrying = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    lat_0 = models.PositiveIntegerField(default=0)
    lat_1 = models.PositiveIntegerField(default=0)
    lat_2 = models.PositiveIntegerField(default=0)
    lat_3 = models.PositiveIntegerField(default=0)
    lat_4 = models.PositiveIntegerField(default=0)
    lat_5 = models.PositiveIntegerField(default=0)
    lat_6 = models.PositiveIntegerField(default=0)
    lat_7 = models.PositiveIntegerField(default=0)
    lat_8 = models.PositiveIntegerField(default=0)
    lat_9 = models.PositiveIntegerField(default=0)
    lat_10 = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["endpoint_id", "hour"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "hour"], name="endpoint_hour_unique")]

    def __str__(self) -> str:
        return f"{self.endpoint_id} {self.hour:%Y-%m-%d %H}:00"

    @property
    def attempts(self) -> int:
        return self.delivered + self.retrying + self.failed

    def latencies(self) -> list[int]:
        return [getattr(self, f"lat_{i}") for i in range(len(LATENCY_BOUNDS_MS) + 1)]
