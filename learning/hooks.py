"""What other apps may react to in learning: hooks fired inside a learning change, run after it commits."""

from __future__ import annotations

from skillhub.hooks import Hook

# Called as receiver(tenant_id=…, learner_id=…) after a learner was created or changed.
learner_saved = Hook("learning.learner_saved")
# Called as receiver(tenant_id=…, assignment_id=…) after an assignment was completed.
assignment_completed = Hook("learning.assignment_completed")
