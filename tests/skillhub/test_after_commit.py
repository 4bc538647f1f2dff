"""Work deferred to commit goes one way: Django signals sent on commit, or a callable on commit; errors are logged, not raised."""
from __future__ import annotations

import pytest
from django.db import transaction
from django.dispatch import Signal

from skillhub.hooks import after_commit, send_on_commit

pytestmark = pytest.mark.django_db(transaction=True)


def test_receivers_run_after_commit_and_one_failure_does_not_stop_the_others(caplog):
    changed = Signal()
    heard: list[tuple[str, int]] = []

    def failing(sender, **kwargs):
        raise RuntimeError("receiver down")

    def listening(sender, *, learner_id, **kwargs):
        heard.append((sender, learner_id))

    changed.connect(failing, weak=False)
    changed.connect(listening, weak=False)
    with transaction.atomic():
        send_on_commit(changed, sender="learning", learner_id=7)
        assert heard == []  # nothing runs inside the transaction
    assert heard == [("learning", 7)]
    assert "receiver down" in caplog.text


def test_nothing_is_sent_when_the_transaction_rolls_back():
    changed = Signal()
    heard: list[int] = []
    changed.connect(lambda sender, **kwargs: heard.append(kwargs["n"]), weak=False)

    with pytest.raises(ValueError), transaction.atomic():
        send_on_commit(changed, sender=None, n=1)
        raise ValueError("rolled back")
    assert heard == []


def test_a_callable_waits_for_the_commit_and_its_error_is_logged(caplog):
    ran: list[str] = []

    def fails(what: str) -> None:
        ran.append(what)
        raise RuntimeError("cache down")

    with transaction.atomic():
        after_commit(fails, "forget")
        assert ran == []
    assert ran == ["forget"]
    assert "cache down" in caplog.text


def test_outside_a_transaction_the_work_runs_at_once():
    ran: list[int] = []
    after_commit(ran.append, 1)
    assert ran == [1]
