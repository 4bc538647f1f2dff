"""How a tenant's senders must sign: the plain body HMAC or only the replay-proof timestamped form,
and the once-only `webhook-id`s of timestamped signals."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone as dt_timezone

from django.db import connection, transaction
from django.utils import timezone

from signals_inbox import verification
from signals_inbox.models import InboxSettings, SeenWebhookId
from signals_inbox.selectors import forget_signing_policy
from signals_inbox.services.audit import audit_record
from skillhub.errors import ValidationFailed
from skillhub.hooks import after_commit
from tenants.models import Tenant

def signal_signing_put(*, tenant: Tenant, actor: str, require_timestamped_signatures: bool) -> InboxSettings:
    """Require (or stop requiring) timestamped signatures for the tenant's signals; audited, applied at once."""
    if not isinstance(require_timestamped_signatures, bool):
        raise ValidationFailed({"requireTimestampedSignatures": "must be true or false"})
    with transaction.atomic():
        row, _ = InboxSettings.objects.select_for_update().get_or_create(tenant=tenant)
        before = row.require_timestamped_signatures
        if before != require_timestamped_signatures:
            row.require_timestamped_signatures = require_timestamped_signatures
            row.save(update_fields=["require_timestamped_signatures", "updated_at"])
            audit_record(
                tenant=tenant,
                actor=actor,
                action="signal_signing_changed",
                details={"requireTimestampedSignatures": require_timestamped_signatures},
            )
        after_commit(_forget, tenant.slug)
    return row


def _forget(slug: str) -> None:
    forget_signing_policy(slug=slug)
    verification.forget(slug)  # this process applies the change at once, others within their 2 s memo


# One statement on both backends: a fresh id is inserted; an id whose remembered time ran out (not
# swept yet) is taken again; an id still remembered returns no row. The unique constraint, not a
# read-then-write, decides between concurrent requests with one id.
_TAKE = """
INSERT INTO signals_inbox_seenwebhookid (tenant_id, webhook_id, expires_at) VALUES (%s, %s, %s)
ON CONFLICT (tenant_id, webhook_id) DO UPDATE SET expires_at = excluded.expires_at
WHERE signals_inbox_seenwebhookid.expires_at < %s
RETURNING id
"""


def webhook_id_take(*, tenant_id: uuid.UUID, webhook_id: str, expires_at: int) -> bool:
    """Remember a timestamped signal's id until `expires_at` (Unix seconds); False when it was already taken."""
    fields = SeenWebhookId._meta
    tenant = fields.get_field("tenant").get_db_prep_save(tenant_id, connection)
    expires = fields.get_field("expires_at")
    until = expires.get_db_prep_save(datetime.fromtimestamp(expires_at, tz=dt_timezone.utc), connection)
    now = expires.get_db_prep_save(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, [tenant, webhook_id, until, now])
        return cursor.fetchone() is not None


def webhook_id_release(*, tenant_id: uuid.UUID, webhook_id: str) -> None:
    """Forget an id whose signal was not recorded after all (invalid body, database trouble), so a retry is not refused."""
    SeenWebhookId.objects.filter(tenant_id=tenant_id, webhook_id=webhook_id).delete()


def webhook_ids_forget_expired(*, limit: int = 10_000) -> int:
    """Delete remembered ids whose timestamps are out of tolerance anyway; return how many."""
    stale = list(SeenWebhookId.objects.filter(expires_at__lt=timezone.now()).values_list("pk", flat=True)[:limit])
    if not stale:
        return 0
    deleted, _ = SeenWebhookId.objects.filter(pk__in=stale).delete()
    return deleted
