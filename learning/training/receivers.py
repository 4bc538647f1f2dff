"""Training's reactions to learning's signals: a completed assignment may complete paths and earn achievements."""
from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from learning.models import Assignment
from learning.signals import assignment_completing
from learning.training.services.progress import assignment_completed_effects


@receiver(assignment_completing)
def complete_paths_and_award(sender: Any, *, assignment: Assignment, **kwargs: Any) -> None:
    """Inside the completing transaction: an error here rolls the completion back."""
    assignment_completed_effects(assignment=assignment)
