"""Console test set-up: no memoised signal secrets or ingest contexts leak between tests."""
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
