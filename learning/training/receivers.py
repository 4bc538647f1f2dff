"""Training's reactions to learning's hooks: a completed assignment may complete paths and earn achievements."""
from __future__ import annotations

from learning.hooks import assignment_completing
from learning.training.services.progress import assignment_completed_effects

assignment_completing.connect(assignment_completed_effects)
