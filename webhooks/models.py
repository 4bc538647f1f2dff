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
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict)
    # What the event is about, for thin payloads: ("learner", "<id>").
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="event_tenant_created")]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"
