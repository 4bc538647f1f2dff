"""At most two signal secrets verify at once, and a secret issued elsewhere (the command line, another
process whose cache this one cannot see) works on its first use."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from signals_inbox import verification
from tenants import services as tenant_services
from tenants.models import SignalSecret
from tests.signals_inbox.factories import issue_secret, post_signal, sign, signal_body
from tests.skillhub.serving import ROOT, demo_env, serve, wait_for

pytestmark = pytest.mark.django_db

BODY = signal_body(site="Plant 1", topic="First Aid")


def test_issuing_a_third_secret_ends_the_oldest_at_once(client, tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, second, third = issue_secret(tenant), issue_secret(tenant), issue_secret(tenant)

    answers = {name: post_signal(client, tenant.slug, BODY, secret=s).status_code for name, s in (("first", first), ("second", second), ("third", third))}

    assert answers == {"first": 401, "second": 200, "third": 200}
    verifying = SignalSecret.objects.filter(tenant=tenant).exclude(valid_until__lte=timezone.now())
    assert verifying.count() == 2


def test_many_rotations_leave_two_secrets(client, tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issued = [issue_secret(tenant) for _ in range(5)]

    accepted = [s for s in issued if post_signal(client, tenant.slug, BODY, secret=s).status_code == 200]

    assert accepted == issued[-2:]


def test_a_secret_issued_where_this_process_cannot_clear_its_cache_works_at_once(client, tenant, secret, monkeypatch):
    assert post_signal(client, tenant.slug, BODY, secret=secret).status_code == 200  # warms this process's caches
    # The command line runs in another process: whatever it clears, this process's caches are not it.
    monkeypatch.setattr(tenant_services, "forget_signal_secrets", lambda **kwargs: None)
    call_command("issue_signal_secret", tenant.slug, stdout=io.StringIO(), stderr=io.StringIO())
    new = SignalSecret.objects.filter(tenant=tenant, valid_until__isnull=True).get().secret
    monkeypatch.setattr(verification, "REFRESH_AFTER", 0.0)  # the push comes a moment later

    response = post_signal(client, tenant.slug, signal_body(site="Plant 2", topic="First Aid"), secret=new)

    assert response.status_code == 200, response.content


@pytest.mark.slow
def test_a_running_server_accepts_a_secret_from_the_command_line_at_once(tmp_path):
    """The embedded default, as a real process tree: `issue_signal_secret` in another process, then a push."""
    env = demo_env(tmp_path)
    with serve(tmp_path, env) as served:
        url = f"{served.base}/api/v1/integration/demo/webhook"

        def push(secret: str, site: str) -> int:
            body = signal_body(site=site, topic="First Aid")
            headers = {"Content-Type": "application/json", "X-Skillhub-Signature": sign(secret, body)}
            return requests.post(url, data=body, headers=headers, timeout=10).status_code

        assert push(served.credentials["signalSecret"], "Warm") == 200
        issued = [
            subprocess.run(
                [sys.executable, "manage.py", "issue_signal_secret", "demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120
            ).stdout.strip().splitlines()[-1]
            for _ in range(2)
        ]

        assert push(issued[-1], "New") == 200  # the newest works on its first use
        assert push(issued[0], "Previous") == 200  # the one it replaced overlaps
        # The demo secret is now the third: it stops within the process's two-second memo.
        assert wait_for(lambda: push(served.credentials["signalSecret"], "Oldest") == 401, seconds=10, every=0.5)
