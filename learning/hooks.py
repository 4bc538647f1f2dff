"""What other apps may react to in learning: hooks fired inside a learning change, run after it commits."""

from __future__ import annotations

from typing import Any

from skillhub.hooks import Hook

# Called as receiver(tenant_id=…, learner_id=…) after a learner was created or changed.
learner_saved = Hook("learning.learner_saved")
# Called as receiver(tenant_id=…, learner_ids=[…]) after many learners were written at once (bulk imports).
learners_saved = Hook("learning.learners_saved")
# Called as receiver(tenant_id=…, assignment_id=…) after an assignment was completed.
assignment_completed = Hook("learning.assignment_completed")
# Called as receiver(assignment=…) inside the transaction that completes an assignment, so what it
# changes (a learning path completed, an achievement earned) commits or rolls back with it.
assignment_completing = Hook("learning.assignment_completing")


def fire_in_transaction(hook: Hook, **kwargs: Any) -> None:
    """Call every receiver of `hook` now, in the caller's transaction; an error rolls the whole change back."""
    for receiver in hook.receivers:
        receiver(**kwargs)
