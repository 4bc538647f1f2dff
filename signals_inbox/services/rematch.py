"""Re-matching parked (unmatched) needs when their worker arrives: on learner writes and by the hourly sweep."""
from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from learning.models import Learner
from learning.selectors import learner_get, learners_find_many
from signals_inbox.models import ACTIVE_NEED_STATUSES, Need, Target
from signals_inbox.services.audit import audit_record
from signals_inbox.services.resolution import attach_learner, worker_keys
from skillhub.db import prepared_cursor, uses_postgres_statements
from tenants.models import Tenant


def _attach_and_save(*, need: Need, learner: Learner) -> None:
    attach_learner(need=need, learner=learner, now=timezone.now())
    need.save(update_fields=["learner", "target", "site_name", "updated_at"])
    audit_record(tenant=need.tenant, need=need, actor="system:rematch", action="matched", details={"learnerId": str(learner.pk)})


# Whether a tenant has any parked need. Constants are written out, so a generic plan can use the partial index.
_PARKED_ANY = (
    f"SELECT EXISTS (SELECT 1 FROM {Need._meta.db_table} WHERE tenant_id = %s AND target = '{Target.UNMATCHED.value}' "
    f"AND status IN ({', '.join(repr(str(status)) for status in ACTIVE_NEED_STATUSES)}))"
)


def parked_needs_exist(*, tenant_id: Any) -> bool:
    """Say whether the tenant has parked (unmatched, active) needs: a prepared statement on PostgreSQL.

    Every learner write asks it after commit, and the usual answer is no: compiling the query with
    the ORM cost several times what the database spends on it.
    """
    params = [Tenant._meta.pk.get_db_prep_value(tenant_id, connection)]
    with prepared_cursor() if uses_postgres_statements() else connection.cursor() as cursor:
        cursor.execute(_PARKED_ANY, params)
        return bool(cursor.fetchone()[0])


def needs_rematch_learner(*, tenant_id: Any, learner_id: Any) -> int:
    """Attach parked (unmatched) needs to a learner who was just created or updated; return how many."""
    if not parked_needs_exist(tenant_id=tenant_id):
        return 0  # every learner write runs this: the usual answer costs one indexed query
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    learner = learner_get(tenant=tenant, learner_id=learner_id) if tenant else None
    if learner is None:
        return 0
    refs = [f"learner_id:{learner.pk}"]
    if learner.external_worker_id:
        refs.append(f"external_worker_id:{learner.external_worker_id}")
    if learner.email:
        refs.append(f"email:{learner.email}")
    matched = 0
    with transaction.atomic():
        parked = Need.objects.select_for_update(of=("self",)).select_related("tenant").filter(
            tenant=tenant, target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES, worker_ref__in=refs
        )
        for need in parked:
            _attach_and_save(need=need, learner=learner)
            matched += 1
    return matched


def needs_rematch_learners(*, tenant_id: Any, learner_ids: list[Any]) -> int:
    """Attach parked needs to any of many learners just written at once; return how many."""
    if not parked_needs_exist(tenant_id=tenant_id):
        return 0  # one query for the whole import in the usual case
    parked_any = Need.objects.filter(tenant_id=tenant_id, target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES)
    refs = set(parked_any.values_list("worker_ref", flat=True))
    matched = 0
    for start in range(0, len(learner_ids), 500):
        for learner in Learner.objects.filter(tenant_id=tenant_id, pk__in=learner_ids[start : start + 500]):
            mine = {f"learner_id:{learner.pk}", f"external_worker_id:{learner.external_worker_id}", f"email:{learner.email}"}
            if mine & refs:
                matched += needs_rematch_learner(tenant_id=tenant_id, learner_id=learner.pk)
    return matched


def needs_rematch_unmatched(*, limit: int = 200) -> int:
    """Retry every parked need's worker lookup with all the keys its signals gave (the sweep's backstop)."""
    matched = 0
    ids = list(
        Need.objects.filter(target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES).order_by("updated_at").values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            need = Need.objects.select_for_update(of=("self",)).select_related("tenant").filter(pk=pk, target=Target.UNMATCHED).first()
            if need is None:
                continue
            keys = [worker_keys(data) for data in need.signals.order_by("-id").values_list("data", flat=True)[:20] if isinstance(data, dict)]
            learner = next((found for found in learners_find_many(tenant=need.tenant, keys=keys) if found is not None), None)
            if learner is not None:
                _attach_and_save(need=need, learner=learner)
                matched += 1
            else:
                Need.objects.filter(pk=pk).update(updated_at=timezone.now())
    return matched
