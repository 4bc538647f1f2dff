"""Inbound signals: the signed webhook, signals, needs, the signal map and readiness."""
from __future__ import annotations

from django.apps import AppConfig


class SignalsInboxConfig(AppConfig):
    name = "signals_inbox"
    verbose_name = "Signal inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What the inbox reacts to, after commit (a failure is logged; the sweeps retry):
        # a learner write may match parked needs, a completion may close an offered need,
        # and a recorded signal goes to the resolution actor (`dispatch` connects itself).
        from learning.hooks import assignment_completed, learner_saved, learners_saved
        from signals_inbox import dispatch  # noqa: F401
        from signals_inbox.actors import run_bulk
        from signals_inbox.bulk import bulk_run_confirmed
        from signals_inbox.services import needs_close_for_assignment, needs_rematch_learner, needs_rematch_learners

        learner_saved.connect(needs_rematch_learner)
        learners_saved.connect(needs_rematch_learners)
        assignment_completed.connect(needs_close_for_assignment)
        bulk_run_confirmed.connect(run_bulk.send)  # a confirmed bulk Offer or Dismiss goes to a worker
