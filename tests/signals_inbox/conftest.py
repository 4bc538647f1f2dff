"""Signal-inbox test set-up: no memoised secrets or contexts leak between tests."""
from __future__ import annotations

import pytest

from signals_inbox import verification
from signals_inbox.selectors import forget_ingest_context


@pytest.fixture(autouse=True)
def _forget_memos():
    verification.forget()
    forget_ingest_context()
    yield
    verification.forget()
    forget_ingest_context()


@pytest.fixture
def secret(tenant):
    """A signal secret of `tenant`."""
    from tests.signals_inbox.factories import issue_secret

    return issue_secret(tenant)
