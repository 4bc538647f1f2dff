"""PostgreSQL keeps attempts in id-range partitions: retention drops a whole expired one, and keeps a pending delivery's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tenants import retention
from tests.webhooks.helpers import make_endpoint
from tests.webhooks.history import seed_history
from webhooks import partitions
from webhooks.models import Attempt, DeliveryState

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SIZE = 10


@pytest.fixture(autouse=True)
def local_targets(settings):  # noqa: ANN001, ANN201
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def small_partitions():  # noqa: ANN201
    """New attempt ids start past the migration's partitions, in partitions of ten made for the test."""
    top = partitions.partitions()[-1].high
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(%s, %s, false)", [partitions.SEQUENCE, top])
    partitions.ensure_partitions(ahead=6, size=SIZE)
    return top


def _partition_of(attempt_id: int) -> str | None:
    return next((p.name for p in partitions.partitions() if p.low <= attempt_id < p.high), None)


def test_migration_leaves_a_partitioned_table_that_takes_attempts_as_before(tenant):
    assert partitions.is_partitioned()
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hook")
    [delivery] = seed_history(endpoint, attempts=2)
    assert Attempt.objects.filter(delivery=delivery).count() == 2
    assert all(_partition_of(pk) for pk in Attempt.objects.values_list("pk", flat=True))


def test_partitions_are_made_ahead_of_the_ids_in_use_and_not_again(tenant, small_partitions):
    made_before = len(partitions.partitions())
    assert partitions.ensure_partitions(ahead=6, size=SIZE) == 0, "enough are ahead already"
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hook")
    seed_history(endpoint, attempts=30)
    assert partitions.ensure_partitions(ahead=6, size=SIZE) == 3, "three partitions filled: three more made"
    assert len(partitions.partitions()) == made_before + 3


def test_retention_drops_an_expired_partition_whole_and_keeps_a_pending_deliverys_attempts(tenant, small_partitions):
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hook")
    now = timezone.now()
    old = seed_history(endpoint, attempts=10, start=now - timedelta(days=60), step=timedelta(minutes=1))
    pending = seed_history(endpoint, attempts=4, start=now - timedelta(days=59), step=timedelta(minutes=1), state=DeliveryState.PENDING)
    old_too = seed_history(endpoint, attempts=6, start=now - timedelta(days=58), step=timedelta(minutes=1))
    recent = seed_history(endpoint, attempts=10, start=now - timedelta(days=1), step=timedelta(minutes=1))
    first = _partition_of(Attempt.objects.filter(delivery__in=old).order_by("pk").first().pk)
    second = _partition_of(Attempt.objects.filter(delivery__in=pending).order_by("pk").first().pk)
    assert first and second and first != second
    with connection.cursor() as cursor:
        # The test's one transaction still holds the seeding's deferred key checks, which a detach refuses to outlive.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    result = retention.sweep()

    names = {p.name for p in partitions.partitions()}
    assert first not in names, "the partition with only expired, finished attempts is dropped whole"
    assert second in names, "a partition holding a pending delivery's attempts stays"
    assert not Attempt.objects.filter(delivery__in=old + old_too).exists()
    assert Attempt.objects.filter(delivery__in=pending).count() == 4
    assert Attempt.objects.filter(delivery__in=recent).count() == 10
    assert result.removed["attempts"] == 16, "rows dropped with the partition are counted with the deleted ones"
    assert retention.policy_get(tenant=tenant).attempts_removed_before is not None, "the log can say older attempts were removed"
    assert retention.sweep().removed.get("attempts", 0) == 0
