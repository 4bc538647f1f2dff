"""What the inbox does when learning changes, after the change commits (a failure is logged; the sweeps retry).

A learner write may match parked needs; a completion may close an offered need; a confirmed bulk
Offer or Dismiss goes to a worker.
"""
from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from learning.signals import assignment_completed, learner_saved, learners_saved
from signals_inbox.actors import run_bulk
from signals_inbox.bulk import bulk_run_confirmed
from signals_inbox.services import needs_close_for_assignment, needs_rematch_learner, needs_rematch_learners


@receiver(learner_saved)
def rematch_learner(sender: Any, *, tenant_id: Any, learner_id: Any, **kwargs: Any) -> None:
    needs_rematch_learner(tenant_id=tenant_id, learner_id=learner_id)


@receiver(learners_saved)
def rematch_learners(sender: Any, *, tenant_id: Any, learner_ids: list[Any], **kwargs: Any) -> None:
    needs_rematch_learners(tenant_id=tenant_id, learner_ids=learner_ids)


@receiver(assignment_completed)
def close_needs(sender: Any, *, tenant_id: Any, assignment_id: Any, **kwargs: Any) -> None:
    needs_close_for_assignment(tenant_id=tenant_id, assignment_id=assignment_id)


@receiver(bulk_run_confirmed)
def queue_bulk_run(sender: Any, *, run_id: str, **kwargs: Any) -> None:
    run_bulk.send(run_id)
