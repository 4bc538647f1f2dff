"""What other apps may react to in learning: Django signals sent by learning's services.

Sent after commit (`skillhub.hooks.send_on_commit`) unless said otherwise; every one has
`sender=Learner` or `sender=Assignment`, and receivers take `**kwargs` as Django asks.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with tenant_id=…, learner_id=… after a learner was created or changed.
learner_saved = Signal()
# Sent with tenant_id=…, learner_ids=[…] after many learners were written at once (bulk imports).
learners_saved = Signal()
# Sent with tenant_id=…, assignment_id=… after an assignment was completed.
assignment_completed = Signal()
# Sent with assignment=… INSIDE the transaction that completes an assignment (`send`, not `send_robust`),
# so what its receivers change (a learning path completed, an achievement earned) commits or rolls back with it.
assignment_completing = Signal()
