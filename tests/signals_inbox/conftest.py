"""Signal-inbox test set-up. Memoised secrets and ingest contexts live in `skillhub.localcache`,
which the root conftest clears before every test."""
from __future__ import annotations

import pytest


@pytest.fixture
def secret(tenant):
    """A signal secret of `tenant`."""
    from tests.signals_inbox.factories import issue_secret

    return issue_secret(tenant)
