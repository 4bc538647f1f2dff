"""Inbound signals: the signed webhook, signals, needs, the signal map and readiness."""
from __future__ import annotations

import logging

from django.apps import AppConfig

logger = logging.getLogger("skillhub.signals")


def _rematch_hook(*, tenant_id, learner_id) -> None:  # noqa: ANN001
    from signals_inbox.services import needs_rematch_learner

    try:
        needs_rematch_learner(tenant_id=tenant_id, learner_id=learner_id)
    except Exception:  # the learner write already committed; the hourly sweep retries the match
        logger.exception("re-matching parked needs for learner %s failed", learner_id)


def _completion_hook(*, tenant_id, assignment_id) -> None:  # noqa: ANN001
    from signals_inbox.services import needs_close_for_assignment

    try:
        needs_close_for_assignment(tenant_id=tenant_id, assignment_id=assignment_id)
    except Exception:  # the completion already committed; the sweep closes the need later
        logger.exception("closing needs for assignment %s failed", assignment_id)


class SignalsInboxConfig(AppConfig):
    name = "signals_inbox"
    verbose_name = "Signal inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from learning.services import assignment_completed_hooks, learner_saved_hooks

        if _rematch_hook not in learner_saved_hooks:
            learner_saved_hooks.append(_rematch_hook)
        if _completion_hook not in assignment_completed_hooks:
            assignment_completed_hooks.append(_completion_hook)
